"""The REST API for casework, plans, notices and the review list (issue 6).

Each route parses its input and calls one function of actions.py, which checks
access, calls the library and writes the audit entry; the route turns the result
into its response model.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from muster.limits import MAX_INTEGER
from muster.resolve.decisions import PairDecision
from muster.service import actions
from muster.service.actions_cases import STATUSES
from muster.service.api import PROBLEMS, AccountDep, RowId, ServiceDep
from muster.service.models_work import (
    AppealIn,
    CaseOut,
    CasePage,
    ClaimIn,
    ClarificationIn,
    CorrectionIn,
    DecisionIn,
    DecisionOut,
    NotCallable,
    NoticeEventIn,
    NoticeList,
    NoticeOut,
    OtherFileDecisionOut,
    PlanCheckOut,
    PlanDetailOut,
    PlanList,
    RegionLineOut,
    ReviewDecisionIn,
    ReviewDecisionOut,
    ReviewPage,
    ReviewPairOut,
    SelectedOut,
    VerifiedIn,
    case_out,
    decision_out,
    notice_out,
    plan_out,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEMS)

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_INTEGER)]
KIND = "^(clarification|correction|deferment_claim|appeal)$"


@router.get("/cases", response_model=CasePage, tags=["casework"])
def list_cases(
    svc: ServiceDep, account: AccountDep,
    kind: Annotated[str | None, Query(pattern=KIND)] = None,
    status: Annotated[str, Query(pattern=f"^({'|'.join(STATUSES)})$",
                                 description="open, a decision, or all")] = "open",
    limit: Limit = 50, offset: Offset = 0,
) -> CasePage:
    """A work queue, oldest first: officers see the cases of persons in their regions,
    administrators all. Every person listed is an audit entry."""
    rows, total = actions.queue(svc, account, kind, status, limit, offset)
    return CasePage(cases=[case_out(c) for c in rows], total=total, limit=limit, offset=offset)


@router.get("/cases/{case_id}", response_model=CaseOut, tags=["casework"])
def get_case(case_id: RowId, svc: ServiceDep, account: AccountDep) -> CaseOut:
    """One case and its events (who, when, why). Citizens see their own cases."""
    return case_out(actions.case_for(svc, account, case_id))


@router.post("/persons/{person_id}/clarifications", response_model=CaseOut, status_code=201,
             tags=["casework"])
def open_clarification(person_id: str, body: ClarificationIn, svc: ServiceDep,
                       account: AccountDep) -> CaseOut:
    """An officer asks for a person's data to be clarified: a clarification case opens."""
    return case_out(actions.open_clarification(svc, account, person_id, body.reason))


@router.post("/cases/{case_id}/verified", response_model=DecisionOut, tags=["casework"])
def record_verified(case_id: RowId, body: VerifiedIn, svc: ServiceDep,
                    account: AccountDep) -> DecisionOut:
    """Record the values an officer verified, resolving an open clarification.

    They enter as the registration office's source record, win over every agency's
    value (provenance names that source) and the person is decided again at once."""
    return decision_out(actions.record_verified(svc, account, case_id, body.values,
                                                body.reason))


@router.post("/persons/{person_id}/corrections", response_model=CaseOut, status_code=201,
             tags=["casework"])
def propose_correction(person_id: str, body: CorrectionIn, svc: ServiceDep,
                       account: AccountDep) -> CaseOut:
    """Propose corrected values (a citizen for themselves); an officer decides."""
    return case_out(actions.propose_correction(svc, account, person_id, body.values,
                                               body.reason))


@router.post("/persons/{person_id}/claims", response_model=CaseOut, status_code=201,
             tags=["casework"])
def file_claim(person_id: str, body: ClaimIn, svc: ServiceDep, account: AccountDep) -> CaseOut:
    """A deferment claim: its ground in the law and the evidence offered."""
    return case_out(actions.file_claim(svc, account, person_id, body.ground, body.evidence,
                                       body.reason))


@router.post("/persons/{person_id}/appeals", response_model=CaseOut, status_code=201,
             tags=["casework"])
def file_appeal(person_id: str, body: AppealIn, svc: ServiceDep,
                account: AccountDep) -> CaseOut:
    """An appeal against the person's selection in a plan; a delivered notice becomes
    "appealed". Granted, it withdraws the notice."""
    return case_out(actions.file_appeal(svc, account, person_id, body.plan_id, body.reason))


@router.post("/cases/{case_id}/decision", response_model=DecisionOut, tags=["casework"])
def decide(case_id: RowId, body: DecisionIn, svc: ServiceDep,
           account: AccountDep) -> DecisionOut:
    """An officer's decision on an open case, with its effects (verified values recorded,
    notices withdrawn or deferred, eligibility decided again). Citizens never decide."""
    return decision_out(actions.decide(svc, account, case_id, body.outcome,
                                       body.reason, body.values))


@router.get("/plans", response_model=PlanList, tags=["call-up"])
def list_plans(svc: ServiceDep, account: AccountDep) -> PlanList:
    """Every saved call-up plan's header: counts only."""
    return PlanList(plans=[plan_out(p) for p in actions.plans(svc, account)])


