"""`muster callup plan|verify|list`, `muster export callup|candidates`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from muster.cli.app_state import app, console, export_app
from muster.cli.context import OutCsv, PlanId, store_for, workspace

callup_app = typer.Typer(help="Call-up plans drawn by a publicly verifiable lottery "
                         "(docs/callup.md).", no_args_is_help=True)
app.add_typer(callup_app, name="callup")

By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $MUSTER_USER or the "
                                        "system user).")]


@callup_app.command("plan")
def plan_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="The date of the call-up, YYYY-MM-DD.")],
    quotas: Annotated[Path, typer.Option("--quotas", help="CSV file region,quota.")],
    category: Annotated[str, typer.Option(
        help="Who is called: conscript or reserve.")] = "conscript",
    seed: Annotated[str | None, typer.Option(
        help="The lottery seed (hex); default: 32 random bytes from the system.")] = None,
    by: By = None,
) -> None:
    """Draw a plan: candidates eligible on the date, ordered by lot in each region.

    Candidates: status eligible_<category> in the stored evaluation for the date, minus
    anyone with an open case. Saved immutably with its seed and candidate list.

    Example: muster callup plan --as-of 2024-06-01 --quotas quotas.csv
    """
    from muster.callup import create_plan, read_quotas
    from muster.casework.cases import default_actor
    from muster.eligibility.dates import parse_date

    day = parse_date(as_of)
    ws = workspace()
    wanted = read_quotas(quotas, ws.profile())
    with store_for(ws) as store:
        report = create_plan(store, day, wanted, by or default_actor(), category, seed)
    plan = report.plan
    table = Table("region", "quota", "candidates", "selected", "shortfall",
                  title=f"Plan {plan.id}: {plan.category}s on {plan.as_of} under {plan.law}")
    for r in report.regions:
        table.add_row(r.region, f"{r.quota:,}", f"{r.candidates:,}", f"{r.selected:,}",
                      f"[red]{r.shortfall:,}[/]" if r.shortfall else "0")
    console.print(table)
    console.print(f"Seed: {plan.seed}")
    excluded = ", ".join(f"{why.replace('_', ' ')} {n:,}" for why, n in report.excluded.items())
    console.print(f"{report.eligible:,} eligible in these regions; not candidates: {excluded}.")
    if plan.shortfall:
        short = ", ".join(f"{r} {n:,}" for r, n in plan.shortfall.items())
        console.print(f"[yellow]Shortfall: fewer candidates than places in {short}; all "
                      "candidates there are selected.[/]")
    console.print(f"Saved plan {plan.id}: {plan.selected:,} selected of {plan.candidates:,} "
                  f"candidates ({report.seconds:.1f} s), digest {plan.digest[:16]}…. "
                  f"Verify with `muster callup verify {plan.id}`.")


@callup_app.command("verify")
def verify_cmd(plan_id: PlanId) -> None:
    """Recompute a saved plan from scratch and report any difference (exit 1 if any).

    Example: muster callup verify 1
    """
    from muster.callup import verify_plan

    ws = workspace()
    with store_for(ws) as store:
        v = verify_plan(store, plan_id)
    p = v.plan
    console.print(f"Plan {p.id}: {p.category}s on {p.as_of} under {p.law}, seed {p.seed}, "
                  f"{p.candidates:,} candidates, {p.selected:,} selected, made by "
                  f"{p.created_by} at {p.created_at:%Y-%m-%d %H:%M:%S} UTC.")
    for why in v.differences:
        console.print(f"[red]✗ {why}[/]", highlight=False)
    if v.not_callable:
        console.print(f"[yellow]{len(v.not_callable):,} selected persons may not be called "
                      "now (they receive no notice):[/]")
        for person, region, rank, why in v.not_callable[:20]:
            console.print(f"  {region} rank {rank}: {person} — {why}", highlight=False)
    if not v.ok:
        console.print(f"[bold red]Plan {p.id} does NOT verify[/] ({len(v.differences)} "
                      "differences).")
        raise typer.Exit(1)
    console.print(f"[bold green]Plan {p.id} verifies[/]: digest {v.digest} matches, and the "
                  "lottery recomputed from the seed and the candidate list gives the same "
                  "selection.")


@callup_app.command("list")
def list_cmd() -> None:
    """The saved plans with their ids.

    Example: muster callup list
    """
    from muster.callup import list_plans

    ws = workspace()
    with store_for(ws) as store:
        plans = list_plans(store)
    if not plans:
        console.print("No plans yet (muster callup plan --as-of DATE --quotas FILE).")
        return
    table = Table("id", "as of", "category", "law", "candidates", "selected", "shortfall",
                  "seed", "made by", "made at (UTC)")
    for p in plans:
        table.add_row(str(p.id), str(p.as_of), p.category, p.law, f"{p.candidates:,}",
                      f"{p.selected:,}", f"{sum(p.shortfall.values()):,}", p.seed[:16] + "…",
                      p.created_by, f"{p.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@export_app.command("callup")
def export_callup_cmd(
    plan_id: PlanId, out: OutCsv,
) -> None:
    """region,rank,person_id: a plan's selection, rank from 1 within each region.

    Example: muster export callup 1 --out callup.csv
    """
    from muster.callup import export_callup

    ws = workspace()
    with store_for(ws) as store:
        n = export_callup(store, plan_id, out)
    console.print(f"Wrote {n:,} selected persons of plan {plan_id} to {out}.")


@export_app.command("candidates")
def export_candidates_cmd(
    plan_id: PlanId, out: OutCsv,
) -> None:
    """region,person_id: the published candidate list a plan's lottery ran on.

    Example: muster export candidates 1 --out candidates.csv
    """
    from muster.callup import export_candidates

    ws = workspace()
    with store_for(ws) as store:
        n = export_candidates(store, plan_id, out)
    console.print(f"Wrote {n:,} candidates of plan {plan_id} to {out}.")
