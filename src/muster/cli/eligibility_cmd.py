"""`muster law show`, `muster eligibility evaluate|explain|diff`, `muster export eligibility`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from muster.cli.app_state import app, console, export_app
from muster.cli.context import OutCsv, set_step, steps, store_for, workspace

if TYPE_CHECKING:
    from muster.eligibility.explain import Explanation

law_app = typer.Typer(help="The law in force: parameters with effective dates (docs/law.md).",
                      no_args_is_help=True)
eligibility_app = typer.Typer(
    help="Who is eligible, deferred or exempt on a date, under the law in force then.",
    no_args_is_help=True)
app.add_typer(law_app, name="law")
app.add_typer(eligibility_app, name="eligibility")

AsOf = Annotated[str, typer.Option("--as-of", help="The date to decide on, YYYY-MM-DD.")]


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple | list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


@law_app.command("show")
def law_show(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Also show the value in force on this date (YYYY-MM-DD).")] = None,
    law_file: Annotated[Path | None, typer.Option(
        "--law", help="Show this law file instead of the profile's.")] = None,
) -> None:
    """The law file: every parameter with its dated values, and the rules that read them.

    Example: muster law show --as-of 2024-06-01
    """
    from muster.eligibility.dates import parse_date
    from muster.eligibility.law import load_law, parse_law
    from muster.eligibility.rules import RULES

    day = parse_date(as_of) if as_of else None
    law = parse_law(law_file) if law_file else load_law(workspace().profile())
    console.print(f"[bold]{law.title}[/] — {law.label} ({law.path}, sha256 {law.sha256[:12]})")
    table = Table("parameter", "values (from date)", *(["in force " + str(day)] if day else []),
                  "meaning")
    in_force = law.values_on(day) if day else {}
    for name, p in law.parameters.items():
        periods = "; ".join(f"{_text(x.value)} (from {x.start})" if x.start else _text(x.value)
                            for x in p.periods)
        extra = [_text(in_force[name])] if day else []
        table.add_row(name, escape(periods), *map(escape, extra), escape(p.description))
    console.print(table)
    rules = Table("ground", "status", "applies when", "date")
    for rule in RULES:
        rules.add_row(rule.ground, rule.status, escape(rule.when.describe()),
                      rule.date.describe() if rule.date else "")
    console.print(rules)
    console.print("Precedence: not_subject > exempt > needs_clarification > deferred > eligible; "
                  "every ground that applies is kept.")


@eligibility_app.command("evaluate")
def evaluate_cmd(as_of: AsOf) -> None:
    """Decide every person's status on a date and store it with the law version.

    Example: muster eligibility evaluate --as-of 2024-06-01
    """
    from muster.eligibility.dates import parse_date
    from muster.eligibility.evaluate import evaluate
    from muster.eligibility.rules import STATUSES

    day = parse_date(as_of)
    ws = workspace()
    with store_for(ws) as store, steps("evaluating") as progress:
        result = evaluate(store, ws.profile(), day, progress=lambda t: set_step(progress, t))
    statuses = [s for s in STATUSES if any(c[1] == s for c in result.counts)]
    table = Table("region", *statuses, "total", title=f"Status on {day} under {result.law}")
    regions: dict[str | None, dict[str, int]] = {}
    for region, status, n in result.counts:
        regions.setdefault(region, {})[status] = n
    for region, counts in regions.items():
        table.add_row(region or "(none)", *(f"{counts.get(s, 0):,}" for s in statuses),
                      f"{sum(counts.values()):,}")
    totals = {s: sum(c[2] for c in result.counts if c[1] == s) for s in statuses}
    table.add_row("[bold]all[/]", *(f"[bold]{totals[s]:,}[/]" for s in statuses),
                  f"[bold]{result.persons:,}[/]")
    console.print(table)
    console.print(f"Evaluated {result.persons:,} persons on {day} under {result.law} "
                  f"({result.seconds:.1f} s); stored as run {result.run_id}.")


def _show_explanation(x: Explanation) -> None:
    d = x.decision
    age = f", age {x.age}" if x.age is not None else ""
    dates = (f", until {d.until}" if d.until else "") + \
        (f", subject from {d.subject_from}" if d.subject_from else "")
    console.print(f"[bold]{x.person_id}[/] on {x.as_of}{age}: [bold]{d.status}[/] "
                  f"(ground {d.ground}{dates}) under {x.law.label}.")
    console.print(f"Grounds that apply: {', '.join(d.grounds)}.")
    rules = Table("rule", "status", "applies", "condition (values in force on the date)")
    for o in x.outcomes:
        mark = "[green]yes[/]" if o.applies else "no"
        if o.applies and o.date:
            mark += f" ({o.date})"
        rules.add_row(o.rule.ground, o.rule.status, mark, escape(o.condition))
    console.print(rules)
    facts = Table("fact", "value", "from source record", "other values in the sources",
                  title="Facts used")
    seen: set[str] = set()
    for o in x.outcomes:
        for f in o.facts:
            if f.field in seen:
                continue
            seen.add(f.field)
            others = escape(", ".join(f.others))
            facts.add_row(f.field, escape(_text(f.value)),
                          escape(f"{f.source}:{f.record_id}") if f.source else "",
                          f"[red]conflict: {others}[/]" if f.conflict and others else others)
    console.print(facts)
    if x.identity_conflict:
        console.print("[red]Sources disagree on birth_date or sex and no officer-verified value "
                      "settles it.[/]")
    if x.in_review:
        console.print(f"[red]Records of this person in review: {escape(', '.join(x.in_review))}."
                      "[/] Settle them with `muster review decide`, then resolve and evaluate "
                      "again.")
    if x.other_files:
        console.print(f"[red]Other files that may be this person's keep them off the call-up: "
                      f"{escape(', '.join(x.other_files))}.[/] Compare them with `muster person "
                      "show`, answer with `muster review decide` on a record of each (--same "
                      "joins the files, --different lifts the hold), then resolve and evaluate "
                      "again.")
    if x.unreadable:
        console.print(f"[red]Values about their grounds that could not be read: "
                      f"{escape('; '.join(x.unreadable))}.[/] Ask the agency to send the "
                      "record again, or record the value seen in a document with `muster "
                      "casework decide CASE resolved --value FIELD=VALUE`; a record that is "
                      "another person's is split off with `muster review decide --different`.")
    if x.newer_values and x.decision.status == "needs_clarification":
        console.print(f"[red]Records newer than the chosen values: "
                      f"{escape('; '.join(x.newer_values))}.[/] Record the value an officer "
                      "verifies with `muster casework decide CASE resolved --value "
                      "FIELD=VALUE` (fitness_category=CODE, dependents=N, ...).")
    params = Table("parameter", "in force", "since", title=f"Parameters in force on {x.as_of}")
    for p in x.parameters:
        params.add_row(p.name, _text(p.value), str(p.since) if p.since else "always")
    console.print(params)
    if x.stored is None:
        console.print(f"No stored evaluation for {x.as_of} yet "
                      f"(muster eligibility evaluate --as-of {x.as_of}).")
    elif (x.stored["status"], x.stored["ground"]) != (d.status, d.ground):
        console.print(f"[yellow]The stored evaluation for {x.as_of} ({x.stored['law']}) says "
                      f"{x.stored['status']} ({x.stored['ground']}): the register or the law "
                      "changed since; evaluate again.[/]")
    else:
        console.print(f"Agrees with the stored evaluation for {x.as_of} ({x.stored['law']}).")


@eligibility_app.command("explain")
def explain_cmd(
    person_id: Annotated[str, typer.Argument(help="A person id, e.g. P000000042.")],
    as_of: AsOf,
) -> None:
    """Why one person has their status on a date, rule by rule.

    Shows every rule (whether it applies), the parameter values in force on the date,
    the facts used and the source record each came from.

    Example: muster eligibility explain P000000042 --as-of 2024-06-01
    """
    from muster.eligibility.dates import parse_date
    from muster.eligibility.explain import explain_person, require_person_id

    day = parse_date(as_of)
    ws = workspace()
    with store_for(ws) as store:
        _show_explanation(explain_person(store, ws.profile(), require_person_id(person_id), day))


@eligibility_app.command("diff")
def diff_cmd(
    as_of: AsOf,
    law_file: Annotated[Path, typer.Option("--law", help="The proposed law file (TOML).")],
    sample: Annotated[int, typer.Option(help="Persons shown per kind of move.")] = 3,
) -> None:
    """The impact of a proposed law on a date; writes nothing.

    How many persons move between statuses, per region, with a sample of who and why.

    Example: muster eligibility diff --as-of 2025-01-01 --law proposed.toml
    """
    from muster.eligibility.dates import parse_date
    from muster.eligibility.diff import diff_law

    day = parse_date(as_of)
    ws = workspace()
    with store_for(ws) as store:
        d = diff_law(store, ws.profile(), day, law_file, sample=sample)
    console.print(f"On {day}: {d.base.label} (in force) → {d.other.label} ({law_file}).")
    if d.parameters:
        params = Table("parameter", "in force", "proposed")
        for name, now, new in d.parameters:
            params.add_row(name, _text(now), _text(new))
        console.print(params)
    else:
        console.print("No parameter value in force on that date differs.")
    console.print(f"[bold]{d.moved:,}[/] of {d.persons:,} persons change status; "
                  f"{d.regrounded:,} more keep it with other grounds or dates.")
    if not d.moves:
        return
    moves = Table("from", "to", "persons")
    for before, after, n in d.moves:
        moves.add_row(before, after, f"{n:,}")
    console.print(moves)
    regions = Table("region", "from", "to", "persons")
    for region, before, after, n in d.by_region:
        regions.add_row(region or "(none)", before, after, f"{n:,}")
    console.print(regions)
    people = Table("person", "region", "from (grounds)", "to (grounds)", title="Sample")
    for r in d.sample:
        people.add_row(r["person_id"], r["region"] or "",
                       f"{r['before']} ({r['grounds_before']})",
                       f"{r['after']} ({r['grounds_after']})")
    console.print(people)


@export_app.command("eligibility")
def export_eligibility_cmd(
    as_of: AsOf,
    out: OutCsv,
) -> None:
    """person_id,status,ground,until for every person on a date.

    ground: the winning ground; until: a deferment's last day, or the day a person
    not subject by age becomes subject. Decided afresh from the golden records.

    Example: muster export eligibility --as-of 2024-06-01 --out eligibility.csv
    """
    from muster.eligibility.dates import parse_date
    from muster.eligibility.evaluate import export_eligibility

    day: date = parse_date(as_of)
    ws = workspace()
    with store_for(ws) as store:
        n = export_eligibility(store, ws.profile(), day, out)
    console.print(f"Wrote {n:,} persons' status on {day} to {out}.")
