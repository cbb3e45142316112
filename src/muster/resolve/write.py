"""Writing a resolution into the store, in the caller's single transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from muster.resolve.identity import IdentityChanges
from muster.resolve.incremental import (
    LINK_COLUMNS,
    SCOPE_PERSONS_TABLE,
    SCOPE_TABLE,
    STORED_LINKS,
)
from muster.store.bulk import BulkConnection

# What a full run empties and writes again: the linkage, then the golden records.
LINKAGE_TABLES = ("person_records", "link_edges")
GOLDEN_TABLES = ("golden_values", "golden_records", "golden_provenance")
BATCH_ROWS = 200_000
# Up to this many records the golden records are built while the links are written:
# SQLite's writing keeps one core busy and leaves DuckDB the other. The two took 3.3 s
# instead of 4.1-4.3 s one after the other at 100,000 persons (431,555 records), and
# 14.1-14.7 s instead of 16.5-17.1 s at 400,000 (1,722,314 records). At 1,000,000
# persons (4.3 million records) both sort or group millions of rows, and side by side
# in DuckDB's memory they spilled to disk: 71 s for the golden records instead of
# 41 s. Sizes between 2 and 4.3 million records were not measured; they keep to the
# order that does not spill.
OVERLAP_RECORDS = 2_000_000
_LINKS = ", ".join(LINK_COLUMNS)
_KEYS = "source_l, record_id_l, source_r, record_id_r"  # link_edges' primary key
# Scoped runs: the links this run decided differently from the store, and the stored
# links it no longer has as they were.
_CHANGED_LINKS = f"(SELECT {_LINKS} FROM edge_out EXCEPT SELECT * FROM {STORED_LINKS})"
_GONE_LINKS = f"(SELECT * FROM {STORED_LINKS} EXCEPT SELECT {_LINKS} FROM edge_out)"
# Scoped runs: the persons decided again exactly as stored, whose rows stay as they
# are (a DuckDB table, and the store's temporary copy of the same name).
UNCHANGED = "muster_unchanged_persons"


def write_results(db: BulkConnection, con: duckdb.DuckDBPyConnection, run_id: int,
                  records: int, changes: IdentityChanges, decide_links: Callable[[], None],
                  build_golden: Callable[[], None], scoped: bool = False,
                  step: Callable[[str], None] = lambda _name: None) -> int:
    """Replace what this run re-decided (its ``records``): everything, or (``scoped``)
    only the records and persons named in the store's temporary scope tables. Returns
    how many 'linked' links the write added, less those it removed.

    ``decide_links`` (DuckDB tables ``edge_out`` and ``review_out``) runs in this
    thread while a second one writes the memberships, which need only the clusters.
    Then that thread writes the links while this one builds the golden records
    (``build_golden``: ``golden_long``, ``golden_wide``, and the persons of
    ``review_out``), up to OVERLAP_RECORDS records; the golden records are written
    after both, then the review list.
    """
    if scoped:
        _keep_unchanged(db, con)
        _delete_scope(db)
    else:
        for table in (*LINKAGE_TABLES, *GOLDEN_TABLES):
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM review_pairs WHERE status = 'open'")
    alongside = records <= OVERLAP_RECORDS
    # On failure, the pool waits for its writer before re-raising.
    with ThreadPoolExecutor(max_workers=1) as pool:
        memberships = pool.submit(_append_memberships, db, con, run_id, scoped)
        decide_links()
        memberships.result()
        step("writing links and building golden records" if alongside else "writing links")
        linked = _linked_written(con, scoped)
        links = pool.submit(_append_links, db, con, run_id, changes, scoped)
        if not alongside:
            links.result()
            con.execute("DROP TABLE edge_out")  # its memory goes to the golden records
            step("building golden records")
        build_golden()
        links.result()
    con.execute("DROP TABLE IF EXISTS edge_out")
    step("writing golden records")
    rewritten = _rewritten(scoped)
    with _indexes_built_after(db, () if scoped else GOLDEN_TABLES):
        # golden_records in the order of its key: appending at the end of a B-tree is
        # much cheaper than inserting all over it. golden_values (rows by rowid) with
        # each person's rows together, a cluster being one person: sorting by those
        # numbers is cheaper than by (person_id, field). Only the contested fields'
        # values: the agreed ones name their source in golden_provenance
        # (store/provenance.py).
        db.append("golden_values", _stream(con, "SELECT * EXCLUDE (cmp, cluster, f, initial, "
                                                "contested) FROM golden_long "
                                                f"WHERE contested AND {rewritten} "
                                                "ORDER BY cluster, f"))
        db.append("golden_records", _stream(con, f"SELECT * FROM golden_wide "
                                                 f"WHERE {rewritten} ORDER BY person_id"))
        db.append("golden_provenance", _stream(con, f"SELECT * FROM golden_sources "
                                                    f"WHERE {rewritten} ORDER BY person_id"))
    _append_review(db, con, run_id, scoped)
    return linked


def _linked_written(con: duckdb.DuckDBPyConnection, scoped: bool) -> int:
    """How many 'linked' links the write added, less those it removed (``scoped``), so
    the run's count of links comes without counting ten million stored rows."""
    def linked(links: str) -> int:
        return int(con.execute(f"SELECT count(*) FROM {links} "
                               "WHERE outcome = 'linked'").fetchall()[0][0])

    if not scoped:
        return linked("edge_out")
    return linked(_CHANGED_LINKS) - linked(_GONE_LINKS)