@router.get("/plans/{plan_id}", response_model=PlanDetailOut, tags=["call-up"])
def get_plan(plan_id: RowId, svc: ServiceDep, account: AccountDep, limit: Limit = 100,
             offset: Offset = 0) -> PlanDetailOut:
    """A plan: quotas, candidates, selected and shortfall per region, notice counts and a
    page of the selection (officers: their regions; analysts: none)."""
    d = actions.plan_detail(svc, account, plan_id, limit, offset)
    return PlanDetailOut(
        plan=plan_out(d.plan), notices=d.notices, selection_total=d.selection_total,
        regions=[RegionLineOut(**vars(r)) for r in d.regions],
        selection=None if d.selection is None else [SelectedOut(**vars(s))
                                                    for s in d.selection],
        limit=limit, offset=offset)


@router.post("/plans/{plan_id}/verify", response_model=PlanCheckOut, tags=["call-up"])
def verify_plan(plan_id: RowId, svc: ServiceDep, account: AccountDep) -> PlanCheckOut:
    """Recompute the plan from scratch: digest, counts, the lottery; and who of its
    selection may not be called now."""
    c = actions.verify_plan(svc, account, plan_id)
    return PlanCheckOut(
        plan_id=c.plan.id, ok=c.ok, digest=c.digest, differences=list(c.differences),
        not_callable=None if c.not_callable is None else [
            NotCallable(person_id=p, region=r, rank=k, why=w) for p, r, k, w in c.not_callable],
        not_callable_count=c.not_callable_count)


@router.get("/persons/{person_id}/notices", response_model=NoticeList, tags=["notices"])
def person_notices(person_id: str, svc: ServiceDep, account: AccountDep) -> NoticeList:
    """A person's notices and the life of each (who moved it, when, with what evidence)."""
    return NoticeList(notices=[notice_out(n) for n in
                               actions.notices_for_person(svc, account, person_id)])


@router.get("/notices/{notice_id}.pdf", response_class=Response, tags=["notices"],
            responses={200: {"content": {"application/pdf": {
                "schema": {"type": "string", "format": "binary"}}},
                "description": "The PDF exactly as issued"}})
def notice_pdf(notice_id: RowId, svc: ServiceDep, account: AccountDep) -> Response:
    """The notice as issued (the stored file, checked against its recorded SHA-256)."""
    data = actions.notice_pdf(svc, account, notice_id)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"'})


@router.post("/notices/{notice_id}/events", response_model=NoticeOut, tags=["notices"])
def notice_event(notice_id: RowId, body: NoticeEventIn, svc: ServiceDep,
                 account: AccountDep) -> NoticeOut:
    """Record what happened to a notice: sent, delivered (with evidence), reported, ..."""
    return notice_out(actions.record_notice_event(svc, account, notice_id, body.to,
                                                  body.evidence, body.reason))


@router.get("/review", response_model=ReviewPage, tags=["resolution"])
def review(
    svc: ServiceDep, account: AccountDep,
    kind: Annotated[str | None, Query(
        pattern="^(uncertain|ambiguous|identifier_collision)$")] = None,
    limit: Limit = 50, offset: Offset = 0,
    every_pair: Annotated[bool, Query(description=(
        "Each pair of records; by default one per two persons, the strongest"))] = False,
) -> ReviewPage:
    """Pairs of records the register did not link on its own, one per two persons (an
    answer on it answers the others between them), those holding a call-up decision
    first, then the strongest: officers see pairs touching their regions."""
    pairs, total = actions.review_pairs(svc, account, kind, limit, offset, every_pair)
    return ReviewPage(pairs=[ReviewPairOut(**vars(p)) for p in pairs], total=total,
                      limit=limit, offset=offset)


@router.post("/review/{pair_id}/decision", response_model=ReviewDecisionOut,
             tags=["resolution"])
def decide_review(pair_id: RowId, body: ReviewDecisionIn, svc: ServiceDep,
                  account: AccountDep) -> ReviewDecisionOut:
    """Answer a review pair: the same person, or different persons. The pair leaves the
    review list now; the next resolution run links it or keeps it apart."""
    d = actions.decide_review_pair(svc, account, pair_id, body.decision, body.reason)
    return ReviewDecisionOut(pair_id=pair_id, **_decided(d))


@router.post("/persons/{person_id}/other-files/{other_id}/decision",
             response_model=OtherFileDecisionOut, tags=["resolution"])
def decide_other_file(person_id: str, other_id: str, body: ReviewDecisionIn,
                      svc: ServiceDep, account: AccountDep) -> OtherFileDecisionOut:
    """Answer whether another file that holds the person (other_files of the person; the
    ground possible_other_file) is theirs: "same" joins the files at the next resolution
    run, "different" keeps them apart and, once a run has applied it, lifts the hold."""
    d = actions.decide_other_file(svc, account, person_id, other_id, body.decision,
                                  body.reason)
    return OtherFileDecisionOut(person_id=person_id, other_id=other_id, **_decided(d))


def _decided(d: PairDecision) -> dict[str, Any]:
    """The fields of PairDecisionOut, from the decision as kept."""
    return {"decision": d.decision, "record_l": ":".join(d.left),
            "record_r": ":".join(d.right), "actor": d.actor, "reason": d.reason,
            "decided_at": d.decided_at}
