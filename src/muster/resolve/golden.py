"""The golden record: one value per field per person, each naming its source record.

Survivorship per field: the profile's trust order of sources for that field, then
recency (``record_date``; for a fitness category and its date, the examination's
``fitness_date``), then agreement (how many of the person's records carry
the value), then source and record id so the choice is deterministic. Every other
distinct value is kept beside it; disagreeing values of an identity field (or two
addresses confirmed around the same time) are marked as conflicts for clarification.
Names are compared on their keys, so a transliterated spelling is no conflict. A
name written as an initial ("И.") is chosen only when the person has no name in full
there, and is no conflict with one (the rules keep an initial of another letter in
another person).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from muster.resolve.config import ResolutionConfig
from muster.store.schema import DATE_FIELDS, INTEGER_FIELDS, STORED_FIELDS

GOLDEN_FIELDS = tuple(f for f in STORED_FIELDS if f != "record_date")
NAME_KEY = {"family_name": "family_key", "given_name": "given_key", "middle_name": "middle_key"}
INITIAL_KEY = {"given_name": "given_initial", "middle_name": "middle_initial"}  # records.py
CONFLICT_FIELDS = ("family_name", "given_name", "middle_name", "birth_date", "birth_place",
                   "sex", "national_id", "tax_id", "death_date")
CURRENT_FIELDS = ("address", "region")  # conflicts only among recently confirmed values
CURRENT_DAYS = 180
UNLISTED_RANK = 1000
# Fields whose recency is the date of the event they record, not the record's date: a
# board's examination entered after a later one must not overrule it (an unfitness
# found in March lost to a fitness found in February and entered in late March).
EVENT_DATE = {"fitness_category": "fitness_date", "fitness_date": "fitness_date"}
INITIAL_RANK = UNLISTED_RANK + 1  # added to an initial's trust rank: after any name in full


def _trust_table(config: ResolutionConfig, sources: list[str]) -> pa.Table:
    """Each source's trust rank of every field, in GOLDEN_FIELDS order."""
    orders = [config.trust_order(field) for field in GOLDEN_FIELDS]
    ranks = [[order.index(source) if source in order else UNLISTED_RANK for order in orders]
             for source in sources]
    return pa.table({"source": sources, "trust_ranks": pa.array(ranks, pa.list_(pa.int16()))})


# Survivorship compares numbers, not structs of text: each candidate value's rank is
# packed into one integer, most significant first: trust rank, recency (newest
# first, undated last) and the record. ``rid`` numbers records in the order of
# (source, record id) (records.build_records), so it breaks ties as they did. When a
# field's values are compared, agreement (most records first) goes in before the
# record. The rank is a BIGINT up to 2^28 records, a HUGEINT beyond: at a million
# persons the grouping of 35 million candidate values was slower on HUGEINT.
TRUST_BITS = 11  # trust ranks up to UNLISTED_RANK + INITIAL_RANK
DAY_BITS = 23  # days since 0001-01-01 fit in 22 bits; 2^22 is "undated"
NEWEST_DAY = 2 ** 22 - 1
SUPPORT_BITS = 32


def _rid_bits(con: duckdb.DuckDBPyConnection) -> int:
    """Bits that hold every record's number."""
    return max(1, int(con.execute("SELECT coalesce(max(rid), 1) FROM records")
                      .fetchall()[0][0]).bit_length())


def _candidate(number: int, field: str) -> str:
    """A record's value of one field, as a struct of the field's number, what it is
    compared on (``cmp``: a name's key, or the value itself), whether it is a name's
    initial, and the trust rank of the record's source for the field (the record's
    list of them: one join per record instead of one per value).

    A name's spelling is read back from its best record (_spelling): choosing it in
    the grouping (arg_min over 35 million values at a million persons) took as long
    as the rest of the grouping."""
    initial = "false"
    if field in NAME_KEY:
        keys = (NAME_KEY[field], INITIAL_KEY[field]) if field in INITIAL_KEY else (NAME_KEY[field],)
        cmp = f"CAST(coalesce({', '.join(keys)}, {field}) AS VARCHAR)"
        if field in INITIAL_KEY:
            initial = f"{INITIAL_KEY[field]} IS NOT NULL"
    else:
        cmp = f"CAST({field} AS VARCHAR)"
    return (f"{{'f': CAST({number} AS UTINYINT), 'cmp': {cmp}, 'initial': {initial}, "
            f"'trust': t.trust_ranks[{number + 1}]}}")


