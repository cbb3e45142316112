"""Incremental resolution: only the neighbourhood of new and changed records is re-decided.

After a new batch most of the register's partition still holds. A full run would
change it only where a new or changed record has evidence: so this module loads
from the store just that neighbourhood, and the caller clusters, assigns ids and
builds golden records on it exactly as a full run does.

1. Every record's blocking and identifier keys (narrow columns), numbered as a full
   run numbers them.
2. The new and changed records (written by a batch newer than the last run's) and
   the existing records sharing a blocking key or an identifier with one of them.
3. Those pairs scored with the last run's trained model (term frequencies over the
   whole register), and identifier pairs: the persons with such evidence are touched.
4. Widened to whole groups: a person joined to a touched one by a link clustering
   refused (a cannot-link) is re-decided with it, as a full run would.
5. Every record of those persons, and the link evidence already stored between them.

Who belongs to which person now is read from the store only for the records these
steps ask about (``memberships``), not for the whole register.

What differs from a full run: the model is not retrained (``muster resolve --full``
retrains it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from muster.resolve import model
from muster.resolve.config import ResolutionConfig
from muster.resolve.decisions import add_decided_pairs, load_decisions
from muster.resolve.deterministic import (
    clear_placeholders,
    find_placeholders,
    identifier_pairs,
    mark_disputed,
)
from muster.resolve.pins import PIN_RULE, add_pin_pairs, load_pins
from muster.resolve.probabilistic import score_new
from muster.resolve.records import (
    SELECT_COLUMNS,
    build_records,
    count_given_names,
    name_key_sql,
    numbered_parts,
    read_in_parts,
    typed_columns,
)
from muster.resolve.rules import conflict_sql, names_alone
from muster.store.bulk import BulkConnection
from muster.store.schema import CROSS_PERSON

TF_COLUMNS = ("family_key", "given_key", "middle_key")
SCOPE_TABLE, SCOPE_PERSONS_TABLE = "muster_scope", "muster_scope_persons"
REFUSED_PROBE, MEMBERSHIPS_PROBE = "muster_refused_probe", "muster_memberships_probe"
# DuckDB: the stored person of each record the run asked about, and the persons whose
# records it has all read.
MEMBERSHIPS, PERSONS_READ = "memberships", "persons_read"
# The stored links between the scope's records (DuckDB), as link_edges has them
# apart from run_id, in the column order of the resolution's links (edge_out).
STORED_LINKS = "stored_links"
LINK_COLUMNS = ("source_l", "record_id_l", "source_r", "record_id_r", "rule", "match_weight",
                "outcome", "reason", "contributions")
# Read from the store through the key's left record. The right record is compared as
# an expression (|| ''), which SQLite cannot look up in the key: given both sides'
# columns, it searched the key once for every pair of scope records, the scope
# squared (an incremental run at 1,000,000 persons did not end in 8 minutes).
STORED_LINKS_SQL = f"""
    SELECT {', '.join(f'e.{c}' for c in LINK_COLUMNS)}
    FROM link_edges e
    WHERE (e.source_l, e.record_id_l) IN (SELECT source, record_id FROM {SCOPE_TABLE})
      AND (e.source_r || '', e.record_id_r || '')
          IN (SELECT source, record_id FROM {SCOPE_TABLE})
