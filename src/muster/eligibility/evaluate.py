"""Whole-register evaluation: set-based SQL in the database, no loop over people.

Two statements do the work, with the parameters in force on the as-of date as
constants:

1. one pass over the golden records writes a temporary table with, per person, a
   flag word (bit i set when ``RULES[i]`` applies) and the dates the dated grounds
   carry (a deferment's end, the day one becomes subject);
2. precedence is decided once per *distinct* flag word (a few hundred at most, in
   Python by ``rules.decide_grounds``, the same function the explanation uses) into
   a small table, and one join writes every person's result.

Only the choice between two dated deferments needs the dates; SQL makes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from muster.eligibility.dialect import text_sql
from muster.eligibility.expr import Context
from muster.eligibility.law import Law, load_law, officer_source
from muster.eligibility.other_files import hold_in_bulk
from muster.eligibility.rules import (
    ELIGIBLE,
    IDENTITY_FIELDS,
    KEEPING_OFF,
    OTHER_FILE_GROUND,
    RECORDS_IN_REVIEW_SQL,
    RULES,
    decide_grounds,
    fact_fields,
    grounds_of,
    newer_facts_sql,
    newest_newer_values_sql,
    unreadable_values_sql,
)
from muster.errors import MusterError
from muster.profile import Profile
from muster.store import Store
from muster.store.bulk import BulkConnection, bulk_transaction
from muster.store.locks import lock_register

RESULT_COLUMNS = ("person_id", "region", "status", "ground", "grounds", "until", "subject_from")
DATED = [r for r in RULES if r.date is not None]
BIT = {r.ground: 1 << i for i, r in enumerate(RULES)}


def facts_sql(officer: str | None, dialect: str) -> str:
    """The golden facts the rules read, and the derived flags (rules.DERIVED_FLAGS) as 0/1:
    an unsettled identity conflict, records in review, (0 here) another file, and an
    unread value about a ground; and the values of newer records (rules.NEWER)."""
    settled = f" AND source <> {text_sql(officer)}" if officer else ""
    unreadable = unreadable_values_sql(officer, dialect)
    identity = ", ".join(text_sql(f) for f in IDENTITY_FIELDS)
    columns = ", ".join(f"g.{f}" for f in fact_fields())
    # A conflicting identity field is settled when its chosen value is the officer's.
    return (f"SELECT g.person_id, g.region, {columns}, "
            f"CASE WHEN c.person_id IS NULL THEN 0 ELSE 1 END AS identity_conflict, "
            f"CASE WHEN v.person_id IS NULL THEN 0 ELSE 1 END AS identity_review, "
            # Set afterwards, from the other persons' flags (other_files.hold_in_bulk).
            f"0 AS other_file, "
            f"CASE WHEN u.person_id IS NULL THEN 0 ELSE 1 END AS unreadable_value, "
            f"{newer_facts_sql('n', dialect)} "
            f"FROM golden_records g LEFT JOIN (SELECT DISTINCT person_id FROM golden_values "
            f"WHERE conflict = 1 AND chosen = 1 AND field IN ({identity}){settled}) c "
            f"ON c.person_id = g.person_id "
            f"LEFT JOIN (SELECT DISTINCT p.person_id FROM person_records p "
            f"JOIN ({RECORDS_IN_REVIEW_SQL}) k "
            f"ON k.source = p.source AND k.record_id = p.record_id) v "
            f"ON v.person_id = g.person_id "
            f"LEFT JOIN (SELECT DISTINCT person_id FROM ({unreadable}) x) u "
            f"ON u.person_id = g.person_id "
            f"LEFT JOIN ({newest_newer_values_sql()}) n ON n.person_id = g.person_id")


def flag_columns_sql(ctx: Context, suffix: str = "") -> list[str]:
    """``bits{suffix}`` and ``d_<ground>{suffix}`` over the facts' columns."""
    bits = " + ".join(f"(CASE WHEN {r.when.sql(ctx)} THEN {BIT[r.ground]} ELSE 0 END)"
                      for r in RULES)
    dates = [f"CASE WHEN {r.when.sql(ctx)} THEN {r.date.sql(ctx)} END AS d_{r.ground}{suffix}"
             for r in DATED if r.date is not None]
    return [f"{bits} AS bits{suffix}", *dates]


def _mask(grounds: Iterable[str]) -> int:
    return sum(BIT[g] for g in grounds)


ELIGIBLE_MASK = _mask(r.ground for r in RULES if r.status in ELIGIBLE)
BLOCKING_MASK = _mask(r.ground for r in RULES if r.status not in ELIGIBLE)
KEEPING_MASK = _mask(KEEPING_OFF)


