"""The append-only, hash-chained audit log (issue 6).

Every read of a person's data and every write is an entry: who (actor and role),
what (action), about whom (person_id), why (purpose) and when. Each entry stores
the SHA-256 of its own content together with the previous entry's hash, and
``audit_head`` keeps the newest (seq, hash). So an edited entry no longer matches
its hash, a deleted or reordered one breaks the chain, and a deleted last entry
no longer matches the head: ``verify`` names each break.

Whoever can write to the database can also recompute every hash: ``audit_anchors``
catches that with heads noted outside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from muster.store import Reader, Store, reading
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


def _canonical_rest(actor: str, role: str, action: str, person_id: str | None,
                    purpose: str | None, detail: str) -> str:
    """The items of an entry's canonical text after its time and before its
    previous hash, as they appear there (see ``entry_hash``)."""
    return json.dumps([actor, role, action, person_id, purpose, detail],
                      ensure_ascii=False, separators=(",", ":"))[1:-1]


def entry_hash(seq: int, at: datetime, actor: str, role: str, action: str,
               person_id: str | None, purpose: str | None, detail: str, prev_hash: str) -> str:
    """SHA-256 of an entry's canonical text, chained to the previous entry's hash.

    The text is ``json.dumps([seq, at, actor, role, action, person_id, purpose, detail,
    prev_hash])``, compact and not ASCII-escaped. A JSON list's items are joined by
    commas, so it is also ``[<seq>,"<at>",<rest>,"<prev_hash>"]``: the form PostgreSQL
    finishes when it appends (``_APPEND_PG``).
    """
    rest = _canonical_rest(actor, role, action, person_id, purpose, detail)
    canonical = f"[{int(seq)},{json.dumps(_utc_text(at))},{rest},{json.dumps(prev_hash)}]"
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# PostgreSQL appends an entry in one statement: it locks the head, takes the time, writes
# the canonical text with the new seq, the time and the previous hash around ``rest``,
# hashes it (sha256, PostgreSQL 11+), moves the head and inserts the entry. In autocommit
# the head's row lock is held only while the server runs this, never across a round trip
# to this process; and times follow the order of the chain.
_APPEND_PG = sa.text("""
WITH prev AS MATERIALIZED (
    SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE
), entry AS MATERIALIZED (
    SELECT prev.seq + 1 AS seq, prev.hash AS prev_hash, clock_timestamp() AS at FROM prev
), hashed AS MATERIALIZED (
    SELECT seq, at, prev_hash, encode(sha256(convert_to(
        '[' || seq || ',"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
        || '+00:00",' || :rest || ',"' || prev_hash || '"]', 'UTF8')), 'hex') AS hash
    FROM entry
), moved AS (
    UPDATE audit_head SET seq = hashed.seq, hash = hashed.hash
    FROM hashed WHERE audit_head.id = 1
)
INSERT INTO audit_log (seq, at, actor, role, action, person_id, purpose, detail,
                       prev_hash, hash)
