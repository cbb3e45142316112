"""The append-only, hash-chained audit log (issue 6).

Every read of a person's data and every write is an entry: who (actor and role),
what (action), about whom (person_id), why (purpose) and when. Each entry stores
the SHA-256 of its own content together with the previous entry's hash, and
``audit_head`` keeps the newest (seq, hash). So an edited entry no longer matches
its hash, a deleted or reordered one breaks the chain, and a deleted last entry
no longer matches the head: ``audit_verify`` names each break.

Whoever can write to the database can also recompute every hash: ``audit_anchors``
catches that with heads noted outside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
