"""Call-up plans: candidates on a date, the lottery per region, saved immutably.

Candidates are the persons whose stored status on the as-of date is
``eligible_<category>`` (the current evaluation for that date), in a region with a
quota, minus anyone with an open case (clarification, correction, deferment claim,
appeal), anyone whose appeal against a plan for the same date and category was
granted, and anyone already holding a live notice. The plan saves its header (id,
date, law, seed, quotas, who and when), the published candidate list and the
ordered selection, sealed by a digest over all three; nothing ever updates it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from muster.callup.lottery import check_seed, draw, new_seed
from muster.eligibility.dialect import date_sql, text_sql
from muster.errors import MusterError, NotFound
from muster.store import Store
from muster.store.bulk import BulkConnection, bulk_transaction

CATEGORIES = ("conscript", "reserve")
# Notices that mean a person has been called already (not withdrawn, not deferred).
CALLED = ("issued", "sent", "delivered", "appealed", "reported")


@dataclass(frozen=True)
class Plan:
    id: int
    as_of: date
    category: str
    eligibility_run: int
    law_name: str
    law_version: str
    seed: str
    quotas: dict[str, int]
    candidates: int
    selected: int
    shortfall: dict[str, int]
    created_by: str
    created_at: datetime
    digest: str

    @property
    def law(self) -> str:
        return f"{self.law_name} {self.law_version}"

    def header_text(self) -> str:
        """The header as it enters the digest: one ``key value`` per line."""
        return "\n".join([
            f"plan {self.id}", f"as_of {self.as_of.isoformat()}", f"category {self.category}",
            f"eligibility_run {self.eligibility_run}", f"law {self.law}", f"seed {self.seed}",
            f"quotas {json.dumps(self.quotas, sort_keys=True)}",
            f"created_by {self.created_by}",
            f"created_at {self.created_at.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        ])


@dataclass(frozen=True)
class RegionCount:
    region: str
    quota: int
    candidates: int
    selected: int
    shortfall: int


@dataclass(frozen=True)
class PlanReport:
    plan: Plan
    regions: tuple[RegionCount, ...]
    eligible: int  # eligible in the quota regions, before exclusions
    excluded: dict[str, int]  # why eligible persons are not candidates -> how many
    seconds: float


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def plan_from_row(row: dict[str, object]) -> Plan:
    return Plan(
        id=int(row["id"]),  # type: ignore[call-overload]
        as_of=row["as_of"] if isinstance(row["as_of"], date) else date.fromisoformat(
            str(row["as_of"])),
        category=str(row["category"]), eligibility_run=int(row["eligibility_run"]),  # type: ignore[call-overload]
        law_name=str(row["law_name"]), law_version=str(row["law_version"]),
        seed=str(row["seed"]), quotas=json.loads(str(row["quotas"])),
        candidates=int(row["candidates"]), selected=int(row["selected"]),  # type: ignore[call-overload]
        shortfall=json.loads(str(row["shortfall"])), created_by=str(row["created_by"]),
        created_at=_utc(row["created_at"] if isinstance(row["created_at"], datetime)
                        else datetime.fromisoformat(str(row["created_at"]))),
        digest=str(row["digest"]),
    )


def compute_digest(plan: Plan, candidates: pa.Table, selection: pa.Table) -> str:
    """sha256 over the header text, the sha256 of the candidate lines ``region,person_id``
    and that of the selection lines ``region,rank,person_id`` (each sorted, joined by
    newlines); computed in DuckDB."""
    con = duckdb.connect()
    try:
        con.register("c", candidates.select(["region", "person_id"]))
        con.register("s", selection.select(["region", "rank", "person_id"]))
        parts = con.execute("""
            SELECT (SELECT sha256(coalesce(string_agg(region || ',' || person_id, chr(10)
                                  ORDER BY region, person_id), '')) FROM c),
                   (SELECT sha256(coalesce(string_agg(region || ',' || CAST(rank AS VARCHAR)
                                  || ',' || person_id, chr(10) ORDER BY region, rank), ''))
                    FROM s)
        """).fetchone()
        assert parts is not None
        text = f"{plan.header_text()}\ncandidates {parts[0]}\nselection {parts[1]}"
        return hashlib.sha256(text.encode()).hexdigest()
    finally:
        con.close()


def current_run(db: BulkConnection, as_of: date) -> dict[str, Any]:
    rows = db.fetch_arrow(
        "SELECT id, resolve_run, law_name, law_version FROM eligibility_runs WHERE as_of = "
        f"{date_sql(as_of, db.dialect)} AND superseded_by IS NULL ORDER BY id DESC").to_pylist()
    if not rows:
        raise MusterError(f"There is no evaluation of eligibility for {as_of}.",
                          hint=f"Run `muster eligibility evaluate --as-of {as_of}` first.")
    run: dict[str, Any] = rows[0]
    latest = db.scalar("SELECT max(id) FROM resolve_runs")
    if latest is not None and int(run["resolve_run"]) < int(latest):
        raise MusterError(
            f"The evaluation for {as_of} (run {run['id']}) read the register as resolved by "
            f"resolve run {run['resolve_run']}, but it has been resolved again since (run "
            f"{latest}): statuses may have changed.",
            hint=f"Run `muster eligibility evaluate --as-of {as_of}` again, then plan.")
    return run


def _regions_sql(quotas: dict[str, int]) -> str:
    return ", ".join(text_sql(r) for r in quotas) or "NULL"


EXCLUSIONS = ("open_case", "appeal", "called")


def eligible_sql(run_id: int, category: str, quotas: dict[str, int], as_of: date,
                 dialect: str) -> str:
    """``person_id, region`` and a 0/1 column per exclusion, for everyone eligible on the
    date in a quota region: one pass, the exclusions applied by the caller."""
    checks = {
        "open_case": "EXISTS (SELECT 1 FROM cases c WHERE c.person_id = e.person_id "
                     "AND c.status = 'open')",
        "appeal": "EXISTS (SELECT 1 FROM cases c JOIN callup_plans p ON p.id = c.plan_id "
                  "WHERE c.person_id = e.person_id AND c.kind = 'appeal' "
                  f"AND c.status = 'granted' AND p.as_of = {date_sql(as_of, dialect)} "
                  f"AND p.category = {text_sql(category)})",
        "called": "EXISTS (SELECT 1 FROM notices n WHERE n.person_id = e.person_id "
                  f"AND n.status IN ({', '.join(text_sql(s) for s in CALLED)}))",
    }
    flags = ", ".join(f"CASE WHEN {sql} THEN 1 ELSE 0 END AS {name}"
                      for name, sql in checks.items())
    return (f"SELECT e.person_id, g.region, {flags} FROM eligibility_results e "
            "JOIN golden_records g ON g.person_id = e.person_id "
            f"WHERE e.run_id = {int(run_id)} "
            f"AND e.status = {text_sql('eligible_' + category)} "
            f"AND g.region IN ({_regions_sql(quotas)})")


def _check_request(quotas: dict[str, int], category: str) -> None:
    if category not in CATEGORIES:
        raise MusterError(f"Unknown category {category!r}.",
                          hint=f"Categories: {', '.join(CATEGORIES)}.")
    if not quotas:
        raise MusterError("No quotas given.", hint="The quotas file lists region,quota rows.")


def create_plan(store: Store, as_of: date, quotas: dict[str, int], actor: str,
                category: str = "conscript", seed: str | None = None) -> PlanReport:
    """Draw and save a plan; returns it with counts per region and exclusions."""
    _check_request(quotas, category)
    started = perf_counter()
    seed = check_seed(seed) if seed is not None else new_seed()
    with bulk_transaction(store) as db:
        run = current_run(db, as_of)
        run_id = int(run["id"])  # type: ignore[call-overload]
        eligible = db.fetch_arrow(eligible_sql(run_id, category, quotas, as_of, db.dialect))
        keep = pc.equal(pc.add(pc.add(eligible.column("open_case"), eligible.column("appeal")),
                               eligible.column("called")), 0)
        candidates = eligible.filter(keep).select(["person_id", "region"]).cast(
            pa.schema([("person_id", pa.string()), ("region", pa.string())]))
        excluded = {why: int(pc.sum(eligible.column(why)).as_py() or 0) for why in EXCLUSIONS}
        selection = draw(candidates, quotas, seed)
        counts = _region_counts(candidates, selection, quotas)
        plan_id = db.next_id("callup_plans")
        plan = Plan(
            id=plan_id, as_of=as_of, category=category, eligibility_run=run_id,
            law_name=str(run["law_name"]), law_version=str(run["law_version"]), seed=seed,
            quotas=dict(sorted(quotas.items())), candidates=candidates.num_rows,
            selected=selection.num_rows,
            shortfall={c.region: c.shortfall for c in counts if c.shortfall},
            created_by=actor, created_at=datetime.now(UTC).replace(microsecond=0), digest="")
        plan = Plan(**{**plan.__dict__, "digest": compute_digest(plan, candidates, selection)})
        _save(db, plan, candidates, selection)
        db.commit()
    return PlanReport(plan, tuple(counts), eligible.num_rows, excluded,
                      perf_counter() - started)


def _region_counts(candidates: pa.Table, selection: pa.Table,
                   quotas: dict[str, int]) -> list[RegionCount]:
    in_region = dict.fromkeys(quotas, 0)
    for region in candidates.column("region").to_pylist():
        in_region[region] += 1
    picked = dict.fromkeys(quotas, 0)
    for region in selection.column("region").to_pylist():
        picked[region] += 1
    return [RegionCount(r, q, in_region[r], picked[r], max(q - in_region[r], 0))
            for r, q in quotas.items()]


def _save(db: BulkConnection, plan: Plan, candidates: pa.Table, selection: pa.Table) -> None:
    db.append("callup_plans", pa.Table.from_pylist([{
        "id": plan.id, "as_of": plan.as_of, "category": plan.category,
        "eligibility_run": plan.eligibility_run, "law_name": plan.law_name,
        "law_version": plan.law_version, "seed": plan.seed,
        "quotas": json.dumps(plan.quotas, sort_keys=True), "candidates": plan.candidates,
        "selected": plan.selected, "shortfall": json.dumps(plan.shortfall, sort_keys=True),
        "created_by": plan.created_by, "created_at": plan.created_at, "digest": plan.digest,
    }]))
    ids = pa.repeat(pa.scalar(plan.id, pa.int32()), candidates.num_rows)
    db.append("callup_candidates", candidates.append_column("plan_id", ids))
    ids = pa.repeat(pa.scalar(plan.id, pa.int32()), selection.num_rows)
    db.append("callup_selection", selection.append_column("plan_id", ids))


def get_plan(db: BulkConnection, plan_id: int) -> Plan:
    rows = db.fetch_arrow("SELECT * FROM callup_plans WHERE id = ?", (int(plan_id),)).to_pylist()
    if not rows:
        raise NotFound(f"There is no call-up plan {plan_id}.",
                       hint="List the saved plans with `muster callup list`.")
    return plan_from_row(rows[0])


def load_plan(store: Store, plan_id: int) -> tuple[Plan, pa.Table, pa.Table]:
    """(header, candidates ``region, person_id``, selection ``region, rank, person_id``)."""
    with bulk_transaction(store) as db:
        plan = get_plan(db, plan_id)
        candidates = db.fetch_arrow(
            "SELECT region, person_id FROM callup_candidates WHERE plan_id = ? "
            "ORDER BY region, person_id", (plan_id,))
        selection = db.fetch_arrow(
            "SELECT region, rank, person_id FROM callup_selection WHERE plan_id = ? "
            "ORDER BY region, rank", (plan_id,))
    schema_c = pa.schema([("region", pa.string()), ("person_id", pa.string())])
    schema_s = pa.schema([("region", pa.string()), ("rank", pa.int32()),
                          ("person_id", pa.string())])
    return plan, candidates.cast(schema_c), selection.cast(schema_s)


def list_plans(store: Store) -> list[Plan]:
    with bulk_transaction(store) as db:
        rows = db.fetch_arrow("SELECT * FROM callup_plans ORDER BY id").to_pylist()
    return [plan_from_row(r) for r in rows]


def export_callup(store: Store, plan_id: int, out: Path) -> int:
    """``region,rank,person_id``: the ordered selection (rank from 1 in each region)."""
    _, _, selection = load_plan(store, plan_id)
    pacsv.write_csv(selection, out, pacsv.WriteOptions(quoting_style="needed"))
    return int(selection.num_rows)


def export_candidates(store: Store, plan_id: int, out: Path) -> int:
    """``region,person_id``: the published candidate list the lottery ran on."""
    _, candidates, _ = load_plan(store, plan_id)
    pacsv.write_csv(candidates, out, pacsv.WriteOptions(quoting_style="needed"))
    return int(candidates.num_rows)