SELECT seq, at, :actor, :role, :action, :person_id, :purpose, :detail, prev_hash, hash
FROM hashed
RETURNING seq
""").bindparams(sa.bindparam("rest", type_=sa.Text))


def record(conn: sa.Connection, *, actor: str, role: str, action: str,
           person_id: str | None = None, purpose: str | None = None,
           detail: dict[str, Any] | None = None) -> int:
    """Append an entry inside the caller's transaction; returns its sequence number.

    The head row's write lock (a row lock on PostgreSQL, the database lock on SQLite)
    makes concurrent writers append one after another; it is held until the caller's
    transaction ends, so append last.
    """
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    values = {"actor": actor, "role": role, "action": action, "person_id": person_id,
              "purpose": purpose, "detail": detail_text}
    if conn.dialect.name == "postgresql":
        rest = _canonical_rest(actor, role, action, person_id, purpose, detail_text)
        return int(conn.execute(_APPEND_PG, {**values, "rest": rest}).scalar_one())
    head = conn.execute(audit_head.update().where(audit_head.c.id == 1).values(
        seq=audit_head.c.seq + 1).returning(audit_head.c.seq, audit_head.c.hash)).one()
    at = datetime.now(UTC)
    digest = entry_hash(head.seq, at, actor, role, action, person_id, purpose, detail_text,
                        head.hash)
    conn.execute(audit_log.insert().values(**values, seq=head.seq, at=at,
                                           prev_hash=head.hash, hash=digest))
    conn.execute(audit_head.update().where(audit_head.c.id == 1).values(hash=digest))
    return int(head.seq)


@contextmanager
def appending(db: Reader) -> Iterator[sa.Connection]:
    """A connection to append entries with, as a transaction of their own.

    Given a reading connection (``Store.read_connection``), the reads done on it end
    first: on SQLite its read transaction is committed, so the append does not try to
    turn a stale read snapshot into a write; on PostgreSQL it is in autocommit and
    each entry is one atomic statement. Never pass a connection with writes of yours
    still to commit: use ``record`` inside that transaction instead.
    """
    with reading(db) as conn:
        conn.commit()
        with conn.begin():
            yield conn


def append(db: Reader, **kwargs: Any) -> int:
    """Append one entry (see ``record`` for the fields) as a transaction of its own."""
    with appending(db) as conn:
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


@dataclass(frozen=True)
class Head:
    seq: int  # 0: nothing written yet
    hash: str
    at: datetime | None  # when the newest entry was written


def head(db: Reader) -> Head:
    """The newest entry's number, hash and time, as recorded; the chain is not walked."""
    with reading(db) as conn:
        row = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash, audit_log.c.at)
                           .outerjoin(audit_log, audit_log.c.seq == audit_head.c.seq)
                           .where(audit_head.c.id == 1)).one()
    at = None if row.at is None else row.at.replace(tzinfo=row.at.tzinfo or UTC)
    return Head(seq=row.seq, hash=row.hash, at=at)


@dataclass
class Verification:
    entries: int
    head_seq: int = 0
    head_hash: str = GENESIS  # the newest entry's hash, worth noting outside the database
    anchors: int = 0  # anchors checked (audit_anchors.verify)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# One statement, so it sees the head and the entries at the same moment: an entry being
# appended meanwhile is either in both or in neither.
_BEYOND_HEAD = sa.select(sa.func.count(), sa.func.min(audit_log.c.seq)).where(
    audit_log.c.seq > sa.select(audit_head.c.seq).where(audit_head.c.id == 1)
    .scalar_subquery())


def verify(store: Store, batch: int = 10_000) -> Verification:
    """Walk the chain from the first entry to the head; report every entry that breaks it."""
    result = Verification(entries=0)
    expected_prev, expected_seq = GENESIS, 1
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(
            audit_head.c.id == 1)).one()
        result.head_seq, result.head_hash = head.seq, head.hash
        last = 0
        while True:
            # Up to the head read above: entries appended while we walk are not missing
            # from it, they are past it.
            rows = conn.execute(sa.select(audit_log).where(
                audit_log.c.seq > last, audit_log.c.seq <= head.seq)
                .order_by(audit_log.c.seq).limit(batch)).all()
            if not rows:
                break
            for row in rows:
                result.entries += 1
                _check(row, expected_seq, expected_prev, result.problems)
                expected_prev, expected_seq, last = row.hash, row.seq + 1, row.seq
        beyond = conn.execute(_BEYOND_HEAD).one()
    if head.seq != last:
        result.problems.append(
            f"the log ends at entry {last} but {head.seq} entries were written: "
            f"entries {last + 1}..{head.seq} were deleted")
    elif head.hash != expected_prev:
        result.problems.append(f"entry {last} is not the entry the log last wrote "
                               "(its hash differs from the recorded head)")
    if beyond[0]:
        result.problems.append(f"{beyond[0]} entries from entry {beyond[1]} on lie past the "
                               "recorded head: they were not written by the log")
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
