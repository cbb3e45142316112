"""Stable person ids: a new partition is mapped onto the ids of the previous one.

Each new cluster keeps the id of the previous person it shares most records with,
provided that person is not kept by a cluster sharing more. Whatever is left gets a
new id. Merges (a cluster holding several previous persons) and splits (a previous
person spread over several clusters) are recorded as events, old ids -> new ids, and
a merged-away id is retired with a pointer to its successor: an id never changes
meaning. The common case (one cluster, one previous person) is settled in SQL; only
merges and splits are looked at one by one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

ID_PREFIX = "P"
ID_DIGITS = 9


def format_person_id(n: int) -> str:
    return f"{ID_PREFIX}{n:0{ID_DIGITS}d}"


@dataclass
class IdentityChanges:
    events: list[dict[str, str]] = field(default_factory=list)
    retired: dict[str, str] = field(default_factory=dict)  # person_id -> successor


def assign_ids(con: duckdb.DuckDBPyConnection, next_number: int) -> IdentityChanges:
    """Create ``assigned(cluster, person_id, is_new)`` from ``clusters`` and ``previous``.

    ``previous(source, record_id, person_id)`` holds the current membership.
    """
    con.execute("""
        CREATE OR REPLACE TABLE overlap AS
        SELECT c.cluster, p.person_id, count(*) AS n
        FROM clusters c JOIN records r USING (rid)
        JOIN previous p ON p.source = r.source AND p.record_id = r.record_id
        GROUP BY c.cluster, p.person_id
    """)
    con.execute("""
        CREATE OR REPLACE TABLE kept AS
        WITH per_cluster AS (SELECT cluster, count(*) AS k FROM overlap GROUP BY cluster),
             per_person AS (SELECT person_id, count(*) AS k FROM overlap GROUP BY person_id)
        SELECT o.cluster, o.person_id FROM overlap o
        JOIN per_cluster c USING (cluster) JOIN per_person p USING (person_id)
        WHERE c.k = 1 AND p.k = 1
    """)
    tangled = con.execute("""
        SELECT cluster, person_id, n FROM overlap
        WHERE cluster NOT IN (SELECT cluster FROM kept)
        ORDER BY n DESC, person_id, cluster
    """).fetchall()
    changes = IdentityChanges()
    chosen: dict[int, str] = {}
    taken: set[str] = set()
    for cluster, person_id, _n in tangled:  # merges and splits only
        if cluster not in chosen and person_id not in taken:
            chosen[cluster] = person_id
            taken.add(person_id)
    con.register("tangled_kept", pa.table({
        "cluster": pa.array(list(chosen), pa.int64()),
        "person_id": pa.array(list(chosen.values()), pa.string()),
    }))
    con.execute(f"""
        CREATE OR REPLACE TABLE assigned AS
        WITH old AS (SELECT cluster, person_id FROM kept
                     UNION ALL SELECT cluster, person_id FROM tangled_kept),
             fresh AS (SELECT DISTINCT cluster FROM clusters
                       WHERE cluster NOT IN (SELECT cluster FROM old))
        SELECT cluster, person_id, false AS is_new FROM old
        UNION ALL
        SELECT cluster, '{ID_PREFIX}' || lpad(CAST({next_number} - 1 +
                 row_number() OVER (ORDER BY cluster) AS VARCHAR), {ID_DIGITS}, '0'),
               true
        FROM fresh
    """)
    con.unregister("tangled_kept")
    _record_changes(con, tangled, changes)
    return changes


def _record_changes(con: duckdb.DuckDBPyConnection, tangled: list[tuple[int, str, int]],
                    changes: IdentityChanges) -> None:
    id_of = dict(con.execute(
        "SELECT cluster, person_id FROM assigned WHERE cluster IN "
        "(SELECT cluster FROM overlap WHERE cluster NOT IN (SELECT cluster FROM kept))"
    ).fetchall())
    persons_in: dict[int, list[str]] = defaultdict(list)
    clusters_of: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for cluster, person_id, n in tangled:
        persons_in[cluster].append(person_id)
        clusters_of[person_id].append((n, cluster))
    for cluster, olds in persons_in.items():
        if len(olds) > 1:
            new = id_of[cluster]
            changes.events.append(_event("merged", new, sorted(olds), [new],
                                         f"{len(olds)} persons found to be one"))
    for person_id, where in clusters_of.items():
        new_ids = sorted({id_of[c] for _n, c in where})
        if len(where) > 1:
            for new in new_ids:
                changes.events.append(_event("split", new, [person_id], new_ids,
                                             f"{person_id} found to be {len(new_ids)} persons"))
        if person_id not in id_of.values():
            successor = id_of[max(where)[1]]
            changes.retired[person_id] = successor
    con.execute("""
        CREATE OR REPLACE TABLE created AS
        SELECT a.person_id FROM assigned a
        WHERE a.is_new AND a.cluster NOT IN (SELECT cluster FROM overlap)
    """)


def _event(kind: str, person_id: str, old: list[str], new: list[str],
           detail: str) -> dict[str, str]:
    return {"kind": kind, "person_id": person_id, "old_ids": json.dumps(old),
            "new_ids": json.dumps(new), "detail": detail}
