"""One person's decision, rule by rule, with the facts and where each came from.

The same rule objects as the bulk run decide here in Python (three-valued, as SQL
does), so an explanation and the stored result agree; a test holds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from muster.eligibility.dates import age_on
from muster.eligibility.expr import Context
from muster.eligibility.law import Law, load_law, officer_source
from muster.eligibility.other_files import other_files
from muster.eligibility.rules import (
    ELIGIBLE,
    IDENTITY_FIELDS,
    KEEPING_OFF,
    NEWER,
    NEWER_VALUE_DATES,
    OTHER_FILE_GROUND,
    RULES,
    Decision,
    Rule,
    decide,
    fact_fields,
    newer_fact,
    newer_values_sql,
    record_in_review_sql,
    unreadable_values_sql,
)
from muster.errors import MusterError, NotFound
from muster.profile import Profile
from muster.store import Reader, Store, reading
from muster.store.provenance import value_rows
from muster.store.schema import (
    eligibility_results,
    eligibility_runs,
    golden_provenance,
    golden_records,
    golden_values,
    persons,
)
from muster.store.together import Query, fetch_together


@dataclass(frozen=True)
class Fact:
    field: str
    value: Any
    source: str | None  # the source record the golden value came from
    record_id: str | None
    others: tuple[str, ...]  # other values the person's sources hold, "value (source:id)"
    conflict: bool


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    applies: bool
    condition: str  # the rule's condition in words, with the parameter values in force
    date: date | None
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class ParameterInForce:
    name: str
    value: Any
    since: date | None
    description: str


@dataclass(frozen=True)
class Explanation:
    person_id: str
    as_of: date
    law: Law
    age: int | None
    decision: Decision
    outcomes: tuple[RuleOutcome, ...]
    parameters: tuple[ParameterInForce, ...]
    identity_conflict: bool
    in_review: tuple[str, ...]  # the person's records in review, as SOURCE:RECORD_ID
    # Other files that may be theirs and keep them off the call-up (other_files.py).
    other_files: tuple[str, ...]
    # Values about their grounds that could not be read, as SOURCE:RECORD_ID FIELD 'RAW'
    # (PROBLEM), unless an officer-verified value settles the field.
    unreadable: tuple[str, ...]
    # Values of records newer than the chosen value's (rules.NEWER_VALUE_DATES), as
    # SOURCE:RECORD_ID FIELD VALUE (DATE), each field's newest first.
    newer_values: tuple[str, ...]
    stored: dict[str, Any] | None  # the stored result of the current run for as_of, if any


def person_facts(conn: sa.Connection, person_id: str, officer: str | None,
                 in_review: tuple[str, ...] | None = None,
                 unreadable: tuple[str, ...] | None = None,
                 newer: list[NewerValue] | None = None
                 ) -> tuple[dict[str, Any], dict[str, Fact]]:
    """The golden facts the rules read (plus the derived flags) and their provenance;
    ``in_review``, ``unreadable`` and ``newer``: the person's records in review, values
    that could not be read and values of newer records, when the caller has read them."""
    row = conn.execute(sa.select(golden_records, golden_provenance.c.fields.label("provenance"))
                       .outerjoin(golden_provenance,
                                  golden_provenance.c.person_id == golden_records.c.person_id)
                       .where(golden_records.c.person_id == person_id)).mappings().first()
    if row is None:
        retired = conn.execute(sa.select(persons.c.successor).where(
            persons.c.person_id == person_id)).scalar()
        hint = (f"{person_id} was merged into {retired}; explain that person."
                if retired else "Find persons with `muster person find`.")
        raise NotFound(f"There is no person {person_id!r} in the register.", hint=hint)
    facts = {f: row[f] for f in ("region", *fact_fields())}
    contested = conn.execute(sa.select(golden_values).where(
        golden_values.c.person_id == person_id)).mappings()
    values = value_rows(person_id, row, row["provenance"], contested)
    provenance: dict[str, Fact] = {}
    conflict = False
    for field in facts:
        rows = [v for v in values if v["field"] == field]
        chosen = next((v for v in rows if v["chosen"]), None)
        others = tuple(f"{v['value']} ({v['source']}:{v['record_id']})"
                       for v in rows if not v["chosen"])
        is_conflict = bool(chosen and chosen["conflict"])
        provenance[field] = Fact(field, facts[field], chosen["source"] if chosen else None,
                                 chosen["record_id"] if chosen else None, others, is_conflict)
        # Settled when the chosen value is the officer-verified one (casework, issue 5).
        if field in IDENTITY_FIELDS and is_conflict and chosen and chosen["source"] != officer:
            conflict = True
    facts["identity_conflict"] = int(conflict)
    if in_review is None:
        in_review = records_in_review(conn, person_id)
    facts["identity_review"] = int(bool(in_review))
    facts["other_file"] = 0  # decide_with_other_files() sets it
    if unreadable is None:
        unreadable = unreadable_values(conn, person_id, officer)
    facts["unreadable_value"] = int(bool(unreadable))
    if newer is None:
        newer = newer_values(conn, person_id)
    for field in NEWER_VALUE_DATES:
        newest = next((n for n in newer if n.field == field), None)
        facts[NEWER + field] = newer_fact(field, newest.value) if newest else None
    return facts, provenance


@dataclass(frozen=True)
class NewerValue:
    record: str  # SOURCE:RECORD_ID
    field: str
    value: str
    dated: Any

    def __str__(self) -> str:
        return f"{self.record} {self.field} {self.value} ({self.dated})"


def newer_values(conn: sa.Connection, person_id: str) -> list[NewerValue]:
    """The person's values from records newer than the chosen value's
    (rules.newer_values_sql), by field, each field's newest first (as the bulk run
    chooses it: on a tie, the greatest value)."""
    rows = conn.execute(sa.text(f"SELECT * FROM ({newer_values_sql()}) n "
                                "WHERE n.person_id = :person_id "
                                "ORDER BY n.field, n.dated DESC, n.value DESC"),
                        {"person_id": person_id}).mappings().all()
    return [NewerValue(f"{r['source']}:{r['record_id']}", str(r["field"]), str(r["value"]),
                       r["dated"]) for r in rows]


def unreadable_values(conn: sa.Connection, person_id: str,
                      officer: str | None) -> tuple[str, ...]:
    """The values of the person's records about a ground that could not be read
    (rules.unreadable_values_sql), as SOURCE:RECORD_ID FIELD 'RAW' (PROBLEM)."""
    sql = unreadable_values_sql(officer, conn.dialect.name)
    rows = conn.execute(sa.text(f"{sql} AND p.person_id = :person_id"),
                        {"person_id": person_id}).mappings().all()
    return tuple(sorted(f"{r['source']}:{r['record_id']} {r['field']} {r['raw_value']!r} "
                        f"({r['problem']})" for r in rows))


def records_in_review(conn: sa.Connection, person_id: str) -> tuple[str, ...]:
    """The person's records in review (rules.record_in_review_sql), as SOURCE:RECORD_ID."""
    rows = conn.execute(sa.text(
        "SELECT p.source, p.record_id FROM person_records p WHERE p.person_id = :person_id "
        f"AND ({record_in_review_sql('p.source', 'p.record_id')})"),
        {"person_id": person_id}).all()
    return tuple(sorted(f"{source}:{record_id}" for source, record_id in rows))


