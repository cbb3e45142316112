"""Walking the audit log's hash chain (`muster audit verify`), set-based.

The log grows by an entry for every read of a person's data, so a national register
holds tens of millions of them; hashing them one by one in Python took 18 s for a
million. DuckDB recomputes the hashes of a chunk of entries at once, beside
each entry's stored hash and the hash of the entry before it, and hands back only
the entries that do not fit. Python judges those with the exact rule
(``audit.entry_hash``): DuckDB writes a few control characters' JSON escapes in upper
case (``\\u001F`` where Python writes ``\\u001f``), so an entry it hands back may still
be intact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from muster.compute import duckdb_connection
from muster.service.audit import GENESIS, entry_hash
from muster.store import Store
from muster.store.bulk import BulkConnection, bulk_transaction
from muster.store.schema import audit_head

# Entries per chunk. For a million entries (benchmarks/audit.py, SQLite / PostgreSQL):
# all at once 3.6 / 4.0 s and 1.4 / 1.5 GB; by 250,000 3.9 / 4.3 s and 0.7 / 0.6 GB;
# by 100,000 3.7 / 5.0 s and 0.6 / 0.5 GB.
CHUNK = 250_000
_COLUMNS = "seq, at, actor, role, action, person_id, purpose, detail, prev_hash, hash"
_CANONICAL_ITEMS = " || ',' || ".join(
    f"coalesce(CAST(to_json({column}) AS VARCHAR), 'null')"
    for column in ("actor", "role", "action", "person_id", "purpose", "detail"))
# The chunk's entries that break the chain or may not match their hash, each with the
# seq and hash of the entry before it (for the first: the previous chunk's last).
_SUSPECTS = f"""
WITH walked AS (
    SELECT *, CAST("at" AS TIMESTAMP) AS utc,  -- "at" is a keyword of DuckDB's
           lag(seq, 1, ?) OVER (ORDER BY seq) AS before_seq,
           lag(hash, 1, ?) OVER (ORDER BY seq) AS before_hash
    FROM chunk
)
SELECT seq, utc AS "at", actor, role, action, person_id, purpose, detail, prev_hash, hash,
       before_seq, before_hash
FROM walked
WHERE seq <> before_seq + 1 OR prev_hash IS DISTINCT FROM before_hash
   OR hash IS DISTINCT FROM sha256('[' || seq || ',"'
      || strftime(utc, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00",' || {_CANONICAL_ITEMS}
      || ',"' || prev_hash || '"]')
ORDER BY seq
"""
# Entries the walk from 1 to the head does not reach. Past the head: read in the same
# statement as the head it compares with, so an entry being appended meanwhile is
# either past the head and counted, or neither. Numbered below 1: a citizen would see
# such an entry about them, and no chain holds it.
# Each count is a range of the key (one filter over both ranges read the whole key on
# PostgreSQL).
_OUTSIDE = ("SELECT (SELECT count(*) FROM audit_log WHERE seq > h.seq) AS beyond, "
            "(SELECT min(seq) FROM audit_log WHERE seq > h.seq) AS first_beyond, "
            "(SELECT count(*) FROM audit_log WHERE seq < 1) AS before, "
            "(SELECT min(seq) FROM audit_log) AS lowest "
            "FROM audit_head h WHERE h.id = 1")


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


def verify(store: Store, chunk: int = CHUNK,
           progress: Callable[[str], None] | None = None) -> Verification:
    """Walk the chain from the first entry to the head; report every entry that breaks it.
    ``progress`` hears how far the walk has come after each chunk."""
    with store.engine.connect() as conn:
        head = conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash).where(
            audit_head.c.id == 1)).one()
    result = Verification(entries=0, head_seq=head.seq, head_hash=head.hash)
    last_seq, last_hash = 0, GENESIS
    con = duckdb_connection()
    try:
        with bulk_transaction(store) as db:
            # Up to the head read above: entries appended while we walk are not missing
            # from it, they are past it.
            while (entries := _chunk(db, last_seq, head.seq, chunk)).num_rows:
                _check_chunk(con, entries, last_seq, last_hash, result.problems)
                result.entries += entries.num_rows
                last_seq = int(entries["seq"][-1].as_py())
                last_hash = str(entries["hash"][-1].as_py())
                if progress is not None:
                    progress(f"checked {result.entries:,} of {head.seq:,} entries")
            outside = db.fetch_arrow(_OUTSIDE).to_pylist()[0]
    finally:
        con.close()
    if head.seq != last_seq:
        result.problems.append(
            f"the log ends at entry {last_seq} but {head.seq} entries were written: "
            f"entries {last_seq + 1}..{head.seq} were deleted")
    elif head.hash != last_hash:
        result.problems.append(f"entry {last_seq} is not the entry the log last wrote "
                               "(its hash differs from the recorded head)")
    if outside["beyond"]:
        result.problems.append(f"{outside['beyond']} entries from entry "
                               f"{outside['first_beyond']} on lie past the recorded head: "
                               "they were not written by the log")
    if outside["before"]:
        result.problems.append(f"{outside['before']} entries numbered {outside['lowest']} to 0 "
                               "lie before the first entry: they were not written by the log")
    return result


def _chunk(db: BulkConnection, after: int, up_to: int, limit: int) -> pa.Table:
    entries = db.fetch_arrow(f"SELECT {_COLUMNS} FROM audit_log WHERE seq > ? AND seq <= ? "
                             "ORDER BY seq LIMIT ?", (after, up_to, limit))
    at = entries.schema.field("at")
    if pa.types.is_timestamp(at.type) and at.type.tz is not None:
        # PostgreSQL's times are in UTC; without their zone DuckDB keeps them so, where
        # it would otherwise show them in the machine's zone. SQLite's are UTC text.
        entries = entries.set_column(entries.schema.get_field_index("at"), "at",
                                     entries["at"].cast(pa.timestamp("us")))
    return entries


def _check_chunk(con: duckdb.DuckDBPyConnection, entries: pa.Table, last_seq: int,
                 last_hash: str, problems: list[str]) -> None:
    con.register("chunk", entries)
    try:
        cursor = con.execute(_SUSPECTS, [last_seq, last_hash])
        names = [d[0] for d in cursor.description]
        suspects = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.unregister("chunk")
    for suspect in suspects:
        _check(SimpleNamespace(**suspect), suspect["before_seq"] + 1, suspect["before_hash"],
               problems)


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