"""


@dataclass(frozen=True)
class Scope:
    new: int  # new and changed records
    records: int  # records re-decided: the new ones and every record of affected persons
    persons: int  # existing persons re-decided


def count_written(db: BulkConnection, last_batch: int) -> int:
    """Records written (new or changed) by the batches after ``last_batch``, from the
    batches' own counts instead of a read of every record: 0 exactly when there are
    none; a record changed in two of those batches counts twice."""
    return int(db.scalar("SELECT coalesce(sum(new + updated), 0) FROM batches WHERE id > ?",
                         (last_batch,)) or 0)


def load_scope(db: BulkConnection, con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
               last_batch: int, trained: dict[str, Any]) -> Scope:
    """Create ``records``, ``previous``, ``id_pairs`` and ``scored`` for the neighbourhood,
    and the store's temporary tables naming its records and persons (for the write)."""
    _load_keys(db, con, config)
    find_placeholders(con, config, counts_from="register_keys")
    # Blocked without them, as a full run blocks: an undated record pairs with records
    # a placeholder birth date kept it from.
    clear_placeholders(con, config, "register_keys")
    load_pins(db, con)
    load_decisions(db, con)
    con.execute(f"CREATE OR REPLACE TABLE delta AS "
                f"SELECT rid FROM register_keys WHERE batch_id > {int(last_batch)}")
    _candidates(con, config, last_batch)
    con.execute(f"CREATE OR REPLACE TABLE given_counts AS "
                f"{count_given_names('register_keys')}")
    _fetch(db, con, config, "SELECT rid FROM delta UNION SELECT rid FROM candidates",
           "records")
    _term_frequencies(con)
    score_new(con, config, trained, {c: f"tf_{c}" for c in TF_COLUMNS})
    identifier_pairs(con, config, touching="delta")
    _affected_persons(db, con)
    con.execute(f"""
        CREATE OR REPLACE TABLE affected_records AS
        SELECT k.rid FROM {MEMBERSHIPS} m JOIN register_keys k USING (source, record_id)
        WHERE m.person_id IN (SELECT person_id FROM affected)
    """)
    _fetch(db, con, config, """SELECT rid FROM affected_records
                       WHERE rid NOT IN (SELECT rid FROM records)""", "records_more")
    con.execute("""
        CREATE OR REPLACE TABLE records AS
        SELECT * FROM records WHERE rid IN (SELECT rid FROM delta)
          OR rid IN (SELECT rid FROM affected_records)
        UNION ALL SELECT * FROM records_more
    """)
    con.execute(f"""CREATE OR REPLACE TABLE previous AS
                    SELECT source, record_id, m.person_id FROM records
                    JOIN {MEMBERSHIPS} m USING (source, record_id)""")
    scope = con.sql("SELECT source, record_id FROM records").to_arrow_table()
    db.create_temp(SCOPE_TABLE, scope)
    db.create_temp(SCOPE_PERSONS_TABLE, con.sql("SELECT person_id FROM affected").to_arrow_table())
    _merge_stored_edges(db, con, config)
    mark_disputed(con, config, rescore=("id_pairs", "scored"))
    add_pin_pairs(con)
    add_decided_pairs(con)
    return Scope(
        new=_count(con, "delta"), records=scope.num_rows, persons=_count(con, "affected"),
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _load_keys(db: BulkConnection, con: duckdb.DuckDBPyConnection,
               config: ResolutionConfig) -> None:
    """``register_keys``: every record's keys, numbered as a full run numbers them, read
    in key order (records.read_in_parts). Without the records' persons: joining every
    record's membership in the same read took 11-14 s of CPU at a million persons
    instead of 7-9 s (``memberships`` reads the few the run needs)."""
    ids = list(config.identifier_fields)
    columns = ["source", "record_id", *TF_COLUMNS, "region", *ids, "birth_date", "batch_id"]
    # the name keys as resolution compares them (records.name_key_sql), as the store
    # computes them while it reads
    read = [f"{name_key_sql(c.removesuffix('_key'), 's.')} AS {c}" if c in TF_COLUMNS
            else f"s.{c}" for c in columns]
    parts = read_in_parts(db, ", ".join(read))
    with numbered_parts(con, "keys_arrow", parts, typed_columns(columns)):
        con.execute(f"""
            CREATE OR REPLACE TABLE register_keys AS
            SELECT rid, {', '.join(columns)},
                   strftime(birth_date, '%Y-%m-%d') AS birth_text
            FROM keys_arrow
        """)


def _persons_of(db: BulkConnection, con: duckdb.DuckDBPyConnection, keys_sql: str) -> None:
    """Add to ``memberships`` the stored person of each record ``keys_sql`` names (its
    ``source, record_id``) that ``memberships`` lacks; a new record has none."""
    _read_memberships(db, con, f"""
        SELECT source, record_id FROM ({keys_sql})
        EXCEPT SELECT source, record_id FROM {MEMBERSHIPS}""",
        "JOIN person_records p ON p.source = k.source AND p.record_id = k.record_id")


def _records_of(db: BulkConnection, con: duckdb.DuckDBPyConnection, persons_sql: str) -> None:
    """Add to ``memberships`` every record of the persons ``persons_sql`` names."""
    con.execute(f"CREATE OR REPLACE TABLE persons_asked AS SELECT person_id "
                f"FROM ({persons_sql}) EXCEPT SELECT person_id FROM {PERSONS_READ}")
    _read_memberships(db, con, "SELECT person_id FROM persons_asked",
                      "JOIN person_records p ON p.person_id = k.person_id")
    con.execute(f"INSERT INTO {PERSONS_READ} SELECT person_id FROM persons_asked")
    con.execute("DROP TABLE persons_asked")


def _read_memberships(db: BulkConnection, con: duckdb.DuckDBPyConnection, asked_sql: str,
                      join: str) -> None:
    """The memberships ``join`` finds for the keys ``asked_sql`` gives (table ``k`` in
    the store), read through person_records' indexes, added to ``memberships``."""
    asked = con.sql(asked_sql).to_arrow_table()
    if not asked.num_rows:
        return
    with db.temporary(MEMBERSHIPS_PROBE, asked):
        con.register("memberships_arrow", db.fetch_arrow(
            f"SELECT p.source, p.record_id, p.person_id FROM {MEMBERSHIPS_PROBE} k {join}"))
    con.execute(f"""
        INSERT INTO {MEMBERSHIPS}
        SELECT CAST(source AS VARCHAR), CAST(record_id AS VARCHAR), CAST(person_id AS VARCHAR)
        FROM memberships_arrow
        EXCEPT SELECT * FROM {MEMBERSHIPS}
    """)
    con.unregister("memberships_arrow")


def _candidates(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                last_batch: int) -> None:
    """Existing records that a full run would pair with a new one: the same blocking
    rules the model predicts with, and every identifier link key."""
    rules = [r if isinstance(r, str) else r.get_blocking_rule("duckdb").blocking_rule_sql
             for r in model.blocking_rules()]
    rules += [f"l.{f} = r.{f} AND l.{f} NOT IN "
              f"(SELECT value FROM placeholders WHERE field = '{f}')"
              for f in config.link_identifiers]
    # A view: the join reads the old records' keys where they are instead of a copy.
    con.execute(f"CREATE OR REPLACE TEMP VIEW old_keys AS "
                f"SELECT * FROM register_keys WHERE batch_id <= {int(last_batch)}")
    con.execute(f"CREATE OR REPLACE TABLE new_keys AS "
                f"SELECT * FROM register_keys WHERE batch_id > {int(last_batch)}")
    joins = " UNION ".join(f"SELECT l.rid FROM old_keys l JOIN new_keys r ON {rule}"
                           for rule in rules)
    con.execute(f"CREATE OR REPLACE TABLE candidates AS {joins}")


def _fetch(db: BulkConnection, con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
           rids_sql: str, table: str) -> None:
    """Full rows of the given records from the store, numbered as in register_keys."""
    keys = con.sql(f"SELECT rid, source, record_id FROM register_keys "
                   f"WHERE rid IN ({rids_sql})").to_arrow_table()
    columns = ", ".join(f"s.{c.strip()}" for c in SELECT_COLUMNS.split(","))
    with db.temporary("muster_fetch", keys.select(["source", "record_id"])):
        rows = db.fetch_arrow(f"SELECT {columns} FROM source_records s JOIN muster_fetch k "
                              "ON k.source = s.source AND k.record_id = s.record_id")
    con.register("fetched_rows", rows)
    con.register("fetched_keys", keys)
    con.execute("""CREATE OR REPLACE TEMP VIEW fetched AS
                   SELECT f.*, k.rid FROM fetched_rows f JOIN fetched_keys k
                   ON CAST(f.source AS VARCHAR) = k.source
                  AND CAST(f.record_id AS VARCHAR) = k.record_id""")
    build_records(con, "fetched", config, table=table, rid="rid", given_counts="given_counts")
    clear_placeholders(con, config, table)
    con.execute("DROP VIEW fetched")
    con.unregister("fetched_rows")
    con.unregister("fetched_keys")


def _term_frequencies(con: duckdb.DuckDBPyConnection) -> None:
    """Splink's term-frequency tables over the whole register (as a full run has them)."""
    for column in TF_COLUMNS:
        con.execute(f"""
            CREATE OR REPLACE TABLE tf_{column} AS
            SELECT {column}, CAST(count(*) AS DOUBLE) /
                   (SELECT count({column}) FROM register_keys) AS tf_{column}
            FROM register_keys WHERE {column} IS NOT NULL GROUP BY {column}
        """)


def _affected_persons(db: BulkConnection, con: duckdb.DuckDBPyConnection) -> None:
    """``affected(person_id)``: persons with new evidence, widened through refused links;
    ``memberships`` then holds every record of theirs."""
    con.execute(f"CREATE OR REPLACE TABLE {MEMBERSHIPS} (source VARCHAR, record_id VARCHAR, "
                "person_id VARCHAR)")
    con.execute(f"CREATE OR REPLACE TABLE {PERSONS_READ} (person_id VARCHAR)")
    con.execute("""
        CREATE OR REPLACE TABLE evidence_keys AS
        SELECT k.source, k.record_id FROM register_keys k WHERE k.rid IN (
          SELECT rid FROM delta
          UNION SELECT rid_l FROM scored UNION SELECT rid_r FROM scored
          UNION SELECT rid_l FROM id_pairs UNION SELECT rid_r FROM id_pairs)
        UNION SELECT source_l, record_id_l FROM decision_keys WHERE pending
        UNION SELECT source_r, record_id_r FROM decision_keys WHERE pending
    """)
    _persons_of(db, con, "SELECT * FROM evidence_keys")
    con.execute(f"""
        CREATE OR REPLACE TABLE affected AS
        SELECT m.person_id FROM evidence_keys JOIN {MEMBERSHIPS} m USING (source, record_id)
        UNION SELECT p.person_id FROM pins p JOIN register_keys k
          ON k.source = p.source AND k.record_id = p.record_id
        WHERE k.rid IN (SELECT rid FROM delta)
    """)
    # Persons refused a link with an affected person are affected too, and so on.
    # Each round reads only the refused links of the persons added in the round
    # before, through the links' record indexes: scanning every link for the few
    # refused ones took 5 s at 1,000,000 persons.
    con.execute("CREATE OR REPLACE TABLE frontier AS SELECT person_id FROM affected")
    while _count(con, "frontier"):
        _records_of(db, con, "SELECT person_id FROM frontier")
        keys = "source_l, record_id_l, source_r, record_id_r"
        frontier_records = con.sql(f"SELECT source, record_id FROM {MEMBERSHIPS} "
                                   "WHERE person_id IN (SELECT person_id FROM frontier)")
        with db.temporary(REFUSED_PROBE, frontier_records.to_arrow_table()):
            # (The cross-person condition lets the right side use its partial index.)
            con.register("refused_arrow", db.fetch_arrow(" UNION ".join(
                f"SELECT {keys} FROM link_edges WHERE {CROSS_PERSON} AND outcome = 'refused' "
                f"AND ({side}) IN (SELECT source, record_id FROM {REFUSED_PROBE})"
                for side in ("source_l, record_id_l", "source_r, record_id_r"))))
        refused_keys = """
            SELECT CAST(source_l AS VARCHAR) AS source, CAST(record_id_l AS VARCHAR) AS record_id
            FROM refused_arrow
            UNION SELECT CAST(source_r AS VARCHAR), CAST(record_id_r AS VARCHAR)
            FROM refused_arrow"""
        _persons_of(db, con, refused_keys)
        con.execute(f"""
            CREATE OR REPLACE TABLE frontier AS
            SELECT m.person_id FROM ({refused_keys}) e
            JOIN {MEMBERSHIPS} m USING (source, record_id)
            EXCEPT SELECT person_id FROM affected
        """)
        con.unregister("refused_arrow")
        con.execute("INSERT INTO affected SELECT person_id FROM frontier")


def _merge_stored_edges(db: BulkConnection, con: duckdb.DuckDBPyConnection,
                        config: ResolutionConfig) -> None:
    """Add the evidence stored between the scope's records to the new evidence.

    A changed record's old pairs are dropped: its new content was scored afresh.
    Whether a pair conflicts is computed again from the records as they are now.
    """
    con.register("stored_arrow", db.fetch_arrow(STORED_LINKS_SQL))
    # As stored, for the write to touch only the links this run changes.
    typed = ", ".join(f"CAST({c} AS DOUBLE) AS {c}" if c == "match_weight" else
                      f"CAST({c} AS VARCHAR) AS {c}" for c in LINK_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE {STORED_LINKS} AS SELECT {typed} FROM stored_arrow")
    con.execute("""
        CREATE OR REPLACE TABLE stored_edges AS
        SELECT l.rid AS rid_l, r.rid AS rid_r, CAST(e.rule AS VARCHAR) AS rule,
               CAST(e.match_weight AS DOUBLE) AS match_weight,
               CAST(e.contributions AS VARCHAR) AS contributions
        FROM stored_arrow e
        JOIN records l ON l.source = CAST(e.source_l AS VARCHAR)
         AND l.record_id = CAST(e.record_id_l AS VARCHAR)
        JOIN records r ON r.source = CAST(e.source_r AS VARCHAR)
         AND r.record_id = CAST(e.record_id_r AS VARCHAR)
        WHERE l.rid NOT IN (SELECT rid FROM delta) AND r.rid NOT IN (SELECT rid FROM delta)
    """)
    con.unregister("stored_arrow")
    conflict = conflict_sql(config)
    con.execute(f"""
        CREATE OR REPLACE TABLE id_pairs AS
        SELECT p.rid_l, p.rid_r, p.rule, {conflict} AS conflict FROM (
          SELECT rid_l, rid_r, rule FROM id_pairs
          UNION ALL  -- identifier rules only: pins are added again from record_pins
          SELECT rid_l, rid_r, string_agg(part, ',' ORDER BY part) FROM (
            SELECT rid_l, rid_r, unnest(string_split(rule, ',')) AS part
            FROM stored_edges WHERE rule <> 'match')
          WHERE part <> '{PIN_RULE}' GROUP BY rid_l, rid_r
        ) p JOIN records l ON l.rid = p.rid_l JOIN records r ON r.rid = p.rid_r
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE scored AS
        SELECT p.rid_l, p.rid_r, p.match_weight, p.contributions, {conflict} AS conflict,
               {names_alone()} AS alone
        FROM (
          SELECT rid_l, rid_r, match_weight, contributions FROM scored
          UNION ALL SELECT rid_l, rid_r, match_weight, contributions FROM stored_edges
          WHERE match_weight IS NOT NULL
        ) p JOIN records l ON l.rid = p.rid_l JOIN records r ON r.rid = p.rid_r
    """)