def build_flags(db: BulkConnection, table: str, contexts: dict[str, Context],
                officer: str | None) -> None:
    """A temporary table of person_id, region and, per context suffix, the flags; the
    flag of another file is set once every person's own flags are known."""
    columns = [c for suffix, ctx in contexts.items() for c in flag_columns_sql(ctx, suffix)]
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TEMPORARY TABLE {table} AS SELECT f.person_id, f.region, "
               f"{', '.join(columns)} FROM ({facts_sql(officer, db.dialect)}) f")
    for suffix in contexts:
        hold_in_bulk(db, table, suffix, ELIGIBLE_MASK, BLOCKING_MASK, KEEPING_MASK,
                     BIT[OTHER_FILE_GROUND])


@dataclass(frozen=True)
class Verdict:
    status: str
    ground: str | None  # None: the dated deferment ending last (the dates decide)
    grounds: str


def distinct_verdicts(db: BulkConnection, table: str, suffix: str = "") -> dict[int, Verdict]:
    words = db.fetch_arrow(f"SELECT DISTINCT bits{suffix} AS bits FROM {table}")
    return {b: verdict(b) for b in words.column("bits").to_pylist()}


def verdict(bits: int) -> Verdict:
    status, ground, grounds = decide_grounds(grounds_of(int(bits)))
    return Verdict(status, ground, ",".join(grounds))


def build_verdicts(db: BulkConnection, table: str, verdicts: dict[int, Verdict]) -> None:
    db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute(f"CREATE TEMPORARY TABLE {table} (bits INTEGER PRIMARY KEY, status VARCHAR(30), "
               "ground VARCHAR(40), grounds TEXT)")
    rows = [f"({bits}, {text_sql(v.status)}, "
            f"{text_sql(v.ground) if v.ground else 'NULL'}, {text_sql(v.grounds)})"
            for bits, v in sorted(verdicts.items())]
    for start in range(0, len(rows), 200):
        db.execute(f"INSERT INTO {table} VALUES {', '.join(rows[start:start + 200])}")


def _has(ground: str, suffix: str) -> str:
    return f"(f.bits{suffix} & {BIT[ground]}) <> 0"


def _latest_dated_sql(suffix: str) -> tuple[str, str]:
    """(ground, until) of the dated deferment that ends last; ties go to the first listed."""
    dated = [r.ground for r in DATED if r.status == "deferred"]
    ground_whens, date_whens = [], []
    for i, g in enumerate(dated):
        parts = [_has(g, suffix)]
        for j, other in enumerate(dated):
            if j != i:
                op = ">" if j < i else ">="
                parts.append(f"(NOT {_has(other, suffix)} OR f.d_{g}{suffix} {op} "
                             f"f.d_{other}{suffix})")
        cond = " AND ".join(parts)
        ground_whens.append(f"WHEN {cond} THEN {text_sql(g)}")
        date_whens.append(f"WHEN {cond} THEN f.d_{g}{suffix}")
    if not dated:
        return "NULL", "NULL"
    return f"CASE {' '.join(ground_whens)} END", f"CASE {' '.join(date_whens)} END"


def results_sql(flags: str, verdicts: str, suffix: str = "") -> str:
    """SELECT person_id, region, status, ground, grounds, until, subject_from."""
    latest_ground, latest_until = _latest_dated_sql(suffix)
    single = " ".join(f"WHEN {text_sql(r.ground)} THEN f.d_{r.ground}{suffix}"
                      for r in DATED if r.status == "deferred")
    until = f"CASE v.ground {single} END" if single else "NULL"
    subject = [f"f.d_{r.ground}{suffix}" for r in DATED if r.status == "not_subject"]
    subject_from = (subject[0] if len(subject) == 1 else
                    f"coalesce({', '.join(subject)})" if subject else "NULL")
    return (f"SELECT f.person_id, f.region, v.status, coalesce(v.ground, {latest_ground}) "
            f"AS ground, v.grounds, CASE WHEN v.status <> 'deferred' THEN NULL "
            f"WHEN v.ground IS NULL THEN {latest_until} ELSE {until} END AS until, "
            f"{subject_from} AS subject_from "
            f"FROM {flags} f JOIN {verdicts} v ON v.bits = f.bits{suffix}")


def stage(db: BulkConnection, ctx: Context, officer: str | None) -> str:
    """Flags and verdicts for one law on one date; returns the results SELECT."""
    build_flags(db, "elig_flags", {"": ctx}, officer)
    build_verdicts(db, "elig_verdicts", distinct_verdicts(db, "elig_flags"))
    return results_sql("elig_flags", "elig_verdicts")


@dataclass(frozen=True)
class Evaluation:
    run_id: int
    as_of: date
    law: str
    persons: int
    counts: list[tuple[str | None, str, int]]  # (region, status, persons)
    seconds: float