def _stream(con: duckdb.DuckDBPyConnection, sql: str) -> pa.RecordBatchReader:
    return con.sql(sql).to_arrow_reader(BATCH_ROWS)


def _append_memberships(db: BulkConnection, duck: duckdb.DuckDBPyConnection, run_id: int,
                        scoped: bool) -> None:
    # Each writer thread reads DuckDB through a connection of its own.
    with duck.cursor() as con, _indexes_built_after(db, () if scoped else ("person_records",)):
        db.append("person_records", _stream(con, f"""
            SELECT r.source, r.record_id, m.person_id, {run_id} AS run_id
            FROM members m JOIN records r USING (rid)
            WHERE {_rewritten(scoped, "m.")}
            ORDER BY r.source, r.record_id"""))


def _append_links(db: BulkConnection, duck: duckdb.DuckDBPyConnection, run_id: int,
                  changes: IdentityChanges, scoped: bool) -> None:
    """The links, new persons and their events."""
    now = datetime.now(UTC)
    with duck.cursor() as con:
        if scoped:
            _delete_changed_links(db, con)
        with _indexes_built_after(db, () if scoped else ("link_edges",)):
            # In the order of the table's key. Record numbers (rid) follow (source,
            # record_id), and sorting by them is cheaper than by the four text keys.
            if scoped:
                links = f"* FROM {_CHANGED_LINKS} ORDER BY {_KEYS}"
            else:
                links = f"{_LINKS} FROM edge_out ORDER BY rid_l, rid_r"
            db.append("link_edges", _stream(con, f"SELECT {run_id} AS run_id, {links}"))
        db.append("persons", con.sql(f"""
            SELECT person_id, 'active' AS status, {run_id} AS created_run
            FROM assigned WHERE is_new ORDER BY person_id""").to_arrow_table())
        created = con.sql(f"""
            SELECT {run_id} AS run_id, 'created' AS kind, person_id, '[]' AS old_ids,
                   '["' || person_id || '"]' AS new_ids, 'first resolved' AS detail
            FROM created""").to_arrow_table()
    for person_id, successor in sorted(changes.retired.items()):  # merges only: a few
        db.execute("UPDATE persons SET status = 'retired', retired_run = ?, "
                   "successor = ? WHERE person_id = ?", (run_id, successor, person_id))
    created = created.append_column("at", pa.repeat(pa.scalar(now), created.num_rows))
    db.append("person_events", created)
    if changes.events:
        events = pa.Table.from_pylist(changes.events)
        events = events.append_column("run_id", pa.repeat(pa.scalar(run_id), len(events)))
        events = events.append_column("at", pa.repeat(pa.scalar(now), len(events)))
        db.append("person_events", events)


def _append_review(db: BulkConnection, con: duckdb.DuckDBPyConnection, run_id: int,
                   scoped: bool) -> None:
    """The review list, with the person of each record and their region
    (``review_out`` has them from the golden records just built). In a scoped run an
    open pair can also join a record of the scope to one outside it: the run may have
    given that record another person, or moved its person, so those pairs take theirs
    again from the store as now written."""
    # Numbered in the order of their records: the queue breaks ties by number, so two
    # runs on the same register list the same pairs in the same order.
    review = con.sql(f"SELECT {run_id} AS run_id, *, 'open' AS status FROM review_out "
                     f"ORDER BY {_KEYS}, kind")
    db.append("review_pairs", review.to_arrow_table())
    if not scoped:
        return
    in_scope = f"IN (SELECT source, record_id FROM {SCOPE_TABLE})"
    touching = (f"WHERE status = 'open' AND ((source_l, record_id_l) {in_scope} "
                f"OR (source_r, record_id_r) {in_scope})")
    db.execute(f"UPDATE review_pairs SET person_l = {_person('l')}, "
               f"person_r = {_person('r')} {touching}")
    db.execute(f"UPDATE review_pairs SET region_l = {_region('l')}, "
               f"region_r = {_region('r')} {touching}")


