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


# Survivorship compares numbers, not structs of text: each candidate value's rank is
# packed into one integer, most significant first: trust rank, recency (newest
# first, undated last), then, when a field's values are compared, agreement (most
# records first), and last the record itself. ``rid`` numbers records in the order
# of (source, record id) (records.build_records), so it breaks ties as they did.
RID_BITS = 40
SUPPORT_BITS = 32
DAY_BITS = 23  # days since 0001-01-01 fit in 22 bits; 2^22 is "undated"
NEWEST_DAY = 2 ** 22 - 1
SUPPORT_SHIFT = 2 ** RID_BITS
DAY_SHIFT = 2 ** (RID_BITS + SUPPORT_BITS)
TRUST_SHIFT = 2 ** (RID_BITS + SUPPORT_BITS + DAY_BITS)


def build_golden(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    """From ``members(rid, person_id)`` create ``golden_long`` and ``golden_wide``."""
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM records").fetchall()]
    con.register("trust", _trust_table(config, sources))
    structs = ", ".join(
        f"{{'field': '{f}', 'value': CAST({f} AS VARCHAR), "
        f"'cmp': CAST({NAME_KEY.get(f, f)} AS VARCHAR)}}"
        for f in GOLDEN_FIELDS
    )
    day = (f"least(greatest(date_diff('day', DATE '0001-01-01', c.record_date), 0), "
           f"{NEWEST_DAY})")
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_candidates AS
        SELECT c.person_id, c.v.field AS field, c.v.value AS value,
               coalesce(c.v.cmp, c.v.value) AS cmp, c.record_date,
               CAST(coalesce(t.trust_rank, {UNLISTED_RANK}) AS HUGEINT) * {TRUST_SHIFT}
                 + CAST(coalesce({NEWEST_DAY} - {day}, {NEWEST_DAY + 1}) AS HUGEINT) * {DAY_SHIFT}
                 + c.rid AS rank
        FROM (SELECT m.person_id, r.rid, r.source, r.record_date,
                     unnest([{structs}]) AS v
              FROM members m JOIN records r USING (rid)) c
        LEFT JOIN trust t ON t.field = c.v.field AND t.source = c.source
        WHERE c.v.value IS NOT NULL
    """)
    con.unregister("trust")
    # Aggregations, not windows over every candidate: at 4.5M records there are some
    # 60M candidate values, and sorting them per person and field is what took time.
    # 1. one row per distinct value of a person's field, with its best record;
    # 2. per person and field, the chosen value and the newest confirmation;
    # 3. the values that disagree (identity fields always, addresses when recent).
    con.execute("""
        CREATE OR REPLACE TABLE golden_values_by AS
        SELECT person_id, field, cmp, CAST(count(*) AS INTEGER) AS support,
               arg_min(value, rank) AS value, min(rank) AS rank,
               max(record_date) AS newest_here, bool_or(record_date IS NULL) AS undated
        FROM golden_candidates GROUP BY person_id, field, cmp
    """)
    con.execute("DROP TABLE golden_candidates")
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_fields AS
        SELECT person_id, field, max(newest_here) AS newest,
               arg_min(cmp, rank + CAST({2 ** SUPPORT_BITS - 1} - support AS HUGEINT)
                                  * {SUPPORT_SHIFT})
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
        SELECT v.person_id, v.field, v.value, v.cmp, r.source, r.record_id, r.record_date,
               v.support, CAST(v.cmp IS NOT DISTINCT FROM v.chosen_cmp AS INTEGER) AS chosen,
               CAST(d.conflict AS INTEGER) AS conflict
        FROM v JOIN d USING (person_id, field)
        JOIN records r ON r.rid = CAST(v.rank % {SUPPORT_SHIFT} AS BIGINT)
    """)
    con.execute("DROP TABLE golden_values_by")
    con.execute("DROP TABLE golden_fields")

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
