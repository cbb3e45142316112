"""Verifying a saved plan from scratch, and who of its selection may be called now.

``verify_plan`` recomputes, independently of how the plan was saved:

1. the digest over the header, the candidate list and the selection (a changed
   row, a dropped candidate, an edited seed or quota breaks it);
2. the lottery from the seed, the quotas and the published candidate list: the
   selection must be exactly the first ``quota`` per region in digest order;
3. the counts and shortfalls the header states.

Any difference is reported and the plan fails verification. Separately, and not a
failure, it reports what changed in the register since: selected persons who are no
longer eligible on the date or have an open case now. They receive no notice.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from muster.callup.lottery import draw
from muster.callup.plan import Plan, compute_digest, load_plan
from muster.eligibility.dialect import date_sql, text_sql
from muster.store import Store
from muster.store.bulk import bulk_transaction


@dataclass(frozen=True)
class Verification:
    plan: Plan
    digest: str  # recomputed
    differences: tuple[str, ...]  # empty: the plan verifies
    not_callable: tuple[tuple[str, str, int, str], ...]  # (person, region, rank, why)

    @property
    def ok(self) -> bool:
        return not self.differences


def _selection_differences(stored: pa.Table, recomputed: pa.Table) -> list[str]:
    con = duckdb.connect()
    try:
        con.register("stored", stored)
        con.register("again", recomputed)
        rows = con.execute("""
            SELECT coalesce(s.region, a.region) AS region, coalesce(s.rank, a.rank) AS rank,
                   s.person_id AS stored, a.person_id AS again
            FROM stored s FULL OUTER JOIN again a ON s.region = a.region AND s.rank = a.rank
            WHERE s.person_id IS DISTINCT FROM a.person_id
            ORDER BY 1, 2
        """).fetchall()
    finally:
        con.close()
    return [f"{region} rank {rank}: the plan has {stored or 'nobody'}, the lottery gives "
            f"{again or 'nobody'}" for region, rank, stored, again in rows]


def _count_differences(plan: Plan, candidates: pa.Table, selection: pa.Table) -> list[str]:
    out = []
    if plan.candidates != candidates.num_rows:
        out.append(f"the header states {plan.candidates} candidates; the list has "
                   f"{candidates.num_rows}")
    if plan.selected != selection.num_rows:
        out.append(f"the header states {plan.selected} selected; the selection has "
                   f"{selection.num_rows}")
    per_region: dict[str, int] = {}
    for region in candidates.column("region").to_pylist():
        per_region[region] = per_region.get(region, 0) + 1
    shortfall = {r: q - per_region.get(r, 0) for r, q in plan.quotas.items()
                 if q > per_region.get(r, 0)}
    if shortfall != plan.shortfall:
        out.append(f"the header states shortfalls {plan.shortfall}; the list gives {shortfall}")
    outside = sorted(set(per_region) - set(plan.quotas))
    if outside:
        out.append(f"candidates in regions without a quota: {', '.join(outside)}")
    return out


def not_callable(store: Store, plan: Plan) -> list[tuple[str, str, int, str]]:
    """Selected persons who must not be called now: (person, region, rank, why)."""
    status = text_sql(f"eligible_{plan.category}")
    with bulk_transaction(store) as db:
        run = db.scalar("SELECT max(id) FROM eligibility_runs WHERE as_of = "
                        f"{date_sql(plan.as_of, db.dialect)} AND superseded_by IS NULL")
        rows = db.fetch_arrow(f"""
            SELECT s.person_id, s.region, s.rank,
              CASE WHEN g.person_id IS NULL THEN 'no longer in the register (merged)'
                   WHEN e.status IS NULL THEN 'no current evaluation'
                   WHEN e.status <> {status} THEN 'now ' || e.status || ' (' || e.ground || ')'
                   WHEN EXISTS (SELECT 1 FROM cases c WHERE c.person_id = s.person_id
                                AND c.status = 'open') THEN 'has an open case'
              END AS why
            FROM callup_selection s
            LEFT JOIN golden_records g ON g.person_id = s.person_id
            LEFT JOIN eligibility_results e ON e.person_id = s.person_id
                 AND e.run_id = {int(run) if run is not None else -1}
            WHERE s.plan_id = ?
            ORDER BY s.region, s.rank""", (plan.id,)).to_pylist()
    return [(r["person_id"], r["region"], int(r["rank"]), r["why"]) for r in rows if r["why"]]


def verify_plan(store: Store, plan_id: int) -> Verification:
    plan, candidates, selection = load_plan(store, plan_id)
    differences = []
    digest = compute_digest(plan, candidates, selection)
    if digest != plan.digest:
        differences.append(f"the digest does not match: stored {plan.digest}, recomputed "
                           f"{digest}: the plan was changed after it was saved")
    differences += _count_differences(plan, candidates, selection)
    differences += _selection_differences(selection, draw(candidates, plan.quotas, plan.seed))
    return Verification(plan, digest, tuple(differences), tuple(not_callable(store, plan)))