def _person(side: str) -> str:
    """The person of a review pair's record on ``side``."""
    return (f"(SELECT p.person_id FROM person_records p "
            f"WHERE p.source = review_pairs.source_{side} "
            f"AND p.record_id = review_pairs.record_id_{side})")


def _region(side: str) -> str:
    """The golden region of the person on ``side`` of a review pair."""
    return (f"(SELECT g.region FROM golden_records g "
            f"WHERE g.person_id = review_pairs.person_{side})")


@contextmanager
def _indexes_built_after(db: BulkConnection, tables: tuple[str, ...]) -> Iterator[None]:
    """On SQLite, drop the secondary indexes of the emptied ``tables`` and build them
    again after the load: one sort per index costs a fraction of keeping each index
    up to date row by row (a million link rows load in 40% less time). It is all in
    the caller's transaction, so an error puts every index back, and readers of the
    WAL database see the previous state until the commit. PostgreSQL keeps its
    indexes: dropping one would lock readers out of the table until the commit."""
    if db.dialect != "sqlite" or not tables:
        yield
        return
    names = ", ".join(f"'{t}'" for t in tables)
    # sql is NULL for the indexes behind primary keys, which stay.
    indexes = db.fetch_arrow(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                             f"AND sql IS NOT NULL AND tbl_name IN ({names})").to_pylist()
    for index in indexes:
        db.execute(f'DROP INDEX "{index["name"]}"')
    yield
    for index in indexes:
        db.execute(str(index["sql"]))


def _keep_unchanged(db: BulkConnection, con: duckdb.DuckDBPyConnection) -> None:
    """Find the persons of the scope that this run decided exactly as stored: the same
    records, none of them new or changed, so the same golden record. Rewriting them
    only wrote their rows again, all over the store's tables and indexes. Their
    memberships keep the run that wrote them: a person whose memberships carry this
    run's id is one this run rewrote (casework.reevaluate)."""
    con.execute(f"""
        CREATE OR REPLACE TABLE {UNCHANGED} AS
        WITH now AS (SELECT r.source, r.record_id, m.person_id
                     FROM members m JOIN records r USING (rid)),
             moved AS ((SELECT * FROM now EXCEPT SELECT * FROM previous)
                       UNION ALL (SELECT * FROM previous EXCEPT SELECT * FROM now))
        SELECT person_id FROM previous
        EXCEPT SELECT person_id FROM moved
        EXCEPT SELECT m.person_id FROM members m JOIN delta USING (rid)
    """)
    db.create_temp(UNCHANGED, con.sql(f"SELECT person_id FROM {UNCHANGED}").to_arrow_table())


def _rewritten(scoped: bool, prefix: str = "") -> str:
    """The condition on the rows of the persons a run writes (in DuckDB or the store)."""
    return f"{prefix}person_id NOT IN (SELECT person_id FROM {UNCHANGED})" if scoped else "true"


def _delete_scope(db: BulkConnection) -> None:
    in_scope = f"IN (SELECT source, record_id FROM {SCOPE_TABLE})"
    rewritten = _rewritten(scoped=True)
    db.execute(f"DELETE FROM person_records WHERE (source, record_id) {in_scope} "
               f"AND {rewritten}")
    db.execute(f"DELETE FROM review_pairs WHERE (source_l, record_id_l) {in_scope} "
               f"AND (source_r, record_id_r) {in_scope} AND status = 'open'")
    for table in GOLDEN_TABLES:
        db.execute(f"DELETE FROM {table} WHERE person_id IN "
                   f"(SELECT person_id FROM {SCOPE_PERSONS_TABLE}) AND {rewritten}")


def _delete_changed_links(db: BulkConnection, con: duckdb.DuckDBPyConnection) -> None:
    """Of the links between the scope's records, delete those this run changed or no
    longer has: most are decided again exactly as stored, and rewriting them all
    (through the table's key and its index) cost 5 s of a 37 s incremental run at
    1,000,000 persons."""
    gone = con.sql(f"SELECT {_KEYS} FROM {_GONE_LINKS}").to_arrow_table()
    with db.temporary("muster_links_gone", gone):
        db.execute(f"DELETE FROM link_edges WHERE ({_KEYS}) IN "
                   f"(SELECT {_KEYS} FROM muster_links_gone)")
