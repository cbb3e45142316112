"""Cases: what a person or an officer asks the register to look at, and the answers.

    kind             opened by                       decided as
    clarification    muster (needs_clarification,    resolved (values verified) | closed
                     a golden conflict) or officer
    correction       a citizen (proposed values)     approved | rejected
    deferment_claim  a citizen (ground + evidence)   granted | refused
    appeal           a citizen (against a selection) granted | refused

Every opening and decision is an event of the case (who, when, why) and of the
person's history. A person with any open case is never selected for call-up.
"""

from __future__ import annotations

import csv
import getpass
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from muster.eligibility.rules import RULES
from muster.errors import ConfigError, ConflictError, MusterError, NotFound
from muster.limits import NAME_LENGTH
from muster.store import Reader, Store, reading
from muster.store.schema import (
    case_events,
    cases,
    golden_records,
    person_events,
    persons,
)
from muster.store.together import Query, Rows

KINDS = ("clarification", "correction", "deferment_claim", "appeal")
OUTCOMES: dict[str, tuple[str, ...]] = {
    "clarification": ("resolved", "closed"),
    "correction": ("approved", "rejected"),
    "deferment_claim": ("granted", "refused"),
    "appeal": ("granted", "refused"),
}
# Outcomes that accept officer-verified values; those in REQUIRE_VALUES need some.
TAKES_VALUES = {"resolved", "approved", "granted"}
OPEN = "open"
DEFERMENT_GROUNDS = tuple(r.ground for r in RULES if r.status == "deferred")
USER_ENV = "MUSTER_USER"


def default_actor() -> str:
    """Who is acting: MUSTER_USER, else the operating-system user; a user's name, as long
    as an account's may be (the register keeps it where it keeps usernames)."""
    actor = os.environ.get(USER_ENV) or getpass.getuser()
    if len(actor) > NAME_LENGTH:
        raise MusterError(f"{USER_ENV} is {len(actor):,} characters long; a user's name is "
                          f"at most {NAME_LENGTH}.", hint=f"Set {USER_ENV} to your username.")
    return actor


@dataclass(frozen=True)
class Case:
    id: int
    person_id: str
    kind: str
    status: str
    reason: str
    detail: dict[str, Any]
    plan_id: int | None
    opened_by: str
    opened_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    events: tuple[dict[str, Any], ...] = ()


def _case(row: Any, events: tuple[dict[str, Any], ...] = ()) -> Case:
    return Case(
        id=int(row["id"]), person_id=row["person_id"], kind=row["kind"], status=row["status"],
        reason=row["reason"], detail=json.loads(row["detail"]), plan_id=row["plan_id"],
        opened_by=row["opened_by"], opened_at=row["opened_at"], decided_by=row["decided_by"],
        decided_at=row["decided_at"], decision_reason=row["decision_reason"], events=events,
    )


def history_detail(case_id: int, kind: str, action: str, actor: str, why: str) -> str:
    return f"case {case_id} ({kind}) {action} by {actor}: {why}"


def record_event(conn: sa.Connection, case_id: int, person_id: str, kind: str, action: str,
                 actor: str, why: str, at: datetime) -> None:
    """One event of the case and the same line in the person's history."""
    conn.execute(case_events.insert().values(
        case_id=case_id, person_id=person_id, at=at, actor=actor, action=action, detail=why))
    conn.execute(person_events.insert().values(
        run_id=0, at=at, kind=f"case_{action}"[:20], person_id=person_id, old_ids="[]",
        new_ids=json.dumps([person_id]),
        detail=history_detail(case_id, kind, action, actor, why)))


def require_person(conn: sa.Connection, person_id: str) -> None:
    if conn.execute(sa.select(golden_records.c.person_id).where(
            golden_records.c.person_id == person_id)).first() is not None:
        return
    successor = conn.execute(sa.select(persons.c.successor).where(
        persons.c.person_id == person_id)).scalar()
    hint = (f"{person_id} was merged into {successor}: open the case for that person."
            if successor else "Find persons with `muster person find`.")
    raise NotFound(f"There is no person {person_id!r} in the register.", hint=hint)


