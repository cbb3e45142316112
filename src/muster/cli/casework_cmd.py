"""`muster casework generate|queue|show|correct|claim|appeal|decide`, `muster export cases`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from muster.cli.app_state import app, console, export_app
from muster.cli.context import CaseId, OutCsv, store_for, workspace
from muster.limits import MAX_ID

casework_app = typer.Typer(
    help="Clarifications, corrections, deferment claims and appeals (docs/callup.md).",
    no_args_is_help=True)
app.add_typer(casework_app, name="casework")

By = Annotated[str | None, typer.Option("--by", help="Who acts (default: $MUSTER_USER or the "
                                        "system user).")]
Reason = Annotated[str, typer.Option(help="Why (kept in the person's history).")]
Person = Annotated[str, typer.Argument(help="A person id, e.g. P000000042.")]
Values = Annotated[list[str] | None, typer.Option(
    "--value", help="FIELD=VALUE, repeatable (e.g. --value birth_date=1999-03-10).")]


@casework_app.command("generate")
def generate_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="The evaluated date, YYYY-MM-DD.")],
    by: By = None,
) -> None:
    """Open a clarification for every person who needs one on the date.

    Every needs_clarification status and every golden-record conflict no officer has
    settled; a person with an open clarification gets no second one.

    Example: muster casework generate --as-of 2024-06-01
    """
    from muster.casework.cases import default_actor
    from muster.casework.generate import generate_clarifications
    from muster.eligibility.dates import parse_date
    from muster.eligibility.law import officer_source

    day = parse_date(as_of)
    ws = workspace()
    with store_for(ws) as store:
        g = generate_clarifications(store, day, by or default_actor(),
                                    officer_source(ws.profile()))
    console.print(f"On {day}: {g.needs_clarification:,} persons need clarification, "
                  f"{g.with_conflicts:,} have conflicting sources. Opened {g.opened:,} "
                  f"clarifications; {g.already_open:,} were open already.")


@casework_app.command("queue")
def queue_cmd(
    kind: Annotated[str | None, typer.Option(
        help="Only one kind: clarification, correction, deferment_claim, appeal.")] = None,
    status: Annotated[str, typer.Option(help="open (default), a decision, or all.")] = "open",
    person: Annotated[str | None, typer.Option(help="Only this person's cases.")] = None,
    limit: Annotated[int, typer.Option(help="Cases shown.")] = 30,
) -> None:
    """The queues: cases waiting for a decision (or any status), oldest first.

    Example: muster casework queue --kind appeal
    """
    from muster.casework.cases import list_cases, queue_counts

    ws = workspace()
    with store_for(ws) as store:
        counts = queue_counts(store)
        rows = list_cases(store, kind, status, person, limit)
    summary = Table("kind", "status", "cases", title="Cases")
    for k, s, n in counts:
        summary.add_row(k, s, f"{n:,}")
    console.print(summary)
    table = Table("case", "person", "kind", "status", "opened", "by", "why")
    for c in rows:
        table.add_row(str(c.id), c.person_id, c.kind, c.status, f"{c.opened_at:%Y-%m-%d}",
                      escape(c.opened_by), escape(c.reason))
    console.print(table)


@casework_app.command("show")
def show_cmd(case_id: CaseId) -> None:
    """One case: what was asked, what was decided, every event (who, when, why).

    Example: muster casework show 7
    """
    from muster.casework.cases import OUTCOMES, get_case

    ws = workspace()
    with store_for(ws) as store:
        c = get_case(store, case_id)
    console.print(f"[bold]Case {c.id}[/]: {c.kind} for {c.person_id}, [bold]{c.status}[/]"
                  + (f" (plan {c.plan_id})" if c.plan_id else ""))
    console.print(f"Opened {c.opened_at:%Y-%m-%d %H:%M} by {escape(c.opened_by)}: "
                  f"{escape(c.reason)}", highlight=False)
    console.print(f"Detail: {escape(json.dumps(c.detail, ensure_ascii=False))}", highlight=False)
    if c.decided_at:
        console.print(f"Decided {c.decided_at:%Y-%m-%d %H:%M} by {escape(c.decided_by or '')}: "
                      f"{c.status} — {escape(c.decision_reason or '')}", highlight=False)
    else:
        console.print(f"Open: decide it {' or '.join(OUTCOMES[c.kind])} with "
                      f"`muster casework decide {c.id} OUTCOME --reason ...`.")
    for e in c.events:
        console.print(f"  {e['at']:%Y-%m-%d %H:%M} {e['action']} by {escape(e['actor'])}: "
                      f"{escape(e['detail'])}", highlight=False)


@casework_app.command("clarify")
def clarify_cmd(person_id: Person, reason: Reason, by: By = None) -> None:
    """An officer asks a person to clarify their data.

    Example: muster casework clarify P000000042 --reason "two addresses in one month"
    """
    from muster.casework.cases import default_actor, open_case

    ws = workspace()
    with store_for(ws) as store:
        c = open_case(store, person_id, "clarification", reason, {}, by or default_actor())
    console.print(f"Opened case {c.id}: clarification for {c.person_id}.")


@casework_app.command("correct")
def correct_cmd(person_id: Person, reason: Reason, value: Values = None,
                by: By = None) -> None:
    """A citizen proposes corrected values; an officer approves or rejects them.

    Example: muster casework correct P000000042 --value birth_date=1999-03-10 --reason "..."
    """
    from muster.casework.cases import default_actor, parse_values
    from muster.casework.decide import propose_correction

    ws = workspace()
    with store_for(ws) as store:
        c = propose_correction(store, ws.profile(), person_id, parse_values(value or []),
                               reason, by or default_actor())
    console.print(f"Opened case {c.id}: correction for {c.person_id} "
                  f"({', '.join(f'{k}={v}' for k, v in c.detail['values'].items())}).")


@casework_app.command("claim")
def claim_cmd(
    person_id: Person,
    ground: Annotated[str, typer.Option(
        help="The ground: dependents, protected_occupation, student, temporarily_unfit.")],
    evidence: Annotated[str, typer.Option(help="Reference to the evidence offered.")],
    reason: Reason,
    by: By = None,
) -> None:
    """A deferment claim: its ground in the law and the evidence offered.

    Example: muster casework claim P000000042 --ground student --evidence "letter 12" \
    --reason "I study"
    """
    from muster.casework.cases import default_actor
    from muster.casework.decide import claim_deferment

    ws = workspace()
    with store_for(ws) as store:
        c = claim_deferment(store, person_id, ground, evidence, reason, by or default_actor())
    console.print(f"Opened case {c.id}: deferment claim ({ground}) for {c.person_id}.")


@casework_app.command("appeal")
def appeal_cmd(
    person_id: Person,
    plan: Annotated[int, typer.Option(help="The plan whose selection is appealed.",
                                      min=1, max=MAX_ID)],
    reason: Reason,
    by: By = None,
) -> None:
    """An appeal against a selection; a delivered notice becomes "appealed".

    Example: muster casework appeal P000000042 --plan 1 --reason "I care for my mother"
    """
    from muster.casework.cases import default_actor
    from muster.casework.decide import lodge_appeal

    ws = workspace()
    with store_for(ws) as store:
        c = lodge_appeal(store, person_id, plan, reason, by or default_actor())
    console.print(f"Opened case {c.id}: appeal of {c.person_id} against plan {plan}.")


@casework_app.command("decide")
def decide_cmd(
    case_id: CaseId,
    outcome: Annotated[str, typer.Argument(
        help="clarification: resolved|closed; correction: approved|rejected; "
        "deferment_claim and appeal: granted|refused.")],
    reason: Reason,
    value: Values = None,
    by: By = None,
) -> None:
    """Record an officer's decision; the person's eligibility is decided again at once.

    Values (--value FIELD=VALUE) enter as the registration office's source record with
    top precedence and full provenance.

    Example: muster casework decide 7 resolved --value sex=M --reason "passport seen"
    """
    from muster.casework.cases import default_actor, parse_values
    from muster.casework.decide import decide_case

    ws = workspace()
    with store_for(ws) as store:
        d = decide_case(ws, store, ws.profile(), case_id, outcome, reason,
                        by or default_actor(), parse_values(value or []))
    console.print(f"Case {d.case.id} ({d.case.kind}, {d.case.person_id}): {d.case.status}.")
    if d.record:
        console.print(f"Verified values recorded as {d.record[0]}:{d.record[1]}"
                      + (f"; resolved again (run {d.reevaluation.resolve_run})."
                         if d.reevaluation.resolve_run else "."))
    for notice_id, before, after in d.notices:
        console.print(f"Notice {notice_id}: {before} → {after}.")
    for as_of, person_id, status, ground in d.reevaluation.results:
        console.print(f"{person_id} on {as_of}: {status} ({ground}).")


@export_app.command("cases")
def export_cases_cmd(out: OutCsv) -> None:
    """case_id,person_id,kind,status for every case.

    Example: muster export cases --out cases.csv
    """
    from muster.casework.cases import export_cases

    ws = workspace()
    with store_for(ws) as store:
        n = export_cases(store, out)
    console.print(f"Wrote {n:,} cases to {out}.")
