"""Clustering that never joins records that must be different people.

Plain connected components over links chains through weak links and can merge a
whole family. Here components are computed set-based first; only components that
contain a pair of records which cannot be one person (rules.conflict_sql) are
re-clustered, strongest link first, refusing any link that would join such a pair
(cannot-link constraints). A record whose best link into one group barely beats a
link into another group it cannot join with is ambiguous: it is left on its own and
both candidates go to the review list. Conflicted components are a small minority,
so the Python work here is small; the bulk stays in SQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from muster.resolve.config import ResolutionConfig
from muster.resolve.decisions import DIFFERENT_REASON
from muster.resolve.rules import conflict_sql

DETERMINISTIC_WEIGHT = 1e6  # identifier links are considered before any scored link
MAX_SET_ASIDE = 50  # ambiguous records set aside one by one in a component, at most


# Why a link is refused that would join two records the rules keep apart.
APART = "would put together records that cannot be one person: "


@dataclass
class ComponentResult:
    cluster: dict[int, int] = field(default_factory=dict)  # rid -> cluster label
    refused: dict[tuple[int, int], str] = field(default_factory=dict)
    ambiguous: dict[int, list[tuple[int, float]]] = field(default_factory=dict)


def cluster_records(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    """Create ``clusters(rid, cluster)``, and the pairs clustering kept apart:
    ``refused(rid_l, rid_r, reason)`` and ``ambiguous``."""
    con.execute(f"""
        CREATE OR REPLACE TABLE edges AS
        SELECT rid_l, rid_r, max(weight) AS weight FROM (
          SELECT rid_l, rid_r, {DETERMINISTIC_WEIGHT} AS weight FROM id_pairs
          WHERE conflict IS NULL
          UNION ALL
          SELECT rid_l, rid_r, match_weight FROM scored
          WHERE conflict IS NULL AND match_weight >= {config.link_weight} AND NOT alone
        ) GROUP BY rid_l, rid_r
    """)
    _connected_components(con)
    con.execute(f"""
        CREATE OR REPLACE TABLE conflicted AS
        SELECT a.rid AS rid_l, b.rid AS rid_r, a.label, {conflict_sql(config)} AS reason
        FROM labels a JOIN labels b ON a.label = b.label AND a.rid < b.rid
        JOIN records l ON l.rid = a.rid JOIN records r ON r.rid = b.rid
        WHERE a.label IN (SELECT label FROM labels GROUP BY label HAVING count(*) > 1)
          AND a.rid NOT IN (SELECT rid FROM pinned) AND b.rid NOT IN (SELECT rid FROM pinned)
          AND {conflict_sql(config)} IS NOT NULL
        UNION ALL  -- an officer's "different persons" is a cannot-link like the rules'
        SELECT d.rid_l, d.rid_r, a.label, '{DIFFERENT_REASON}'
        FROM decided d JOIN labels a ON a.rid = d.rid_l JOIN labels b ON b.rid = d.rid_r
        WHERE d.decision = 'different' AND a.label = b.label
    """)
    result = _split_conflicted(con, config)
    con.register("split_clusters", pa.table({
        "rid": pa.array(list(result.cluster), pa.int64()),
        "cluster": pa.array(list(result.cluster.values()), pa.int64()),
    }))
    con.execute("""
        CREATE OR REPLACE TABLE clusters AS
        SELECT l.rid, coalesce(s.cluster, l.label) AS cluster
        FROM labels l LEFT JOIN split_clusters s USING (rid)
    """)
    refused = list(result.refused.items())
    con.register("refused_edges", pa.table({
        "rid_l": pa.array([k[0] for k, _ in refused], pa.int64()),
        "rid_r": pa.array([k[1] for k, _ in refused], pa.int64()),
        "reason": pa.array([v for _, v in refused], pa.string()),
    }))
    ambiguous = [(rid, other, w) for rid, cands in result.ambiguous.items()
                 for other, w in cands]
    con.register("ambiguous_pairs", pa.table({
        "rid": pa.array([a[0] for a in ambiguous], pa.int64()),
        "other": pa.array([a[1] for a in ambiguous], pa.int64()),
        "weight": pa.array([a[2] for a in ambiguous], pa.float64()),
    }))
    con.execute("CREATE OR REPLACE TABLE refused AS SELECT * FROM refused_edges")
    con.execute("CREATE OR REPLACE TABLE ambiguous AS SELECT * FROM ambiguous_pairs")


def _connected_components(con: duckdb.DuckDBPyConnection) -> None:
    """``labels(rid, label)``: each record's component, named by its smallest rid.

    SciPy's union of the edge arrays takes a second where spreading labels in SQL
    took one join per step of the longest chain (15 s at 4.5M records).
    """
    rids = con.sql("SELECT rid FROM records").to_arrow_table().column(0).to_numpy()
    edges = con.sql("SELECT rid_l, rid_r FROM edges").to_arrow_table()
    left = edges.column(0).to_numpy()
    right = edges.column(1).to_numpy()
    size = int(rids.max()) + 1 if len(rids) else 0
    graph = coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    smallest = np.full(size, size, np.int64)
    np.minimum.at(smallest, component[rids], rids)
    con.register("labels_arrow", pa.table({"rid": rids, "label": smallest[component[rids]]}))
    con.execute("CREATE OR REPLACE TABLE labels AS SELECT * FROM labels_arrow")
    con.unregister("labels_arrow")


def _split_conflicted(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> ComponentResult:
    conflicts = con.execute("SELECT label, rid_l, rid_r, reason FROM conflicted").fetchall()
    if not conflicts:
        return ComponentResult()
    edges = con.execute("""
        SELECT lb.label, e.rid_l, e.rid_r, e.weight FROM edges e
        JOIN labels lb ON lb.rid = e.rid_l
        WHERE lb.label IN (SELECT DISTINCT label FROM conflicted)
    """).fetchall()
    members = con.execute("""
        SELECT label, rid FROM labels WHERE label IN (SELECT DISTINCT label FROM conflicted)
    """).fetchall()
    by_label: dict[int, tuple[list[int], list[tuple[float, int, int]], dict[frozenset[int], str]]]
    by_label = defaultdict(lambda: ([], [], {}))
    for label, rid in members:
        by_label[label][0].append(rid)
    for label, a, b, w in edges:
        by_label[label][1].append((w, a, b))
    for label, a, b, reason in conflicts:
        by_label[label][2][frozenset((a, b))] = reason
    result = ComponentResult()
    for rids, component_edges, cannot in by_label.values():  # conflicted components only
        _split_one(rids, component_edges, cannot, config, result)
    return result


def _greedy(rids: list[int], edges: list[tuple[float, int, int]],
            cannot: dict[frozenset[int], str]) -> tuple[dict[int, int], dict[tuple[int, int], str]]:
    """Union strongest links first unless the union would join a cannot-link pair."""
    root = {r: r for r in rids}
    groups = {r: [r] for r in rids}

    def find(r: int) -> int:
        while root[r] != r:
            root[r] = root[root[r]]
            r = root[r]
        return r

    refused: dict[tuple[int, int], str] = {}
    for _w, a, b in sorted(edges, key=lambda e: (-e[0], e[1], e[2])):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        reason = next((cannot[frozenset((x, y))] for x in groups[ra] for y in groups[rb]
                       if frozenset((x, y)) in cannot), None)
        if reason is not None:
            refused[(a, b)] = APART + reason
            continue
        keep, gone = (ra, rb) if ra < rb else (rb, ra)
        root[gone] = keep
        groups[keep].extend(groups.pop(gone))
    label = {r: min(groups[find(r)]) for r in rids}
    return label, refused


def _split_one(rids: list[int], edges: list[tuple[float, int, int]],
               cannot: dict[frozenset[int], str], config: ResolutionConfig,
               result: ComponentResult) -> None:
    """Greedy clustering, then set aside the most ambiguous record and cluster again,
    until no record fits two groups almost equally well. One at a time: the record
    that bridges two people (often one carrying the other's identifier) is usually
    the only one, and setting aside all candidates at once broke whole persons up."""
    kept = edges
    alone: dict[int, list[tuple[int, float]]] = {}
    while True:
        label, refused = _greedy(rids, kept, cannot)
        candidates = _ambiguous(label, refused, kept, cannot, config)
        if not candidates:
            break
        if len(alone) >= MAX_SET_ASIDE:  # a pathological component: settle it at once
            alone.update({rid: found for rid, (_margin, found) in candidates.items()})
            kept = [e for e in kept if e[1] not in alone and e[2] not in alone]
            label, refused = _greedy(rids, kept, cannot)
            break
        rid = min(candidates, key=lambda r: (candidates[r][0], r))
        alone[rid] = candidates[rid][1]
        kept = [e for e in kept if rid not in (e[1], e[2])]
    for rid, found in alone.items():
        result.ambiguous[rid] = found
    for _w, a, b in edges:
        if a in alone or b in alone:
            refused[(a, b)] = ("ambiguous: the record matches two people who cannot be "
                               "one person almost equally well")
    result.cluster.update(label)
    result.refused.update(refused)


def _ambiguous(label: dict[int, int], refused: dict[tuple[int, int], str],
               edges: list[tuple[float, int, int]], cannot: dict[frozenset[int], str],
               config: ResolutionConfig) -> dict[int, tuple[float, list[tuple[int, float]]]]:
    """Records whose best link inside their group barely beats a refused link into a
    group they could join: rid -> (that margin, [(other record, weight), ...])."""
    weight = {(a, b): w for w, a, b in edges}
    best_inside: dict[int, float] = defaultdict(lambda: float("-inf"))
    for w, a, b in edges:
        if label[a] == label[b]:
            best_inside[a] = max(best_inside[a], w)
            best_inside[b] = max(best_inside[b], w)
    group: dict[int, list[int]] = defaultdict(list)
    for rid, lab in label.items():
        group[lab].append(rid)
    found: dict[int, tuple[float, list[tuple[int, float]]]] = {}
    for (a, b) in refused:
        w = weight[(a, b)]
        for rid, other in ((a, b), (b, a)):
            margin = best_inside[rid] - w
            if margin < config.ambiguity_margin and not any(
                    frozenset((rid, m)) in cannot for m in group[label[other]]):
                previous, pairs = found.get(rid, (margin, []))
                found[rid] = (min(previous, margin), [*pairs, (other, w)])
    for rid, (margin, pairs) in found.items():
        partners = [(b if a == rid else a, w) for w, a, b in edges
                    if rid in (a, b) and w == best_inside[rid] and label[a] == label[b]]
        found[rid] = (margin, pairs + partners)
    return found