def require_reason(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise MusterError(f"{what} needs a reason.",
                          hint='Say why with --reason "...": it goes into the person\'s history.')
    return reason.strip()


def _question(kind: str, detail: dict[str, Any], plan_id: int | None) -> str | None:
    """What an appeal or a claim asks, in words; None for cases that may repeat."""
    if kind == "appeal":
        return f"against plan {plan_id}"
    if kind == "deferment_claim":
        return f"on the ground {detail.get('ground')}"
    return None


def _refuse_a_second(conn: sa.Connection, person_id: str, kind: str, question: str) -> None:
    """One open case per question: a form sent twice opened two, and two decisions on
    one question could disagree."""
    for row in conn.execute(sa.select(cases.c.id, cases.c.detail, cases.c.plan_id).where(
            cases.c.person_id == person_id, cases.c.kind == kind, cases.c.status == OPEN)):
        if _question(kind, json.loads(row.detail), row.plan_id) == question:
            raise ConflictError(
                f"{person_id} already has an open {kind.replace('_', ' ')} {question} "
                f"(case {row.id}).",
                hint=f"It is waiting for a decision: `muster casework show {row.id}`.")


def open_case(store: Store, person_id: str, kind: str, reason: str, detail: dict[str, Any],
              actor: str, plan_id: int | None = None) -> Case:
    """Open a case of ``kind`` for a person; returns it with its id."""
    if kind not in KINDS:
        raise MusterError(f"Unknown case kind {kind!r}.", hint=f"Kinds: {', '.join(KINDS)}.")
    reason = require_reason(reason, f"A {kind}")
    now = datetime.now(UTC)
    question = _question(kind, detail, plan_id)
    with store.engine.begin() as conn:
        require_person(conn, person_id)
        if question is not None:
            _refuse_a_second(conn, person_id, kind, question)
        case_id = int(conn.execute(cases.insert().values(
            person_id=person_id, kind=kind, status=OPEN, reason=reason,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True), plan_id=plan_id,
            opened_by=actor, opened_at=now).returning(cases.c.id)).scalar_one())
        record_event(conn, case_id, person_id, kind, "opened", actor, reason, now)
    return get_case(store, case_id)


def get_case(store: Store, case_id: int) -> Case:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).mappings().first()
        if row is None:
            raise NotFound(f"There is no case {case_id}.",
                           hint="List cases with `muster casework queue`.")
        events = conn.execute(sa.select(case_events).where(
            case_events.c.case_id == case_id).order_by(case_events.c.id)).mappings().all()
    return _case(row, tuple(dict(e) for e in events))


def require_open(case: Case) -> None:
    if case.status != OPEN:
        raise ConflictError(
            f"Case {case.id} ({case.kind}) was already decided: {case.status} by "
            f"{case.decided_by} on {case.decided_at:%Y-%m-%d} ({case.decision_reason}).",
            hint="A decided case stays decided; open a new case if something changed.")


def _cases_query(kind: str | None, status: str | None, person_id: str | None,
                 regions: tuple[str, ...] | None) -> sa.Select[Any]:
    if kind is not None and kind not in KINDS:
        raise MusterError(f"Unknown case kind {kind!r}.", hint=f"Kinds: {', '.join(KINDS)}.")
    query = sa.select(cases)
    if kind:
        query = query.where(cases.c.kind == kind)
    if status and status != "all":
        query = query.where(cases.c.status == status)
    if person_id:
        query = query.where(cases.c.person_id == person_id)
    if regions is not None:  # the persons of these regions now (an officer's queue)
        query = query.where(cases.c.person_id.in_(sa.select(golden_records.c.person_id).where(
            golden_records.c.region.in_(regions))))
    return query


def list_cases(db: Reader, kind: str | None = None, status: str | None = OPEN,
               person_id: str | None = None, limit: int | None = None,
               regions: tuple[str, ...] | None = None, offset: int = 0) -> list[Case]:
    """A queue: cases by kind and status (open by default), oldest first; ``regions``
    limits it to persons of those regions."""
    query = _cases_query(kind, status, person_id, regions).order_by(cases.c.id)
    if limit:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    with reading(db) as conn:
        return [_case(r) for r in conn.execute(query).mappings().all()]


# All of a person's cases, oldest first (``cases_of``): the service reads them with the
# rest of the person.
CASE_QUERIES = {"cases": Query(sa.select(cases).where(
    cases.c.person_id == sa.bindparam("person_id", type_=sa.String)), (cases.c.id,))}


def cases_of(rows: dict[str, Rows]) -> list[Case]:
    return [_case(r) for r in rows["cases"]]


def count_cases(store: Store, kind: str | None = None, status: str | None = OPEN,
                person_id: str | None = None,
                regions: tuple[str, ...] | None = None) -> int:
    """How many cases ``list_cases`` would list without a limit."""
    query = _cases_query(kind, status, person_id, regions)
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(query.subquery()))
                   .scalar() or 0)


def queue_counts(store: Store) -> list[tuple[str, str, int]]:
    """(kind, status, cases) for every kind and status there is."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(cases.c.kind, cases.c.status, sa.func.count())
                            .group_by(cases.c.kind, cases.c.status)).all()
    return sorted((str(k), str(s), int(n)) for k, s, n in rows)


def export_cases(store: Store, out: Path) -> int:
    """``case_id,person_id,kind,status`` for every case, by id."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(cases.c.id, cases.c.person_id, cases.c.kind,
                                      cases.c.status).order_by(cases.c.id)).all()
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["case_id", "person_id", "kind", "status"])
        writer.writerows(rows)
    return len(rows)


def parse_values(pairs: list[str]) -> dict[str, str]:
    """``["field=value", ...]`` -> {field: value}; every malformed pair reported at once."""
    values: dict[str, str] = {}
    problems = []
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            problems.append(f"{pair!r} is not FIELD=VALUE")
            continue
        values[field.strip()] = value.strip()
    if problems:
        raise ConfigError("Values must be written FIELD=VALUE:", problems=problems,
                          hint="Example: --value birth_date=1999-03-10 --value sex=M")
    return values
