"""What happened to every scored or identifier pair, and the review list, as tables.

Creates DuckDB tables ``edge_out`` (the link evidence that explanations show) and
``review_out`` (pairs an officer must look at), keyed by source and record id
(both keep the record numbers too: ``edge_out`` to be written in key order,
``review_out`` to be given its persons and their regions once the golden records
are built).
"""

from __future__ import annotations

import duckdb

from muster.resolve.cluster import APART
from muster.resolve.config import ResolutionConfig
from muster.resolve.decisions import DIFFERENT_REASON
from muster.resolve.rules import BIRTH_FACTS, NAMES_ALONE, conflict_sql


def build_outcomes(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    link = config.link_weight
    _persons_apart(con, config)
    # With the records' keys in the same query: a table of outcomes, then a copy of
    # it with the keys, was every scored pair and its contributions written twice.
    con.execute(f"""
        CREATE OR REPLACE TABLE edge_out AS
        WITH pairs AS (
          SELECT coalesce(p.rid_l, s.rid_l) AS rid_l, coalesce(p.rid_r, s.rid_r) AS rid_r,
                 coalesce(p.rule, 'match') AS rule, s.match_weight, s.contributions,
                 coalesce('identifier collision: ' || p.conflict, s.conflict) AS conflict,
                 p.rid_l IS NOT NULL AS by_identifier,
                 s.match_weight >= {link} AND NOT s.alone AS links  -- by its weight
          FROM id_pairs p FULL JOIN scored s USING (rid_l, rid_r)
        )
        SELECT l.source AS source_l, l.record_id AS record_id_l,
          r.source AS source_r, r.record_id AS record_id_r, p.rule, p.match_weight,
          CASE WHEN d.decision = 'different' OR p.conflict IS NOT NULL THEN 'refused'
               WHEN cl.cluster = cr.cluster AND (p.by_identifier OR p.links) THEN 'linked'
               WHEN cl.cluster = cr.cluster THEN 'supports'
               WHEN rf.reason IS NOT NULL OR ap.reason IS NOT NULL THEN 'refused'
               ELSE 'review' END AS outcome,
          CASE WHEN d.decision = 'different' THEN '{DIFFERENT_REASON}'
               WHEN p.conflict IS NOT NULL THEN p.conflict
               WHEN cl.cluster = cr.cluster AND (p.by_identifier OR p.links) THEN NULL
               WHEN cl.cluster = cr.cluster AND p.match_weight >= {link}
                 THEN '{NAMES_ALONE}; same person through other links'
               WHEN cl.cluster = cr.cluster THEN 'below the link weight; same person through '
                 || 'other links'
               WHEN rf.reason IS NOT NULL THEN rf.reason
               WHEN ap.reason IS NOT NULL THEN '{APART}' || ap.reason
               WHEN p.match_weight >= {link} THEN '{NAMES_ALONE}: not a link by weight alone'
               ELSE 'match weight between the review weight ({config.review_weight}) and '
                 || 'the link weight ({link})' END AS reason,
          p.contributions, p.rid_l, p.rid_r
        FROM pairs p
        JOIN records l ON l.rid = p.rid_l JOIN records r ON r.rid = p.rid_r
        JOIN clusters cl ON cl.rid = p.rid_l JOIN clusters cr ON cr.rid = p.rid_r
        LEFT JOIN refused rf ON rf.rid_l = p.rid_l AND rf.rid_r = p.rid_r
        LEFT JOIN decided d ON d.rid_l = p.rid_l AND d.rid_r = p.rid_r
        LEFT JOIN apart ap ON ap.a = least(cl.cluster, cr.cluster)
          AND ap.b = greatest(cl.cluster, cr.cluster)
    """)
    con.execute("""
        CREATE OR REPLACE TABLE review_out AS
        SELECT kind, l.source AS source_l, l.record_id AS record_id_l,
               r.source AS source_r, r.record_id AS record_id_r, match_weight, detail,
               x.rid_l, x.rid_r
        FROM (
          SELECT 'identifier_collision' AS kind, rid_l, rid_r, match_weight,
                 'share ' || rule || ' but ' || substr(reason, length('identifier collision: ') + 1)
                   AS detail
          FROM edge_out WHERE rule <> 'match' AND starts_with(reason, 'identifier collision')
          UNION ALL
          SELECT 'uncertain', rid_l, rid_r, match_weight, reason
          FROM edge_out WHERE outcome = 'review'
          UNION ALL
          SELECT DISTINCT 'ambiguous', least(rid, other), greatest(rid, other),
                 CASE WHEN weight < 1e6 THEN weight END,  -- identifier links have no weight
                 'the record matches two people who cannot be one person almost equally well'
          FROM ambiguous
        ) x JOIN records l ON l.rid = x.rid_l JOIN records r ON r.rid = x.rid_r
        WHERE NOT EXISTS (  -- an officer has answered it
          SELECT 1 FROM decided d WHERE d.rid_l = x.rid_l AND d.rid_r = x.rid_r)
    """)


def _persons_apart(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    """``apart(a, b, reason)``: pairs of persons (clusters, ``a < b``) that a scored pair
    would join though a record of each says they were born apart (rules.BIRTH_FACTS:
    sex, birth date, birth place, a death before the other's birth), or an officer
    found a record of each a different person; ``reason`` names the two records (the
    officer's first). Such a pair is refused, not reviewed: at 100,000 persons 3,446
    of the 4,598 pairs in review were of persons born apart, none of them one human,
    and each held both men. Names and identifiers are left to the officer: in the
    same register 34 pairs whose persons differed only in a given name were one human
    each (a misspelling had split them), and 6 of 34 that differed only in a tax id
    (a second one, issued by mistake)."""
    born_apart = conflict_sql(config, only=BIRTH_FACTS)

    def which(a: str, b: str) -> str:  # " (voters:1 and civil:2)"
        return (f"' (' || {a}.source || ':' || {a}.record_id || ' and ' "
                f"|| {b}.source || ':' || {b}.record_id || ')'")

    con.execute(f"""
        CREATE OR REPLACE TABLE apart AS
        WITH candidates AS (
          SELECT DISTINCT least(cl.cluster, cr.cluster) AS a,
                 greatest(cl.cluster, cr.cluster) AS b
          FROM scored s JOIN clusters cl ON cl.rid = s.rid_l JOIN clusters cr ON cr.rid = s.rid_r
          WHERE s.conflict IS NULL AND cl.cluster <> cr.cluster
        )
        SELECT a, b, arg_min(reason, rank) AS reason FROM (
          SELECT least(cl.cluster, cr.cluster) AS a, greatest(cl.cluster, cr.cluster) AS b,
                 '{DIFFERENT_REASON}' || {which('l', 'r')} AS reason,
                 [0, d.rid_l, d.rid_r] AS rank
          FROM decided d JOIN clusters cl ON cl.rid = d.rid_l JOIN clusters cr ON cr.rid = d.rid_r
          JOIN records l ON l.rid = d.rid_l JOIN records r ON r.rid = d.rid_r
          WHERE d.decision = 'different' AND cl.cluster <> cr.cluster
          UNION ALL
          SELECT c.a, c.b, {born_apart} || {which('l', 'r')}, [1, l.rid, r.rid]
          FROM candidates c
          JOIN clusters ma ON ma.cluster = c.a JOIN clusters mb ON mb.cluster = c.b
          JOIN records l ON l.rid = ma.rid JOIN records r ON r.rid = mb.rid
          WHERE l.rid NOT IN (SELECT rid FROM pinned) AND r.rid NOT IN (SELECT rid FROM pinned)
            AND {born_apart} IS NOT NULL
        ) GROUP BY a, b
    """)


def add_review_persons(con: duckdb.DuckDBPyConnection) -> None:
    """Give ``review_out`` the person of each record (``person_l``, ``person_r``) and
    their golden region (``region_l``, ``region_r``), from ``members`` and
    ``golden_wide``: the review queue is filtered and ordered on them
    (casework.review_queue)."""
    con.execute("""
        CREATE OR REPLACE TABLE review_out AS
        SELECT o.* EXCLUDE (rid_l, rid_r), ml.person_id AS person_l,
               mr.person_id AS person_r, gl.region AS region_l, gr.region AS region_r
        FROM review_out o
        LEFT JOIN members ml ON ml.rid = o.rid_l
        LEFT JOIN golden_wide gl ON gl.person_id = ml.person_id
        LEFT JOIN members mr ON mr.rid = o.rid_r
        LEFT JOIN golden_wide gr ON gr.person_id = mr.person_id
    """)
