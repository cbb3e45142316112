"""Work queues (review pairs and the four kinds of case) and call-up plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from muster.callup import Plan
from muster.casework.cases import KINDS
from muster.casework.verified import VERIFIABLE
from muster.service import actions
from muster.service.api import RowId
from muster.service.web.contexts import (
    CaseQueue,
    PlanCheckView,
    PlanPage,
    PlanRegion,
    PlansPage,
    PlanSummary,
    QueuesPage,
    ReviewLine,
    SelectedLine,
)
from muster.service.web.deps import AccountDep, FormDep, ServiceDep, required
from muster.service.web.records import case_line
from muster.service.web.render import render

router = APIRouter(include_in_schema=False)
QUEUE_LIMIT = 50


@router.get("/queues")
def queues(request: Request, svc: ServiceDep, account: AccountDep) -> Response:
    pairs, pairs_total = actions.review_pairs(svc, account, limit=QUEUE_LIMIT)
    lists = []
    for kind in KINDS:
        cases, total = actions.queue(svc, account, kind, limit=QUEUE_LIMIT)
        lists.append(CaseQueue(kind=kind, cases=[case_line(c) for c in cases], total=total))
    page = QueuesPage(
        review=[ReviewLine(id=p.id, kind=p.kind, left=f"{p.source_l}:{p.record_id_l}",
                           person_left=p.person_l, right=f"{p.source_r}:{p.record_id_r}",
                           person_right=p.person_r, match_weight=p.match_weight,
                           detail=p.detail, holds_decision=p.holds_decision,
                           pairs_between=p.pairs_between) for p in pairs],
        review_total=pairs_total, queues=lists, verifiable=list(VERIFIABLE))
    return render(request, "queues.html", page, title="Work queues", account=account)


@router.post("/review/{pair_id}/decide")
def decide_review(pair_id: RowId, svc: ServiceDep, account: AccountDep,
                  form: FormDep) -> Response:
    actions.decide_review_pair(svc, account, pair_id, required(form, "decision", "Answer"),
                               required(form, "reason", "Reason"))
    return RedirectResponse("/queues#queue-review", status_code=303)


def _summary(plan: Plan) -> PlanSummary:
    return PlanSummary(id=plan.id, as_of=plan.as_of, category=plan.category, law=plan.law,
                       selected=plan.selected, candidates=plan.candidates)


@router.get("/plans")
def plan_list(request: Request, svc: ServiceDep, account: AccountDep) -> Response:
    page = PlansPage(plans=[_summary(p) for p in actions.plans(svc, account)])
    return render(request, "plans.html", page, title="Call-up plans", account=account)


def _plan_page(request: Request, svc: ServiceDep, account: AccountDep, plan_id: int,
               offset: int, verify: bool) -> Response:
    detail = actions.plan_detail(svc, account, plan_id, offset=offset)
    check = None
    if verify:
        result = actions.verify_plan(svc, account, plan_id)
        check = PlanCheckView(
            ok=result.ok, digest=result.digest, differences=list(result.differences),
            not_callable=None if result.not_callable is None else list(result.not_callable),
            not_callable_count=result.not_callable_count)
    plan = detail.plan
    page = PlanPage(
        plan=_summary(plan), seed=plan.seed, digest=plan.digest, created_by=plan.created_by,
        created_at=plan.created_at,
        regions=[PlanRegion(region=r.region, quota=r.quota, candidates=r.candidates,
                            selected=r.selected, shortfall=r.shortfall) for r in detail.regions],
        notices=detail.notices,
        selection=None if detail.selection is None else [
            SelectedLine(region=s.region, rank=s.rank, person_id=s.person_id,
                         notice_status=s.notice_status) for s in detail.selection],
        selection_total=detail.selection_total, check=check)
    return render(request, "plan.html", page, title=f"Plan {plan_id}", account=account)


@router.get("/plans/{plan_id}")
def plan(request: Request, plan_id: RowId, svc: ServiceDep, account: AccountDep,
         offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    return _plan_page(request, svc, account, plan_id, offset, verify=False)


@router.get("/plans/{plan_id}/verify")
def verify(request: Request, plan_id: RowId, svc: ServiceDep, account: AccountDep) -> Response:
    """Verifying reads and changes nothing (but the audit log), so it is a plain link."""
    return _plan_page(request, svc, account, plan_id, 0, verify=True)
