"""`muster notices issue|status|list|show|mark`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from muster.cli.app_state import app, console
from muster.cli.context import NoticeId, PlanId, set_step, steps, store_for, workspace

notices_app = typer.Typer(help="Call-up notices: issued as PDF, tracked until the end of "
                          "their life (docs/callup.md).", no_args_is_help=True)
app.add_typer(notices_app, name="notices")

By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $MUSTER_USER or the "
                                        "system user).")]


@notices_app.command("issue")
def issue_cmd(
    plan_id: PlanId,
    out: Annotated[Path, typer.Option(help="Folder for the PDF files.")],
    limit: Annotated[int | None, typer.Option(help="Issue at most this many.")] = None,
    by: By = None,
) -> None:
    """One PDF notice per selected person who may be called now.

    Only from a plan that verifies; a person no longer eligible on the plan's date or
    with an open case gets none (listed), nor does one who already has a notice.

    Example: muster notices issue 1 --out notices/
    """
    from muster.casework.cases import default_actor
    from muster.notices import issue_notices

    ws = workspace()
    with store_for(ws) as store, steps("issuing notices") as progress:
        r = issue_notices(store, ws.profile(), plan_id, out, by or default_actor(), limit,
                          progress=lambda t: set_step(progress, t))
    for person, region, rank, why in r.skipped[:20]:
        console.print(f"[yellow]No notice[/] for {person} ({region} rank {rank}): {why}.",
                      highlight=False)
    more = f"; {r.already:,} had one already" if r.already else ""
    console.print(f"Issued {r.issued:,} notices of plan {plan_id} into {r.out} "
                  f"({r.seconds:.1f} s){more}; {len(r.skipped):,} selected persons may not be "
                  "called now.")


@notices_app.command("status")
def status_cmd(plan_id: PlanId) -> None:
    """How many of a plan's notices are at each stage, per region.

    Example: muster notices status 1
    """
    from muster.notices import STATUSES, plan_status

    ws = workspace()
    with store_for(ws) as store:
        s = plan_status(store, plan_id)
    present = [x for x in STATUSES if x in s.counts]
    table = Table("region", *present, title=f"Notices of plan {plan_id} "
                  f"({s.plan.selected:,} selected)")
    regions: dict[str, dict[str, int]] = {}
    for region, status, n in s.by_region:
        regions.setdefault(region, {})[status] = n
    for region, counts in regions.items():
        table.add_row(region, *(f"{counts.get(x, 0):,}" for x in present))
    table.add_row("[bold]all[/]", *(f"[bold]{s.counts[x]:,}[/]" for x in present))
    console.print(table)
    console.print(f"{sum(s.counts.values()):,} notices; {s.without_notice:,} selected persons "
                  "have none (not callable now, or not issued yet).")


@notices_app.command("list")
def list_cmd(
    plan_id: PlanId,
    status: Annotated[str | None, typer.Option(help="Only notices at this stage.")] = None,
) -> None:
    """A plan's notices: id, person, region, rank, stage, file.

    Example: muster notices list 1 --status delivered
    """
    from muster.notices import list_notices

    ws = workspace()
    with store_for(ws) as store:
        rows = list_notices(store, plan_id, status)
    table = Table("notice", "person", "region", "rank", "status", "file")
    for r in rows:
        table.add_row(str(r["id"]), str(r["person_id"]), str(r["region"]), str(r["rank"]),
                      str(r["status"]), escape(Path(str(r["file"])).name))
    console.print(table)


@notices_app.command("show")
def show_cmd(notice_id: NoticeId) -> None:
    """One notice and every step of its life (who, when, evidence, why).

    Example: muster notices show 12
    """
    from muster.notices import TRANSITIONS, notice_history

    ws = workspace()
    with store_for(ws) as store:
        notice, events = notice_history(store, notice_id)
    console.print(f"Notice {notice_id}: plan {notice['plan_id']}, {notice['person_id']} "
                  f"({notice['region']} rank {notice['rank']}), [bold]{notice['status']}[/]; "
                  f"{notice['file']} (sha256 {str(notice['file_sha256'])[:16]}…)")
    nxt = TRANSITIONS[str(notice["status"])]
    console.print(f"Next: {', '.join(nxt) if nxt else 'none (final)'}.")
    for e in events:
        extra = "".join(f"; {k} {escape(str(e[k]))}" for k in ("evidence", "reason") if e[k])
        console.print(f"{e['at']:%Y-%m-%d %H:%M} {e['from_status'] or '—'} → {e['to_status']} "
                      f"by {escape(str(e['actor']))}{extra}", highlight=False)


@notices_app.command("mark")
def mark_cmd(
    notice_id: NoticeId,
    status: Annotated[str, typer.Argument(
        help="The new stage: sent, delivered, appealed, reported, deferred, withdrawn.")],
    evidence: Annotated[str | None, typer.Option(
        help="Delivery evidence (required for delivered): receipt, signature, mail number.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the notice's history).")
                      ] = None,
    by: By = None,
) -> None:
    """Move a notice to its next stage; an illegal move is refused.

    Example: muster notices mark 12 delivered --evidence "registered mail RR123456789"
    """
    from muster.casework.cases import default_actor
    from muster.notices import transition

    ws = workspace()
    with store_for(ws) as store:
        before = transition(store, notice_id, status, by or default_actor(), evidence, reason)
    console.print(f"Notice {notice_id}: {before} → {status}.")
