"""The golden record: one value per field per person, each naming its source record.

Survivorship per field: the profile's trust order of sources for that field, then
recency (``record_date``), then agreement (how many of the person's records carry
the value), then source and record id so the choice is deterministic. Every other
distinct value is kept beside it; disagreeing values of an identity field (or two
addresses confirmed around the same time) are marked as conflicts for clarification.
Names are compared on their keys, so a transliterated spelling is no conflict.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from muster.resolve.config import ResolutionConfig
from muster.store.schema import DATE_FIELDS, INTEGER_FIELDS, STORED_FIELDS

GOLDEN_FIELDS = tuple(f for f in STORED_FIELDS if f != "record_date")
NAME_KEY = {"family_name": "family_key", "given_name": "given_key", "middle_name": "middle_key"}
CONFLICT_FIELDS = ("family_name", "given_name", "middle_name", "birth_date", "birth_place",
                   "sex", "national_id", "tax_id", "death_date")
CURRENT_FIELDS = ("address", "region")  # conflicts only among recently confirmed values
CURRENT_DAYS = 180
UNLISTED_RANK = 1000


def _trust_table(config: ResolutionConfig, sources: list[str]) -> pa.Table:
    fields, names, ranks = [], [], []
    for field in GOLDEN_FIELDS:
        order = config.trust_order(field)
        for source in sources:
            fields.append(field)
            names.append(source)
            ranks.append(order.index(source) if source in order else UNLISTED_RANK)
    return pa.table({"field": fields, "source": names, "trust_rank": ranks})


def build_golden(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    """From ``members(rid, person_id)`` create ``golden_long`` and ``golden_wide``."""
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM records").fetchall()]
    con.register("trust", _trust_table(config, sources))
    structs = ", ".join(
        f"{{'field': '{f}', 'value': CAST({f} AS VARCHAR), "
        f"'cmp': CAST({NAME_KEY.get(f, f)} AS VARCHAR)}}"
        for f in GOLDEN_FIELDS
    )
    con.execute(f"""
        CREATE OR REPLACE TABLE candidates AS
        SELECT person_id, source, record_id, record_date, v.field, v.value,
               coalesce(v.cmp, v.value) AS cmp
        FROM (SELECT m.person_id, r.source, r.record_id, r.record_date,
                     unnest([{structs}]) AS v
              FROM members m JOIN records r USING (rid))
        WHERE v.value IS NOT NULL
    """)
    conflict_fields = ", ".join(f"'{f}'" for f in CONFLICT_FIELDS)
    current_fields = ", ".join(f"'{f}'" for f in CURRENT_FIELDS)
    # Aggregations, not windows over every candidate: at 4.5M records there are some
    # 60M candidate values, and sorting them per person and field is what took time.
    # 1. one row per distinct value of a person's field, with its best record;
    # 2. per person and field, the chosen value and the newest confirmation;
    # 3. the values that disagree (identity fields always, addresses when recent).
    best_key = ("{'t': trust_rank, 'd': coalesce(-date_diff('day', DATE '1900-01-01', "
                "record_date), 2147483647), 's': source, 'r': record_id}")
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_values_by AS
        SELECT person_id, field, cmp, CAST(count(*) AS INTEGER) AS support,
               arg_min({{'value': value, 'source': source, 'record_id': record_id,
                         'record_date': record_date}}, {best_key}) AS best,
               min({best_key}) AS key,
               max(record_date) AS newest_here, bool_or(record_date IS NULL) AS undated
        FROM (SELECT c.*, coalesce(t.trust_rank, {UNLISTED_RANK}) AS trust_rank
              FROM candidates c LEFT JOIN trust t USING (field, source))
        GROUP BY person_id, field, cmp
    """)
    con.execute("""
        CREATE OR REPLACE TABLE golden_fields AS
        SELECT person_id, field, max(newest_here) AS newest,
               arg_min(cmp, {'t': key.t, 'd': key.d, 'n': -support, 's': key.s, 'r': key.r})
                 AS chosen_cmp
        FROM golden_values_by GROUP BY person_id, field
    """)
    conflict_fields = ", ".join(f"'{f}'" for f in CONFLICT_FIELDS)
    current_fields = ", ".join(f"'{f}'" for f in CURRENT_FIELDS)
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_long AS
        WITH v AS (
          SELECT v.*, f.chosen_cmp, v.field IN ({conflict_fields})
                 OR (v.field IN ({current_fields}) AND (v.undated
                     OR v.newest_here >= f.newest - INTERVAL {CURRENT_DAYS} DAY)) AS counts
          FROM golden_values_by v JOIN golden_fields f USING (person_id, field)
        ), d AS (
          SELECT person_id, field, count(*) FILTER (WHERE counts) > 1 AS conflict
          FROM v GROUP BY person_id, field
        )
        SELECT v.person_id, v.field, v.best.value AS value, v.cmp, v.best.source AS source,
               v.best.record_id AS record_id, v.best.record_date AS record_date, v.support,
               CAST(v.cmp IS NOT DISTINCT FROM v.chosen_cmp AS INTEGER) AS chosen,
               CAST(d.conflict AS INTEGER) AS conflict
        FROM v JOIN d USING (person_id, field)
    """)
    con.execute("DROP TABLE golden_values_by")
    con.execute("DROP TABLE golden_fields")
    con.unregister("trust")

    def typed(field: str) -> str:
        value = f"max(value) FILTER (WHERE field = '{field}' AND chosen = 1)"
        if field in DATE_FIELDS:
            return f"CAST({value} AS DATE) AS {field}"
        if field in INTEGER_FIELDS:
            return f"CAST({value} AS INTEGER) AS {field}"
        return f"{value} AS {field}"

    keys = ", ".join(f"max(cmp) FILTER (WHERE field = '{field}' AND chosen = 1) AS {key}"
                     for field, key in NAME_KEY.items())
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_wide AS
        WITH g AS (
          SELECT person_id, {', '.join(typed(f) for f in GOLDEN_FIELDS)}, {keys},
                 CAST(count(DISTINCT field) FILTER (WHERE conflict = 1) AS INTEGER)
                   AS conflicts
          FROM golden_long GROUP BY person_id
        )
        SELECT g.*, counts.records FROM g
        JOIN (SELECT person_id, CAST(count(*) AS INTEGER) AS records
              FROM members GROUP BY person_id) counts USING (person_id)
    """)
