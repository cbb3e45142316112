"""Opening the citizen's cases and recording an officer's decisions.

A decision is final for its case. What it does besides closing the case:

- values the officer verified (a resolved clarification, an approved correction's
  proposed values, a granted claim's facts) enter as the registration office's
  source record, pinned to the person (verified.py);
- a granted appeal withdraws the person's notice from the contested plan; a granted
  deferment claim turns a delivered notice into "deferred" and withdraws one not yet
  delivered;
- the person's eligibility is decided again at once (reevaluate.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from muster.casework.cases import (
    DEFERMENT_GROUNDS,
    OUTCOMES,
    TAKES_VALUES,
    Case,
    get_case,
    open_case,
    record_event,
    require_open,
    require_reason,
)
from muster.casework.reevaluate import Reevaluation, reevaluate
from muster.casework.verified import check_values, record_verified
from muster.errors import ConflictError, MusterError, NotFound
from muster.profile import Profile
from muster.store import Store
from muster.store.schema import callup_selection, cases, notices
from muster.workspace import Workspace


@dataclass(frozen=True)
class Decided:
    case: Case
    record: tuple[str, str] | None  # (source, record_id) of the officer-verified values
    notices: tuple[tuple[int, str, str], ...]  # (notice id, from, to)
    reevaluation: Reevaluation


def propose_correction(store: Store, profile: Profile, person_id: str, values: dict[str, str],
                       reason: str, actor: str) -> Case:
    """A citizen proposes corrected values; an officer approves or rejects them."""
    if not values:
        raise MusterError("A correction needs the corrected values.",
                          hint="Example: --value birth_date=1999-03-10")
    check_values(profile, values)
    return open_case(store, person_id, "correction", reason, {"values": values}, actor)


def claim_deferment(store: Store, person_id: str, ground: str, evidence: str, reason: str,
                    actor: str) -> Case:
    """A deferment claim: the ground in the law it rests on, and the evidence offered."""
    if ground not in DEFERMENT_GROUNDS:
        raise MusterError(f"{ground!r} is not a deferment ground of the law.",
                          hint=f"Grounds: {', '.join(DEFERMENT_GROUNDS)}.")
    if not evidence.strip():
        raise MusterError("A deferment claim needs a reference to its evidence.",
                          hint='Example: --evidence "university certificate 2024/118"')
    return open_case(store, person_id, "deferment_claim", reason,
                     {"ground": ground, "evidence": evidence.strip()}, actor)


def lodge_appeal(store: Store, person_id: str, plan_id: int, reason: str, actor: str) -> Case:
    """An appeal against the person's selection in a plan; a delivered notice becomes
    "appealed"."""
    from muster.notices.lifecycle import transition_in

    with store.engine.connect() as conn:
        selected = conn.execute(sa.select(callup_selection.c.rank).where(
            callup_selection.c.plan_id == plan_id,
            callup_selection.c.person_id == person_id)).first()
    if selected is None:
        raise NotFound(f"{person_id} was not selected in plan {plan_id}: there is nothing "
                       "to appeal against.", hint="Check with `muster export callup PLAN_ID`.")
    case = open_case(store, person_id, "appeal", reason, {"plan_id": plan_id}, actor,
                     plan_id=plan_id)
    with store.engine.begin() as conn:
        notice = conn.execute(sa.select(notices.c.id, notices.c.status).where(
            notices.c.plan_id == plan_id, notices.c.person_id == person_id)).first()
        if notice is not None and notice.status == "delivered":
            transition_in(conn, int(notice.id), "appealed", actor,
                          reason=f"appeal (case {case.id}) lodged: {case.reason}")
    return case


def _values_for(case: Case, outcome: str, values: dict[str, str]) -> dict[str, str]:
    if outcome not in TAKES_VALUES:
        if values:
            raise MusterError(f"A {case.kind} that is {outcome} records no values.",
                              hint="Drop the --value options.")
        return {}
    if case.kind == "correction":
        return {**case.detail.get("values", {}), **values}
    if not values and case.kind == "clarification":
        raise MusterError("Resolving a clarification records the values the officer verified.",
                          hint="Add --value FIELD=VALUE for each, or decide it `closed` "
                          "with a reason if nothing needs changing.")
    if not values and case.kind == "deferment_claim":
        raise MusterError(
            f"Granting a claim records the fact that establishes its ground "
            f"({case.detail.get('ground')}); the law then defers the person.",
            hint="Example: --value student_until=2026-06-30 (student), "
            "--value dependents=2, --value occupation=physician.")
    return values


def _notice_effects(store: Store, case: Case, outcome: str, actor: str,
                    why: str) -> list[tuple[int, str, str]]:
    from muster.notices.lifecycle import ACTIVE, transition_in

    if outcome != "granted" or case.kind not in ("appeal", "deferment_claim"):
        return []
    moved = []
    with store.engine.begin() as conn:
        query = sa.select(notices.c.id, notices.c.status).where(
            notices.c.person_id == case.person_id, notices.c.status.in_(ACTIVE))
        if case.kind == "appeal":
            query = query.where(notices.c.plan_id == case.plan_id)
        for notice in conn.execute(query).all():
            to = ("deferred" if case.kind == "deferment_claim"
                  and notice.status in ("delivered", "appealed") else "withdrawn")
            transition_in(conn, int(notice.id), to, actor,
                          reason=f"{case.kind} (case {case.id}) granted: {why}")
            moved.append((int(notice.id), str(notice.status), to))
    return moved


def decide_case(ws: Workspace, store: Store, profile: Profile, case_id: int, outcome: str,
                reason: str, actor: str, values: dict[str, str] | None = None) -> Decided:
    """Record an officer's decision on an open case, with its effects."""
    case = get_case(store, case_id)
    require_open(case)
    allowed = OUTCOMES[case.kind]
    if outcome not in allowed:
        raise MusterError(f"A {case.kind} is decided {' or '.join(allowed)}, not {outcome!r}.",
                          hint=f"muster casework decide {case_id} {allowed[0]} --reason ...")
    why = require_reason(reason, "A decision")
    verified = _values_for(case, outcome, values or {})
    now = datetime.now(UTC)
    record = (record_verified(ws, store, profile, case.id, case.person_id, verified, now.date())
              if verified else None)
    with store.engine.begin() as conn:
        done = conn.execute(cases.update().where(cases.c.id == case.id,
                                                 cases.c.status == "open").values(
            status=outcome, decided_by=actor, decided_at=now, decision_reason=why))
        if done.rowcount != 1:
            raise ConflictError(f"Case {case.id} was decided by someone else meanwhile.",
                                hint=f"See `muster casework show {case.id}`.")
        detail = f"{outcome}: {why}"
        if record:
            detail += (f" (verified {', '.join(f'{k}={v}' for k, v in sorted(verified.items()))}"
                       f" as {record[0]}:{record[1]})")
        record_event(conn, case.id, case.person_id, case.kind, "decided", actor, detail, now)
    moved = _notice_effects(store, case, outcome, actor, why)
    again = reevaluate(store, profile, case.person_id, resolve_again=record is not None)
    return Decided(get_case(store, case.id), record, tuple(moved), again)
