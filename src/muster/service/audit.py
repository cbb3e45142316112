"""The append-only, hash-chained audit log (issue 6).

Every read of a person's data and every write is an entry: who (actor and role),
what (action), about whom (person_id), why (purpose) and when. Each entry stores
the SHA-256 of its own content together with the previous entry's hash, and
``audit_head`` keeps the newest (seq, hash). So an edited entry no longer matches
its hash, a deleted or reordered one breaks the chain, and a deleted last entry
no longer matches the head: ``verify`` names each break.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from muster.store import Store
from muster.store.schema import audit_head, audit_log

GENESIS = "0" * 64
# Purposes an officer may give for opening a person's record.
PURPOSES = ("casework", "clarification", "correction", "claim", "appeal", "callup",
            "citizen_request", "data_quality")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    person_id: str | None
    purpose: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def _utc_text(at: datetime) -> str:
    # SQLite hands timestamps back naive; they were written in UTC.
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def entry_hash(seq: int, at: datetime, actor: str, role: str, action: str,
               person_id: str | None, purpose: str | None, detail: str, prev_hash: str) -> str:
    """SHA-256 of an entry's canonical text, chained to the previous entry's hash."""
    canonical = json.dumps([seq, _utc_text(at), actor, role, action, person_id, purpose,
                            detail, prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(conn: sa.Connection, *, actor: str, role: str, action: str,
           person_id: str | None = None, purpose: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    """Append an entry inside the caller's transaction; returns its sequence number.

    Bumping the head row first takes its write lock (a row lock on PostgreSQL, the
    database lock on SQLite), so concurrent writers append one after another. Every
    reader waits for that lock: it is held for as few statements as possible.
    """
    head = conn.execute(audit_head.update().where(audit_head.c.id == 1).values(
        seq=audit_head.c.seq + 1).returning(audit_head.c.seq, audit_head.c.hash)).one()
    at = datetime.now(UTC)
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    digest = entry_hash(head.seq, at, actor, role, action, person_id, purpose, detail_text,
                        head.hash)
    conn.execute(audit_log.insert().values(
        seq=head.seq, at=at, actor=actor, role=role, action=action, person_id=person_id,
        purpose=purpose, detail=detail_text, prev_hash=head.hash, hash=digest))
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(hash=digest))
    return int(head.seq)


def append(store: Store, **kwargs: Any) -> int:
    with store.engine.begin() as conn:
        return record(conn, **kwargs)


def _entry(row: Any) -> Entry:
    return Entry(seq=row.seq, at=row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at,
                 actor=row.actor, role=row.role, action=row.action, person_id=row.person_id,
                 purpose=row.purpose, detail=json.loads(row.detail), prev_hash=row.prev_hash,
                 hash=row.hash)


def entries(store: Store, *, person_id: str | None = None, limit: int = 100,
            offset: int = 0) -> tuple[list[Entry], int]:
    """Entries, newest first (all, or those about one person), and how many there are."""
    query = sa.select(audit_log)
    if person_id is not None:
        query = query.where(audit_log.c.person_id == person_id)
    with store.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar()
        rows = conn.execute(query.order_by(audit_log.c.seq.desc()).limit(limit)
                            .offset(offset)).all()
    return [_entry(r) for r in rows], int(total or 0)


@dataclass
class Verification:
    entries: int
    head_hash: str = GENESIS  # the newest entry's hash, worth noting outside the database
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store, batch: int = 10_000) -> Verification:
    """Walk the chain from the first entry; report every entry that breaks it."""
    result = Verification(entries=0)
    expected_prev, expected_seq = GENESIS, 1
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(
            audit_head.c.id == 1)).one()
        result.head_hash = head.hash
        last = 0
        while True:
            rows = conn.execute(sa.select(audit_log).where(audit_log.c.seq > last)
                                .order_by(audit_log.c.seq).limit(batch)).all()
            if not rows:
                break
            for row in rows:
                result.entries += 1
                _check(row, expected_seq, expected_prev, result.problems)
                expected_prev, expected_seq, last = row.hash, row.seq + 1, row.seq
    if head.seq != last:
        result.problems.append(
            f"the log ends at entry {last} but {head.seq} entries were written: "
            f"entries {last + 1}..{head.seq} were deleted")
    elif head.hash != expected_prev:
        result.problems.append(f"entry {last} is not the entry the log last wrote "
                               "(its hash differs from the recorded head)")
    return result


def _check(row: Any, expected_seq: int, expected_prev: str, problems: list[str]) -> None:
    if row.seq != expected_seq:
        problems.append(f"entries {expected_seq}..{row.seq - 1} are missing (deleted)")
        return
    own = entry_hash(row.seq, row.at, row.actor, row.role, row.action, row.person_id,
                     row.purpose, row.detail, row.prev_hash)
    if own != row.hash:
        problems.append(f"entry {row.seq} was altered: its content no longer matches its hash")
    elif row.prev_hash != expected_prev:
        problems.append(f"entry {row.seq} does not follow the entry before it "
                        "(an entry was deleted, inserted or moved)")