def context_for(store: Store, law: Law, as_of: date) -> Context:
    return Context(as_of, law.values_on(as_of), store.dialect)


def require_resolved(db: BulkConnection) -> int:
    run = db.scalar("SELECT max(id) FROM resolve_runs")
    if run is None:
        raise MusterError("The register has not been resolved yet: there are no persons to "
                          "evaluate.", hint="Run `muster resolve` after ingesting extracts.")
    return int(run)


def count_by_region(db: BulkConnection, table: str,
                    verdicts: dict[int, Verdict]) -> list[tuple[str | None, str, int]]:
    rows = db.fetch_arrow(f"SELECT region, bits, count(*) AS n FROM {table} "
                          "GROUP BY region, bits").to_pylist()
    counts: dict[tuple[str | None, str], int] = {}
    for r in rows:
        key = (r["region"], verdicts[r["bits"]].status)
        counts[key] = counts.get(key, 0) + int(r["n"])
    return sorted(((region, status, n) for (region, status), n in counts.items()),
                  key=lambda c: (c[0] or "", c[1]))


def evaluate(store: Store, profile: Profile, as_of: date, law: Law | None = None,
             progress: Callable[[str], None] | None = None) -> Evaluation:
    """Decide every person's status on ``as_of`` and store it as a new evaluation run.

    An earlier run for the same date is marked superseded and its results dropped:
    the register keeps one current answer per date, and the run headers as history.
    """
    step = progress or (lambda _text: None)
    law = law or load_law(profile)
    ctx = context_for(store, law, as_of)
    started = datetime.now(UTC)
    with bulk_transaction(store) as db:
        lock_register(db)  # the persons it reads do not change under it
        resolve_run = require_resolved(db)
        run_id = db.next_id("eligibility_runs")
        day = ctx.date(as_of)
        db.execute(f"UPDATE eligibility_runs SET superseded_by = {run_id} "
                   f"WHERE as_of = {day} AND superseded_by IS NULL")
        db.execute("DELETE FROM eligibility_results WHERE run_id IN (SELECT id FROM "
                   f"eligibility_runs WHERE superseded_by = {run_id})")
        step("applying the rules to every person")
        build_flags(db, "elig_flags", {"": ctx}, officer_source(profile))
        verdicts = distinct_verdicts(db, "elig_flags")
        build_verdicts(db, "elig_verdicts", verdicts)
        step("writing the results")
        columns = ", ".join(RESULT_COLUMNS)
        db.execute(f"INSERT INTO eligibility_results (run_id, {columns}) SELECT {run_id}, "
                   f"{columns} FROM ({results_sql('elig_flags', 'elig_verdicts')}) e")
        counts = count_by_region(db, "elig_flags", verdicts)
        persons = sum(c[2] for c in counts)
        db.append("eligibility_runs", pa.Table.from_pylist([{
            "id": run_id, "as_of": as_of, "law_name": law.name, "law_version": law.version,
            "law_sha256": law.sha256, "law_text": law.text, "profile": profile.name,
            "resolve_run": resolve_run, "started_at": started, "finished_at": datetime.now(UTC),
            "persons": persons,
        }]))
        db.commit()
    seconds = (datetime.now(UTC) - started).total_seconds()
    return Evaluation(run_id, as_of, law.label, persons, counts, seconds)


EXPORT_COLUMNS = ("person_id, status, ground, CASE WHEN status = 'deferred' THEN until "
                  "WHEN ground = 'under_age' THEN subject_from END AS until")


def decisions(store: Store, profile: Profile, as_of: date, law: Law | None = None,
              columns: str = "*", where: Iterable[str] = ()) -> pa.Table:
    """Every person's result on ``as_of`` (or those ``where`` selects), computed afresh,
    written nowhere: ``person_id, region, status, ground, grounds, until, subject_from``."""
    ctx = context_for(store, law or load_law(profile), as_of)
    conditions = " AND ".join(where)
    with bulk_transaction(store) as db:
        require_resolved(db)
        select = stage(db, ctx, officer_source(profile))
        return db.fetch_arrow(f"SELECT {columns} FROM ({select}) e"
                              + (f" WHERE {conditions}" if conditions else "")
                              + " ORDER BY person_id")


def export_eligibility(store: Store, profile: Profile, as_of: date, out: Path) -> int:
    """Write ``person_id,status,ground,until`` for every person, freshly decided.

    until: a deferment's last day, or for someone not subject by age the day they
    become subject.
    """
    table = decisions(store, profile, as_of, columns=EXPORT_COLUMNS)
    pacsv.write_csv(table, out)
    return int(table.num_rows)