def decide_person(facts: dict[str, Any], ctx: Context) -> tuple[Decision, list[RuleOutcome]]:
    applied: dict[str, date | None] = {}
    outcomes = []
    for rule in RULES:
        applies = rule.applies(facts, ctx)
        when = rule.date.compute(facts, ctx) if rule.date and applies else None
        if applies:
            applied[rule.ground] = when
        outcomes.append(RuleOutcome(rule, applies, rule.when.describe(ctx), when, ()))
    return decide(applied), outcomes


def decide_with_other_files(conn: sa.Connection, person_id: str, facts: dict[str, Any],
                            ctx: Context, officer: str | None
                            ) -> tuple[Decision, list[RuleOutcome], tuple[str, ...]]:
    """The person's decision as the bulk run makes it: one who would be eligible is held
    while another file that may be theirs carries a ground in KEEPING_OFF; returns those
    files too. ``facts`` (from ``person_facts``) gets its ``other_file`` flag."""
    decision, outcomes = decide_person(facts, ctx)
    if decision.status not in ELIGIBLE:
        return decision, outcomes, ()
    keeping = tuple(other for other in other_files(conn, person_id)[0]
                    if _keeps_off(conn, other, ctx, officer))
    if not keeping:
        return decision, outcomes, ()
    facts["other_file"] = 1
    decision, outcomes = decide_person(facts, ctx)
    return decision, outcomes, keeping


def _keeps_off(conn: sa.Connection, person_id: str, ctx: Context, officer: str | None) -> bool:
    facts, _ = person_facts(conn, person_id, officer)
    return any(r.applies(facts, ctx) for r in RULES if r.ground in KEEPING_OFF)


