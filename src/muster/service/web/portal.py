"""The citizen's portal: my record and its sources, the rules applied to me, who looked
at my record and why; propose a correction, claim a deferment, appeal; my notices."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from muster.casework.cases import DEFERMENT_GROUNDS
from muster.casework.verified import VERIFIABLE
from muster.eligibility.explain import explain_person
from muster.errors import BadRequest, Forbidden
from muster.service import actions
from muster.service.accounts import CITIZEN, Account
from muster.service.api import RowId
from muster.service.reads import read_audit
from muster.service.state import Service
from muster.service.web.contexts import AccessEntry, PersonRecord, Portal, RuleLine, RulesApplied
from muster.service.web.deps import AccountDep, FormDep, ServiceDep, required
from muster.service.web.records import person_record
from muster.service.web.render import render

router = APIRouter(include_in_schema=False)
ACCESS_LIMIT = 200


def _citizen(account: Account) -> str:
    if account.role != CITIZEN or account.person_id is None:
        raise Forbidden("The portal is for citizens, to see their own record.",
                        hint="Officers and administrators find persons with Search.")
    return account.person_id


def _rules(svc: Service, record: PersonRecord) -> RulesApplied | None:
    """How the law decided, as of the newest evaluation (the person.read entry covers it)."""
    if not record.eligibility or record.status != "active":
        return None
    newest = record.eligibility[0]
    explained = explain_person(svc.store, svc.profile, record.person_id, newest.as_of)
    return RulesApplied(
        as_of=newest.as_of, law=newest.law, status=explained.decision.status,
        ground=explained.decision.ground, rules=[RuleLine(
            ground=o.rule.ground, status=o.rule.status, summary=o.rule.summary,
            applies=o.applies, condition=o.condition,
            facts=[f"{f.field} = {f.value if f.value is not None else '(none)'}"
                   + (f" ({f.source})" if f.source else "") for f in o.facts])
            for o in explained.outcomes])


@router.get("/portal")
def portal(request: Request, svc: ServiceDep, account: AccountDep) -> Response:
    person_id = _citizen(account)
    record = person_record(svc, account, person_id, None)
    entries, _ = read_audit(svc, account, person_id, ACCESS_LIMIT, 0)
    page = Portal(
        record=record, rules=_rules(svc, record),
        accesses=[AccessEntry(at=e.at, actor=e.actor, role=e.role, action=e.action,
                              purpose=e.purpose) for e in entries],
        correctable=list(VERIFIABLE), grounds=list(DEFERMENT_GROUNDS),
        appealable=sorted({n.plan_id for n in record.notices}))
    return render(request, "portal.html", page, title="My record", account=account)


def _done() -> Response:
    return RedirectResponse("/portal#cases", status_code=303)


@router.post("/portal/correction")
def propose_correction(svc: ServiceDep, account: AccountDep, form: FormDep) -> Response:
    person_id = _citizen(account)
    actions.propose_correction(svc, account, person_id,
                               {required(form, "field", "Field"): required(form, "value",
                                                                             "Value")},
                               required(form, "reason", "Reason"))
    return _done()


@router.post("/portal/claim")
def file_claim(svc: ServiceDep, account: AccountDep, form: FormDep) -> Response:
    person_id = _citizen(account)
    actions.file_claim(svc, account, person_id, required(form, "ground", "Ground"),
                       required(form, "evidence", "Evidence"),
                       required(form, "reason", "Reason"))
    return _done()


@router.post("/portal/appeal")
def file_appeal(svc: ServiceDep, account: AccountDep, form: FormDep) -> Response:
    person_id = _citizen(account)
    plan = required(form, "plan", "Plan")
    if not plan.isdigit():
        raise BadRequest(f"Plan {plan!r} is not a plan number.", hint="Choose a plan.")
    actions.file_appeal(svc, account, person_id, int(plan), required(form, "reason", "Reason"))
    return _done()


@router.get("/notices/{notice_id}.pdf")
def notice_pdf(notice_id: RowId, svc: ServiceDep, account: AccountDep) -> Response:
    pdf = actions.notice_pdf(svc, account, notice_id)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{notice_id}.pdf"'})
