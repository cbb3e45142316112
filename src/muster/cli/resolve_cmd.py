"""`muster resolve`, `muster review list|decide`, `muster person ...`, `muster export
links|persons`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from muster.cli.app_state import app, console, export_app, person_app, review_app
from muster.cli.context import OutCsv, set_step, steps, store_for, workspace
from muster.errors import MusterError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from muster.resolve.deterministic import Placeholder
    from muster.resolve.queries import PersonView


@app.command("resolve")
def resolve_cmd(
    engine: Annotated[str, typer.Option(help="Linkage engine: duckdb | spark.")] = "duckdb",
    full: Annotated[bool, typer.Option(
        "--full", help="Re-decide every record and retrain the model, not only what is new.",
    )] = False,
) -> None:
    """Link every accepted source record into persons (existing person ids are kept).

    After the first run only new and changed records, and the persons they touch,
    are re-decided; --full rebuilds everything (do that after changing the
    [resolution] settings of the profile).

    Example: muster resolve            (or: muster resolve --full)
    """
    from muster.casework.review_queue import open_entries
    from muster.resolve.pipeline import resolve

    ws = workspace()
    with store_for(ws) as store, steps("resolving") as progress:
        report = resolve(store, ws.profile(), engine=engine, full=full,
                         progress=lambda text: set_step(progress, text))
        if report.mode == "up to date":
            console.print(f"Nothing new since the last run: {report.records:,} records in "
                          f"{report.persons:,} persons. (muster resolve --full rebuilds.)")
            return
        with store.engine.connect() as conn:
            entries = int(conn.execute(open_entries()).scalar() or 0)
    scope = ("every record" if report.mode == "full" else
             f"{report.new:,} new or changed records, {report.decided:,} records re-decided")
    console.print(
        f"Resolved {report.records:,} records into [bold]{report.persons:,}[/] persons "
        f"({report.mode}: {scope}; {report.seconds:.1f} s, {report.engine}): "
        f"{report.links:,} links; "
        f"{report.created:,} new persons, {report.merged:,} merges, {report.split:,} splits; "
        f"review list {entries:,} entries, one per two persons ({report.review:,} pairs of "
        f"records, {report.collisions:,} identifier collisions)."
    )
    console.print("[dim]Steps: " + ", ".join(f"{name} {seconds:.1f} s"
                                             for name, seconds in report.steps) + "[/]")
    _print_placeholders(report.placeholders)
    if report.review:
        console.print("See them with: muster review list")


def _print_placeholders(placeholders: Sequence[Placeholder]) -> None:
    from muster.resolve.deterministic import MAX_IDENTIFIER_GROUP

    def listed(items: list[Placeholder]) -> str:
        shown = "; ".join(f"{p.source + ' ' if p.source else ''}{p.field} {p.value} "
                          f"({p.records:,} records)" for p in items[:10])
        return shown + (f"; and {len(items) - 10:,} more" if len(items) > 10 else "")

    numbers = [p for p in placeholders if p.source is None]
    dates = [p for p in placeholders if p.source is not None]
    if numbers:
        console.print(
            f"[yellow]Identifier values shared by more than {MAX_IDENTIFIER_GROUP} records "
            f"are placeholders[/], no one's number: they link nobody and tell nobody apart, "
            f"and stay out of golden records: {listed(numbers)}. Ask the agency that sends "
            "them.", highlight=False)
    if dates:
        console.print(
            "[yellow]Birth dates that a source gives to many times more records than the "
            "days around them are placeholders[/], no one's birth date: resolution "
            "reads those records as undated, and they stay out of golden records: "
            f"{listed(dates)}. Ask the agency that sends them.", highlight=False)


@review_app.command("list")
def review_list_cmd(
    kind: Annotated[str | None, typer.Option(
        help="uncertain | ambiguous | identifier_collision")] = None,
    limit: Annotated[int, typer.Option(help="How many to show.")] = 30,
    every_pair: Annotated[bool, typer.Option(
        "--every-pair", help="List each pair of records, not one per two persons.")] = False,
) -> None:
    """Open review pairs: the register did not link these on its own. One line per two
    persons (their strongest pair of records: answering it answers the others between
    them); first those that hold someone's call-up decision (the newest eligibility
    evaluation holds one of the persons for it), then the strongest.

    Example: muster review list --kind identifier_collision
    """
    from muster.casework.review_queue import review_page

    ws = workspace()
    with store_for(ws) as store:
        rows, total = review_page(store, kind, None, limit, 0, every_pair=every_pair)
    if not total:
        console.print(f"The review list is empty{f' of kind {kind}' if kind else ''}: "
                      "nothing waits for an officer's answer.")
        return
    table = Table("id", "kind", "record", "record", "weight", "pairs", "holds", "why")
    for r in rows:
        weight = "" if r["match_weight"] is None else f"{r['match_weight']:.1f}"
        table.add_row(str(r["id"]), r["kind"], f"{r['source_l']}:{r['record_id_l']}",
                      f"{r['source_r']}:{r['record_id_r']}", weight,
                      str(r["pairs_between"]), "call-up" if r["holds"] else "", r["detail"])
    console.print(table)
    if total > len(rows):
        console.print(f"… {total - len(rows):,} more (--limit).")
    if not every_pair and any(r["pairs_between"] > 1 for r in rows):
        console.print("[dim]pairs: the open pairs of records between the two persons; "
                      "an answer on the one shown answers them all (--every-pair lists "
                      "each).[/]")


@review_app.command("decide")
def review_decide_cmd(
    record_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    record_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    same: Annotated[bool | None, typer.Option(
        "--same/--different", help="One person, or two different persons.")] = None,
    reason: Annotated[str, typer.Option(help="What settled it (kept with the decision).")] = "",
) -> None:
    """Answer a review pair: the two records are the same person, or different persons.

    The pair leaves the review list now; the next `muster resolve` links it ("same",
    unless the records cannot be one person) or keeps it apart ("different").

    Example: muster review decide voters:000123 passports:4567 --different
    --reason "brothers; birth certificates checked"
    """
    from muster.casework.cases import default_actor
    from muster.resolve.decisions import decide_pair, parse_record

    if same is None:
        raise MusterError("Say whether the records are one person: --same or --different.",
                          hint="Compare them first with: muster person explain A B")
    ws = workspace()
    with store_for(ws) as store:
        d = decide_pair(store, parse_record(record_a), parse_record(record_b),
                        "same" if same else "different", default_actor(), reason)
    verdict = "the same person" if d.decision == "same" else "different persons"
    console.print(f"Recorded: {record_a} and {record_b} are [bold]{verdict}[/] "
                  f"({d.review_closed} review entr{'y' if d.review_closed == 1 else 'ies'} "
                  "closed). The next `muster resolve` applies it.", highlight=False)


def _show_person(view: PersonView) -> None:
    status = view.status if not view.successor else f"{view.status} → {view.successor}"
    console.print(f"[bold]{view.person_id}[/] ({status}), {len(view.records)} source records")
    golden = Table("field", "value", "source", "other values (conflicts in red)")
    by_field: dict[str, list[dict[str, Any]]] = {}
    for v in view.values:
        by_field.setdefault(v["field"], []).append(v)
    for name, values in by_field.items():
        chosen = next(v for v in values if v["chosen"])
        others = ", ".join(f"{v['value']} ({v['source']}:{v['record_id']})"
                           for v in values if not v["chosen"])
        if chosen["conflict"] and others:
            others = f"[red]{others}[/]"
        golden.add_row(name, str(chosen["value"]), f"{chosen['source']}:{chosen['record_id']}",
                       others)
    console.print(golden)
    records = Table("record", "line", "family", "given", "middle", "birth", "ids")
    for r in view.records:
        ids = " ".join(str(r[f]) for f in ("national_id", "tax_id", "passport_no") if r.get(f))
        records.add_row(f"{r['source']}:{r['record_id']}", str(r["line"]), r["family_name"] or "",
                        r["given_name"] or "", r["middle_name"] or "", str(r["birth_date"] or ""),
                        ids)
    console.print(records)
    links = Table("link", "rule", "weight", "outcome", "why")
    for e in view.links:
        why = e["reason"] or _contributions_text(e["contributions"], view.labels)
        weight = "" if e["match_weight"] is None else f"{e['match_weight']:.1f}"
        links.add_row(f"{e['source_l']}:{e['record_id_l']} ↔ {e['source_r']}:{e['record_id_r']}",
                      e["rule"], weight, e["outcome"], why)
    console.print(links)
    for h in view.history:
        console.print(f"{h['at']:%Y-%m-%d %H:%M} run {h['run_id']}: {h['kind']} "
                      f"{', '.join(json.loads(h['old_ids']))} → "
                      f"{', '.join(json.loads(h['new_ids']))} ({h['detail']})")


def _contributions_text(contributions: dict[str, list[Any]],
                        labels: dict[str, dict[int, str]]) -> str:
    parts = []
    for name, (gamma, weight) in contributions.items():
        label = labels.get(name, {}).get(int(gamma), str(gamma))
        parts.append(f"{name} {label} {weight:+.1f}")
    return "; ".join(parts)


@person_app.command("show")
def person_show(person_id: Annotated[str, typer.Argument(help="A person id, e.g. P000000042.")]
                ) -> None:
    """A person's golden record with sources and conflicts, records, links and history.

    Example: muster person show P000000042
    """
    from muster.resolve.queries import person_view

    ws = workspace()
    with store_for(ws) as store:
        _show_person(person_view(store, person_id))


@person_app.command("explain")
def person_explain(
    record_a: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
    record_b: Annotated[str, typer.Argument(help="SOURCE:RECORD_ID")],
) -> None:
    """Why two records are, or are not, the same person.

    Example: muster person explain voters:000123 passports:4567
    """
    from muster.resolve.decisions import parse_record
    from muster.resolve.queries import explain_pair

    ws = workspace()
    with store_for(ws) as store:
        x = explain_pair(store, ws.profile(), parse_record(record_a), parse_record(record_b))
    same = x.person_left is not None and x.person_left == x.person_right
    console.print(f"{record_a} → {x.person_left}; {record_b} → {x.person_right}: "
                  f"[bold]{'the same person' if same else 'different persons'}[/].")
    if x.identifiers:
        console.print(f"They share {', '.join(x.identifiers)}.")
    for p in x.placeholders:
        if p.source is None:
            console.print(f"[yellow]{p.field} {p.value} is a placeholder[/]: {p.records:,} "
                          "records carry it, so it links nobody and tells nobody apart.",
                          highlight=False)
        else:
            console.print(f"[yellow]{p.field} {p.value} of {p.source} is a placeholder[/]: "
                          f"{p.records:,} records of {p.source} carry it, many times more "
                          "than the days around it, so the record is read as undated.",
                          highlight=False)
    if x.conflict:
        console.print(f"[red]They cannot be one person: {x.conflict}.[/]")
    table = Table("comparison", "level", "weight")
    for name, (label, weight) in x.contributions.items():
        table.add_row(name, label, f"{weight:+.2f}")
    console.print(table)
    console.print(f"Match weight {x.match_weight:.2f} (Splink; the link weight is set in the "
                  "profile's \\[resolution]).")
    if x.stored:
        console.print(f"Last resolution: {x.stored['outcome']} by {x.stored['rule']}"
                      + (f" — {x.stored['reason']}" if x.stored["reason"] else "") + ".")


@person_app.command("find")
def person_find(
    name: Annotated[str | None, typer.Option(help="Any of the names, any script.")] = None,
    birth_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    identifier: Annotated[str | None, typer.Option("--id", help="national, tax or passport "
                                                    "number; formatting is ignored")] = None,
) -> None:
    """Find persons by name, birth date or identifier.

    Example: muster person find --name "Иванов Иван" --birth-date 1990-05-12
    """
    from muster.resolve.queries import find_persons

    ws = workspace()
    with store_for(ws) as store:
        rows = find_persons(store, name, birth_date, identifier, ws.profile())
    table = Table("person", "family", "given", "middle", "birth", "region", "records")
    for r in rows:
        table.add_row(r["person_id"], r["family_name"] or "", r["given_name"] or "",
                      r["middle_name"] or "", str(r["birth_date"] or ""), r["region"] or "",
                      str(r["records"]))
    console.print(table if rows else "Nobody found.")


@export_app.command("links")
def export_links_cmd(out: OutCsv) -> None:
    """source,record_id,person_id for every accepted source record.

    Example: muster export links --out links.csv
    """
    from muster.resolve.queries import export_links

    ws = workspace()
    with store_for(ws) as store:
        n = export_links(store, out)
    console.print(f"Wrote {n:,} links to {out}.")


@export_app.command("persons")
def export_persons_cmd(out: OutCsv) -> None:
    """One row per person with every golden field under its canonical name.

    Example: muster export persons --out persons.csv
    """
    from muster.resolve.queries import export_persons

    ws = workspace()
    with store_for(ws) as store:
        n = export_persons(store, out)
    console.print(f"Wrote {n:,} persons to {out}.")