def explain_person(store: Store, profile: Profile, person_id: str, as_of: date,
                   law: Law | None = None) -> Explanation:
    law = law or load_law(profile)
    ctx = Context(as_of, law.values_on(as_of), store.dialect)
    with store.engine.connect() as conn:
        in_review = records_in_review(conn, person_id)
        officer = officer_source(profile)
        unreadable = unreadable_values(conn, person_id, officer)
        newer = newer_values(conn, person_id)
        facts, provenance = person_facts(conn, person_id, officer, in_review, unreadable,
                                         newer)
        decision, outcomes, others = decide_with_other_files(conn, person_id, facts, ctx,
                                                             officer)
        stored = _stored(conn, person_id, as_of)
    outcomes = [RuleOutcome(o.rule, o.applies, o.condition, o.date,
                            tuple(provenance[f] for f in o.rule.fields() if f in provenance))
                for o in outcomes]
    since = law.started_on(as_of)
    parameters = tuple(ParameterInForce(name, ctx.values[name], since[name], p.description)
                       for name, p in law.parameters.items())
    birth = facts.get("birth_date")
    return Explanation(
        person_id=person_id, as_of=as_of, law=law,
        age=age_on(birth, as_of) if birth else None, decision=decision,
        outcomes=tuple(outcomes), parameters=parameters,
        identity_conflict=bool(facts["identity_conflict"]), in_review=in_review,
        other_files=others, unreadable=unreadable, stored=stored,
        newer_values=tuple(str(n) for n in newer),
    )


def _stored(conn: sa.Connection, person_id: str, as_of: date) -> dict[str, Any] | None:
    run = conn.execute(sa.select(eligibility_runs).where(
        eligibility_runs.c.as_of == as_of, eligibility_runs.c.superseded_by.is_(None)
    ).order_by(eligibility_runs.c.id.desc())).mappings().first()
    if run is None:
        return None
    row = conn.execute(sa.select(eligibility_results).where(
        eligibility_results.c.run_id == run["id"],
        eligibility_results.c.person_id == person_id)).mappings().first()
    if row is None:
        return None
    return {**dict(row), "law": f"{run['law_name']} {run['law_version']}",
            "law_sha256": run["law_sha256"], "evaluated_at": run["finished_at"]}


def newest_evaluation() -> sa.Select[Any]:
    """The newest current evaluation (``id``, ``as_of``): the latest date's run that no
    later run for that date replaced."""
    e = eligibility_runs.c
    return (sa.select(e.id, e.as_of).where(e.superseded_by.is_(None))
            .order_by(e.as_of.desc(), e.id.desc()).limit(1))


def _result_queries() -> dict[str, Query]:
    r, e = eligibility_results.c, eligibility_runs.c
    return {"eligibility": Query(sa.select(
        r.run_id, e.as_of, e.law_name, e.law_version, e.law_sha256,
        e.finished_at.label("evaluated_at"), r.status, r.ground, r.grounds, r.until,
        r.subject_from, r.region,
    ).join(eligibility_runs, e.id == r.run_id).where(
        r.person_id == sa.bindparam("person_id", type_=sa.String), e.superseded_by.is_(None),
    ), (e.as_of.desc(), e.id.desc()))}


# A person's stored result in every current evaluation (newest date first), as
# ``stored_results`` reads it; the service reads it with the rest of the person.
RESULT_QUERIES = _result_queries()


def stored_results(db: Reader, person_id: str) -> list[dict[str, Any]]:
    """The person's stored result in every current evaluation (newest date first)."""
    with reading(db) as conn:
        return fetch_together(conn, RESULT_QUERIES, {"person_id": person_id})["eligibility"]


def other_files_holding(conn: sa.Connection, person_id: str,
                        results: list[dict[str, Any]] | None = None) -> list[str]:
    """The other files (other_files.py) that hold the person in a current evaluation:
    files that may be theirs whose stored result there carries a ground in KEEPING_OFF.
    ``results``: their ``stored_results``, when the caller has read them."""
    if results is None:
        results = stored_results(conn, person_id)
    runs = [int(r["run_id"]) for r in results if OTHER_FILE_GROUND in r["grounds"].split(",")]
    candidates = other_files(conn, person_id)[0] if runs else []
    if not candidates:
        return []
    r = eligibility_results.c
    rows = conn.execute(sa.select(r.person_id, r.grounds).where(
        r.run_id.in_(runs), r.person_id.in_(candidates))).all()
    return sorted({p for p, grounds in rows if set(grounds.split(",")) & set(KEEPING_OFF)})


def require_person_id(person_id: str) -> str:
    if not person_id.strip():
        raise MusterError("No person id given.", hint="Write one, e.g. P000000042.")
    return person_id.strip()
