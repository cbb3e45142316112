"""The deterministic pass: records sharing a valid identifier, guarded.

Only identifiers that passed their check at ingest are present here (a failing one
was left empty), so a shared value is strong evidence. It is still not proof: a
record can carry someone else's number. A pair whose records cannot be one person
(rules.conflict_sql) is an identifier collision for review, never a link.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from muster.resolve.config import ResolutionConfig
from muster.resolve.rules import conflict_sql

# A value shared by more records than this is a placeholder or a systematic error
# (e.g. all zeros passing its check), not a person's number.
MAX_IDENTIFIER_GROUP = 20
# A birth date that one source gives to more than MAX_IDENTIFIER_GROUP records, and to
# more than PLACEHOLDER_DAY_FACTOR times the records of an average day of the
# NEIGHBOUR_DAYS before and after it, is that source's stand-in for an unknown date
# (01.01.1900), not a day anyone was born on. Neighbouring days differ by a few per
# cent; a cohort (everyone born in 2005) raises them all alike, and at its first or
# last day half of the neighbours still count.
PLACEHOLDER_DAY_FACTOR = 10
NEIGHBOUR_DAYS = 15


class Placeholder(NamedTuple):
    """A value resolution leaves out (``find_placeholders``): an identifier value, from
    any ``source`` (None), or a birth date of one source."""

    field: str
    value: str
    records: int
    source: str | None = None


def find_placeholders(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                      counts_from: str = "records") -> None:
    """Create ``placeholders(field, value, records, source)`` over the register's records
    (``counts_from``): identifier values that more than MAX_IDENTIFIER_GROUP records
    share (``source`` NULL: whoever sends them), and each source's placeholder birth
    dates (PLACEHOLDER_DAY_FACTOR). Birth dates are DATE in ``counts_from``."""
    identifiers = [
        f"SELECT '{f}' AS field, CAST({f} AS VARCHAR) AS value, count(*) AS records, "
        f"CAST(NULL AS VARCHAR) AS source FROM {counts_from} WHERE {f} IS NOT NULL "
        f"GROUP BY {f} HAVING count(*) > {MAX_IDENTIFIER_GROUP}"
        for f in config.identifier_fields]
    dates = f"""
        SELECT 'birth_date', CAST(birth_date AS VARCHAR), records, source FROM (
          SELECT source, birth_date, count(*) AS records,
                 sum(count(*)) OVER (PARTITION BY source ORDER BY birth_date RANGE BETWEEN
                   INTERVAL {NEIGHBOUR_DAYS} DAYS PRECEDING AND
                   INTERVAL {NEIGHBOUR_DAYS} DAYS FOLLOWING) AS around
          FROM {counts_from} WHERE birth_date IS NOT NULL GROUP BY source, birth_date)
        WHERE records > {MAX_IDENTIFIER_GROUP}
          AND {placeholder_day_sql("records", "around")}"""
    con.execute("CREATE OR REPLACE TABLE placeholders AS "
                + " UNION ALL ".join([*identifiers, dates]))


def placeholder_day_sql(on_day: str, around: str) -> str:
    """SQL: a day with ``on_day`` of the ``around`` records of its source born within
    NEIGHBOUR_DAYS of it has PLACEHOLDER_DAY_FACTOR times the records of an average
    neighbouring day."""
    return (f"{on_day} * {2 * NEIGHBOUR_DAYS} > "
            f"{PLACEHOLDER_DAY_FACTOR} * ({around} - {on_day})")


def clear_placeholders(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                       table: str = "records") -> None:
    """A placeholder is no identifier, and no birth date: not to link on, nor to tell
    people apart by (a number would split every person whose other records carry their
    own; a date would keep each such record apart from its person, and what it says,
    an exemption say, from them), nor to keep in a golden record. Its value is cleared
    in ``table`` before any pair is judged; the source record keeps it."""
    if not con.execute("SELECT count(*) FROM placeholders").fetchall()[0][0]:
        return
    for f in config.identifier_fields:
        con.execute(f"UPDATE {table} SET {f} = NULL WHERE {f} IN (SELECT value FROM "
                    f"placeholders WHERE field = '{f}' AND source IS NULL)")
    con.execute(f"""UPDATE {table} SET birth_date = NULL, birth_text = NULL
                    WHERE (source, CAST(birth_date AS VARCHAR)) IN (SELECT source, value
                      FROM placeholders WHERE field = 'birth_date')""")


def identifier_pairs(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                     touching: str | None = None) -> None:
    """Create ``id_pairs(rid_l, rid_r, rule, conflict)``: conflict NULL means a link.

    ``touching``, a table of rids: only pairs with one of them. Placeholders
    (find_placeholders) link nothing.
    """
    only = (f"AND (l.rid IN (SELECT rid FROM {touching}) "
            f"OR r.rid IN (SELECT rid FROM {touching}))" if touching else "")
    selects = []
    for field in config.link_identifiers:
        selects.append(f"""
            SELECT l.rid AS rid_l, r.rid AS rid_r, '{field}' AS rule
            FROM records l JOIN records r ON l.{field} = r.{field} AND l.rid < r.rid
            WHERE l.{field} NOT IN (SELECT value FROM placeholders WHERE field = '{field}')
              {only}
        """)
    if not selects:
        con.execute("CREATE OR REPLACE TABLE id_pairs (rid_l BIGINT, rid_r BIGINT, "
                    "rule VARCHAR, conflict VARCHAR)")
        return
    con.execute(f"""
        CREATE OR REPLACE TABLE id_pairs AS
        SELECT p.rid_l, p.rid_r, string_agg(p.rule, ',' ORDER BY p.rule) AS rule,
               any_value({conflict_sql(config)}) AS conflict
        FROM ({' UNION ALL '.join(selects)}) p
        JOIN records l ON l.rid = p.rid_l JOIN records r ON r.rid = p.rid_r
        GROUP BY p.rid_l, p.rid_r
    """)


def mark_disputed(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                  rescore: tuple[str, ...] = ("id_pairs",)) -> None:
    """An identifier two clearly different people's records share (a collision on
    anything but another identifier) is in doubt on those records: it no longer
    proves that they differ from records with another value. Otherwise a record
    carrying someone else's number would split its own person apart. Conflicts in
    the ``rescore`` tables are computed again where they can change: for the pairs
    with a record whose identifiers are now in doubt."""
    con.execute("""
        UPDATE records SET disputed_ids = d.fields FROM (
          WITH collisions AS (
            SELECT rid_l, rid_r, string_split(rule, ',') AS fields FROM id_pairs
            WHERE conflict IS NOT NULL AND NOT starts_with(conflict, 'different ')
               OR conflict IN ('different sex', 'different given names',
                               'different middle names', 'different birth places'))
          SELECT rid, list_distinct(flatten(list(fields))) AS fields FROM (
            SELECT rid_l AS rid, fields FROM collisions
            UNION ALL SELECT rid_r, fields FROM collisions)
          GROUP BY rid) d
        WHERE records.rid = d.rid
    """)
    for table in rescore:
        con.execute(f"""
            UPDATE {table} SET conflict = c.conflict FROM (
              SELECT p.rid_l, p.rid_r, {conflict_sql(config)} AS conflict FROM {table} p
              JOIN records l ON l.rid = p.rid_l JOIN records r ON r.rid = p.rid_r
              WHERE len(l.disputed_ids) > 0 OR len(r.disputed_ids) > 0) c
            WHERE {table}.rid_l = c.rid_l AND {table}.rid_r = c.rid_r
        """)
