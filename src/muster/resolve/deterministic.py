"""The deterministic pass: records sharing a valid identifier, guarded.

Only identifiers that passed their check at ingest are present here (a failing one
was left empty), so a shared value is strong evidence. It is still not proof: a
record can carry someone else's number. A pair whose records cannot be one person
(rules.conflict_sql) is an identifier collision for review, never a link.
"""

from __future__ import annotations

import duckdb

from muster.resolve.config import ResolutionConfig
from muster.resolve.rules import conflict_sql

# A value shared by more records than this is a placeholder or a systematic error
# (e.g. all zeros passing its check), not a person's number.
MAX_IDENTIFIER_GROUP = 20


def find_placeholders(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                      counts_from: str = "records") -> None:
    """Create ``placeholders(field, value, records)``: identifier values that more than
    MAX_IDENTIFIER_GROUP of the register's records (``counts_from``) share."""
    con.execute("CREATE OR REPLACE TABLE placeholders AS " + " UNION ALL ".join(
        f"SELECT '{f}' AS field, CAST({f} AS VARCHAR) AS value, count(*) AS records "
        f"FROM {counts_from} WHERE {f} IS NOT NULL GROUP BY {f} "
        f"HAVING count(*) > {MAX_IDENTIFIER_GROUP}" for f in config.identifier_fields))


def clear_placeholders(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                       table: str = "records") -> None:
    """A placeholder is no identifier: not to link on, nor to tell people apart by (it
    would split every person whose other records carry their own number), nor to keep
    in a golden record. Its value is cleared in ``table`` before any pair is judged;
    the source record keeps it."""
    if not con.execute("SELECT count(*) FROM placeholders").fetchall()[0][0]:
        return
    for f in config.identifier_fields:
        con.execute(f"UPDATE {table} SET {f} = NULL WHERE {f} IN "
                    f"(SELECT value FROM placeholders WHERE field = '{f}')")


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