def _spelling(record: str, value: str) -> str:
    """A value as shown: a name as ``record`` (its best record) writes it, any other
    field as compared (``value``)."""
    names = " ".join(f"WHEN {GOLDEN_FIELDS.index(field)} THEN CAST({record}.{field} AS VARCHAR)"
                     for field in NAME_KEY)
    return f"CASE v.f {names} ELSE {value} END"


def build_golden(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    """From ``members(rid, cluster, person_id)`` create ``golden_long``, ``golden_wide``
    and ``golden_sources`` (each person's agreed fields' sources: store/provenance.py).
    ``golden_long`` keeps its working columns ``cmp``, ``cluster``, ``f``, ``initial``
    and ``contested`` (the person's records hold more than one value of the field).

    Work is keyed by numbers (the cluster, the field's position in GOLDEN_FIELDS) and
    names come back only in the result: at 4.5M records some 60M candidate values are
    grouped, and grouping on text keys was most of the time.
    """
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM records").fetchall()]
    rid_bits = _rid_bits(con)
    rank_type = "BIGINT" if TRUST_BITS + DAY_BITS + rid_bits <= 62 else "HUGEINT"
    day_shift, trust_shift = 2 ** rid_bits, 2 ** (rid_bits + DAY_BITS)
    con.register("trust", _trust_table(config, sources))
    structs = ", ".join(_candidate(number, f) for number, f in enumerate(GOLDEN_FIELDS))
    by_event = " ".join(f"WHEN {GOLDEN_FIELDS.index(f)} THEN coalesce(c.{d}, c.record_date)"
                        for f, d in EVENT_DATE.items())
    dated = f"CASE c.v.f {by_event} ELSE c.record_date END"
    day = f"least(greatest(date_diff('day', DATE '0001-01-01', {dated}), 0), {NEWEST_DAY})"
    events = ", ".join(sorted({f"r.{d}" for d in EVENT_DATE.values()}))
    # 1. one row per distinct value of a person's field, with its best record (the
    #    candidate values stream into the grouping, never stored);
    # 2. per person and field, the chosen value, the newest confirmation and whether
    #    values disagree (identity fields always; addresses when recently confirmed).
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_values_by AS
        SELECT cluster, f, cmp, CAST(count(*) AS INTEGER) AS support, min(rank) AS rank,
               max(record_date) AS newest_here, bool_or(record_date IS NULL) AS undated,
               bool_and(initial) AS initial
        FROM (
          SELECT c.cluster, c.v.f AS f, c.v.cmp AS cmp, c.record_date,
                 c.v.initial AS initial,
                 CAST(c.v.trust + CASE WHEN c.v.initial THEN {INITIAL_RANK} ELSE 0 END
                      AS {rank_type}) * {trust_shift}
                   + CAST(coalesce({NEWEST_DAY} - {day}, {NEWEST_DAY + 1}) AS {rank_type})
                     * {day_shift}
                   + c.rid AS rank
          FROM (SELECT m.cluster, r.rid, r.source, r.record_date, {events},
                       unnest([{structs}]) AS v
                FROM members m JOIN records r USING (rid) JOIN trust t USING (source)) c
          WHERE c.v.cmp IS NOT NULL
        ) GROUP BY cluster, f, cmp
    """)
    con.unregister("trust")
    always = ", ".join(str(GOLDEN_FIELDS.index(f)) for f in CONFLICT_FIELDS)
    current = ", ".join(str(GOLDEN_FIELDS.index(f)) for f in CURRENT_FIELDS)
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_fields AS
        SELECT cluster, f, chosen_cmp, n_values > 1 AS contested,
               CAST(CASE WHEN f IN ({always}) THEN coalesce(nullif(n_names, 0), n_values) > 1
                         WHEN f IN ({current}) THEN n_undated + coalesce(len(list_filter(
                           dated, lambda d: d >= newest - INTERVAL {CURRENT_DAYS} DAY)), 0) > 1
                         ELSE false END AS INTEGER) AS conflict
        FROM (
          -- initials count only where no name is written in full
          SELECT cluster, f, max(newest_here) AS newest, count(*) AS n_values,
                 count(*) FILTER (WHERE NOT initial) AS n_names,
                 count(*) FILTER (WHERE undated) AS n_undated,
                 list(newest_here) FILTER (WHERE NOT undated AND f IN ({current})) AS dated,
                 -- the rank with agreement put in before the record
                 arg_min(cmp, (CAST(rank // {day_shift} AS HUGEINT) * {2 ** SUPPORT_BITS}
                               + {2 ** SUPPORT_BITS - 1} - support) * {day_shift}
                              + rank % {day_shift}) AS chosen_cmp
          FROM golden_values_by GROUP BY cluster, f
        )
    """)
    names = ", ".join(f"'{f}'" for f in GOLDEN_FIELDS)
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_long AS
        SELECT p.person_id, [{names}][v.f + 1] AS field, {_spelling('r', 'v.cmp')} AS value,
               v.cmp, r.source,
               r.record_id, r.record_date, v.support,
               CAST(v.cmp IS NOT DISTINCT FROM f.chosen_cmp AS INTEGER) AS chosen,
               f.conflict, v.cluster, v.f, v.initial, f.contested
        FROM golden_values_by v JOIN golden_fields f USING (cluster, f)
        JOIN (SELECT DISTINCT cluster, person_id FROM members) p USING (cluster)
        JOIN records r ON r.rid = CAST(v.rank % {day_shift} AS BIGINT)
    """)
    con.execute("DROP TABLE golden_values_by")
    con.execute("DROP TABLE golden_fields")

    def typed(number: int, field: str) -> str:
        value = f"max(value) FILTER (WHERE f = {number})"
        if field in DATE_FIELDS:
            return f"CAST({value} AS DATE) AS {field}"
        if field in INTEGER_FIELDS:
            return f"CAST({value} AS INTEGER) AS {field}"
        return f"{value} AS {field}"

    # An initial is no name to match on (other_files.py): its person has no key there.
    keys = ", ".join(f"max(cmp) FILTER (WHERE f = {GOLDEN_FIELDS.index(field)} "
                     f"AND NOT initial) AS {key}" for field, key in NAME_KEY.items())
    columns = ", ".join(typed(number, f) for number, f in enumerate(GOLDEN_FIELDS))
    con.execute(f"""
        CREATE OR REPLACE TABLE golden_wide AS
        WITH g AS (
          SELECT cluster, any_value(person_id) AS person_id, {columns}, {keys},
                 CAST(count(*) FILTER (WHERE conflict = 1) AS INTEGER) AS conflicts
          FROM golden_long WHERE chosen = 1 GROUP BY cluster
        )
        SELECT g.* EXCLUDE (cluster), counts.records FROM g
        JOIN (SELECT cluster, CAST(count(*) AS INTEGER) AS records
              FROM members GROUP BY cluster) counts USING (cluster)
    """)
    # The agreed fields' sources, as store/provenance.py reads them: a JSON object
    # joined as text (field names need no escaping; json_array escapes the rest), in
    # an aggregation of its own: inside golden_wide's, at 1,000,000 persons, the two
    # held more than DuckDB's memory, and building took 81 s instead of 52 s.
    con.execute("""
        CREATE OR REPLACE TABLE golden_sources AS
        SELECT any_value(person_id) AS person_id,
               '{' || coalesce(string_agg('"' || field || '":' || CAST(json_array(
                 source, record_id, record_date, support) AS VARCHAR), ',')
                 FILTER (WHERE NOT contested), '') || '}' AS fields
        FROM golden_long WHERE chosen = 1 GROUP BY cluster
    """)
