"""Records an officer verified: pinned to their person, whatever the scores say.

Casework writes officer-verified values as records of the registration office's
source, each pinned to the person it is about (``record_pins``). Such a record is
linked to every record of that person (rule "verified by officer") and no
cannot-link applies to it: the officer's value is the correction of a conflict,
not evidence of a second person. A pin to a person later merged away follows the
merge to its successor.
"""

from __future__ import annotations

import duckdb

from muster.store.bulk import BulkConnection

PIN_RULE = "verified by officer"


def load_pins(db: BulkConnection, con: duckdb.DuckDBPyConnection) -> None:
    """``pins(source, record_id, person_id)`` with every pin's current person."""
    con.register("pins_arrow", db.fetch_arrow(
        "SELECT p.source, p.record_id, coalesce(s.successor, p.person_id) AS person_id "
        "FROM record_pins p LEFT JOIN persons s ON s.person_id = p.person_id "
        "AND s.status = 'retired'"))
    con.execute("""CREATE OR REPLACE TABLE pins AS
                   SELECT CAST(source AS VARCHAR) AS source,
                          CAST(record_id AS VARCHAR) AS record_id,
                          CAST(person_id AS VARCHAR) AS person_id FROM pins_arrow""")
    con.unregister("pins_arrow")


def add_pin_pairs(con: duckdb.DuckDBPyConnection) -> None:
    """Add to ``id_pairs`` each loaded pinned record with its person's loaded records;
    create ``pinned(rid)``, the records clustering must not separate by a cannot-link."""
    con.execute("""
        CREATE OR REPLACE TABLE pinned AS
        SELECT r.rid, p.person_id FROM pins p
        JOIN records r ON r.source = p.source AND r.record_id = p.record_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE id_pairs AS
        SELECT rid_l, rid_r, string_agg(rule, ',' ORDER BY rule) AS rule,
               CASE WHEN bool_or(rule = '{PIN_RULE}') THEN NULL ELSE any_value(conflict) END
                 AS conflict
        FROM (
          SELECT rid_l, rid_r, rule, conflict FROM id_pairs
          UNION ALL
          SELECT least(p.rid, r.rid), greatest(p.rid, r.rid), '{PIN_RULE}', NULL
          FROM pinned p JOIN previous v ON v.person_id = p.person_id
          JOIN records r ON r.source = v.source AND r.record_id = v.record_id
          WHERE r.rid <> p.rid
        ) GROUP BY rid_l, rid_r
    """)
