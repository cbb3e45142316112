"""What the casework, plan, notice and review endpoints take and return (OpenAPI schemas)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from muster.callup import Plan
from muster.casework.cases import Case
from muster.casework.decide import Decided
from muster.limits import MAX_ID
from muster.service.actions_callup import NoticeView


def _utc(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; muster writes them in UTC. An RFC 3339
    # date-time (the OpenAPI format) needs its offset.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]
Reason = Annotated[str, Field(min_length=1, max_length=2000,
                              description="Why: kept in the person's history.")]
FieldName = Annotated[str, Field(min_length=1, max_length=40)]
FieldText = Annotated[str, Field(max_length=500)]
Values = Annotated[dict[FieldName, FieldText], Field(
    max_length=40, description="Canonical field -> value, e.g. {\"birth_date\": \"1999-03-10\"}")]


class CaseEvent(BaseModel):
    at: Timestamp
    actor: str
    action: str  # opened | decided
    detail: str


class CaseOut(BaseModel):
    id: int
    person_id: str
    kind: str  # clarification | correction | deferment_claim | appeal
    status: str  # open, or the decision
    reason: str
    detail: dict[str, Any]  # proposed values, ground and evidence, contested plan
    plan_id: int | None
    opened_by: str
    opened_at: Timestamp
    decided_by: str | None
    decided_at: Timestamp | None
    decision_reason: str | None
    events: list[CaseEvent]  # one case (GET /cases/{id}); empty in lists


class CasePage(BaseModel):
    cases: list[CaseOut]
    total: int
    limit: int
    offset: int


class ClarificationIn(BaseModel):
    reason: Reason


class VerifiedIn(BaseModel):
    values: Values
    reason: Reason


class CorrectionIn(BaseModel):
    values: Values
    reason: Reason


class ClaimIn(BaseModel):
    ground: Annotated[str, Field(min_length=1, max_length=60,
                                 description="A deferment ground of the law, e.g. student")]
    evidence: Annotated[str, Field(min_length=1, max_length=500,
                                   description="Reference to the evidence offered")]
    reason: Reason


class AppealIn(BaseModel):
    plan_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    reason: Reason


class DecisionIn(BaseModel):
    outcome: Annotated[str, Field(description="clarification: resolved|closed; correction: "
                                  "approved|rejected; deferment_claim, appeal: granted|refused",
                                  pattern="^(resolved|closed|approved|rejected|granted|refused)$")]
    reason: Reason
    values: Values = {}


class NoticeMove(BaseModel):
    notice_id: int
    from_status: str
    to_status: str


class Reevaluated(BaseModel):
    as_of: date
    person_id: str
    status: str
    ground: str


class DecisionOut(BaseModel):
    """The decided case and what the decision did."""

    case: CaseOut
    record: str | None  # "source:record_id" of the officer-verified values
    resolve_run: int | None
    notices: list[NoticeMove]
    eligibility: list[Reevaluated]


class PlanOut(BaseModel):
    id: int
    as_of: date
    category: str
    eligibility_run: int
    law: str
    seed: str
    quotas: dict[str, int]
    candidates: int
    selected: int
    shortfall: dict[str, int]
    created_by: str
    created_at: Timestamp
    digest: str


class PlanList(BaseModel):
    plans: list[PlanOut]


class RegionLineOut(BaseModel):
    region: str
    quota: int
    candidates: int
    selected: int
    shortfall: int


class SelectedOut(BaseModel):
    region: str
    rank: int
    person_id: str
    notice_status: str | None


class PlanDetailOut(BaseModel):
    plan: PlanOut
    regions: list[RegionLineOut]
    notices: dict[str, int]
    selection: list[SelectedOut] | None  # None: counts only (analysts)
    selection_total: int
    limit: int
    offset: int


class NotCallable(BaseModel):
    person_id: str
    region: str
    rank: int
    why: str


class PlanCheckOut(BaseModel):
    plan_id: int
    ok: bool
    digest: str
    differences: list[str]
    not_callable: list[NotCallable] | None  # None: counts only (analysts)
    not_callable_count: int


class NoticeEventOut(BaseModel):
    at: Timestamp
    actor: str
    from_status: str | None
    to_status: str
    evidence: str | None
    reason: str | None


class NoticeOut(BaseModel):
    id: int
    plan_id: int
    person_id: str
    region: str
    rank: int
    status: str
    issued_at: Timestamp
    updated_at: Timestamp
    events: list[NoticeEventOut]


class NoticeList(BaseModel):
    notices: list[NoticeOut]


class NoticeEventIn(BaseModel):
    to: Annotated[str, Field(description="sent | delivered | reported | deferred | appealed | "
                             "withdrawn", pattern="^(sent|delivered|reported|deferred|"
                             "appealed|withdrawn)$")]
    evidence: Annotated[str | None, Field(max_length=500, description=(
        "Required for delivered: a receipt, registered-mail number, signature"))] = None
    reason: Annotated[str | None, Field(max_length=2000)] = None


class ReviewPairOut(BaseModel):
    id: int
    kind: str
    source_l: str
    record_id_l: str
    person_l: str | None
    source_r: str
    record_id_r: str
    person_r: str | None
    match_weight: float | None
    detail: str
    holds_decision: bool = Field(description=(
        "The newest eligibility evaluation holds a person of this pair for it (ground "
        "identity_in_review): answering the pair, then resolving and evaluating again, "
        "lets that person be decided. These pairs come first."))
    pairs_between: int = Field(description=(
        "Open pairs of records between the two persons, this one included: an answer on "
        "this pair answers them all. The list shows one pair per two persons unless "
        "every_pair is asked for."))


class ReviewDecisionIn(BaseModel):
    decision: Annotated[Literal["same", "different"], Field(
        description="same: one person; different: two persons, never to be linked")]
    reason: Reason


class PairDecisionOut(BaseModel):
    """An officer's decision on two records as kept; the persons change at the next
    resolution run."""

    decision: str
    record_l: str
    record_r: str
    actor: str
    reason: str
    decided_at: datetime


class ReviewDecisionOut(PairDecisionOut):
    """The answer to a review pair."""

    pair_id: int


class OtherFileDecisionOut(PairDecisionOut):
    """The answer to whether another file that holds a person is theirs, on a record of
    each file."""

    person_id: str
    other_id: str


class ReviewPage(BaseModel):
    pairs: list[ReviewPairOut]
    total: int
    limit: int
    offset: int


def case_out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.id, person_id=case.person_id, kind=case.kind, status=case.status,
        reason=case.reason, detail=case.detail, plan_id=case.plan_id, opened_by=case.opened_by,
        opened_at=case.opened_at, decided_by=case.decided_by, decided_at=case.decided_at,
        decision_reason=case.decision_reason,
        events=[CaseEvent(at=e["at"], actor=e["actor"], action=e["action"],
                          detail=e["detail"]) for e in case.events])


def notice_out(notice: NoticeView) -> NoticeOut:
    return NoticeOut(
        id=notice.id, plan_id=notice.plan_id, person_id=notice.person_id, region=notice.region,
        rank=notice.rank, status=notice.status, issued_at=notice.issued_at,
        updated_at=notice.updated_at, events=[NoticeEventOut(**e) for e in notice.events])


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        id=plan.id, as_of=plan.as_of, category=plan.category,
        eligibility_run=plan.eligibility_run, law=plan.law, seed=plan.seed, quotas=plan.quotas,
        candidates=plan.candidates, selected=plan.selected, shortfall=plan.shortfall,
        created_by=plan.created_by, created_at=plan.created_at, digest=plan.digest)


def decision_out(decided: Decided) -> DecisionOut:
    return DecisionOut(
        case=case_out(decided.case),
        record=":".join(decided.record) if decided.record else None,
        resolve_run=decided.reevaluation.resolve_run,
        notices=[NoticeMove(notice_id=n, from_status=a, to_status=b)
                 for n, a, b in decided.notices],
        eligibility=[Reevaluated(as_of=d, person_id=p, status=s, ground=g)
                     for d, p, s, g in decided.reevaluation.results])
