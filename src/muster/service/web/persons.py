"""Search, the person page, and the casework forms an officer uses on it."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from muster.casework.verified import VERIFIABLE
from muster.errors import BadRequest
from muster.service import access, actions
from muster.service.accounts import CITIZEN, OFFICER
from muster.service.api import RowId
from muster.service.audit import PURPOSES
from muster.service.reads import search_persons
from muster.service.web.contexts import PersonPage, PersonRow, PurposePage, SearchPage
from muster.service.web.deps import AccountDep, FormDep, ServiceDep, required
from muster.service.web.records import person_record
from muster.service.web.render import render
from muster.service.web.session_pages import safe_next

router = APIRouter(include_in_schema=False)
SEARCH_LIMIT = 50
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def person_url(person_id: str, purpose: str | None) -> str:
    url = f"/persons/{quote(person_id)}"
    return f"{url}?purpose={quote(purpose)}" if purpose else url


@router.get("/persons")
def search(request: Request, svc: ServiceDep, account: AccountDep,
           name: Annotated[str, Query(max_length=200)] = "",
           birth_date: Annotated[str, Query(max_length=10)] = "",
           id: Annotated[str, Query(max_length=40)] = "") -> Response:
    access.require_search(account)  # before anything, so a role that may not search sees 403
    name, birth_date, id = name.strip(), birth_date.strip(), id.strip()
    searched = bool(name or birth_date or id)
    rows, problem = [], None
    try:
        if birth_date and not _ISO_DATE.match(birth_date):
            raise BadRequest(f"The birth date {birth_date!r} is not a date written "
                             "YYYY-MM-DD.", hint="Write it like 1999-03-10.")
        if searched:
            rows = search_persons(svc, account, name or None, birth_date or None, id or None,
                                  SEARCH_LIMIT)
    except BadRequest as exc:  # the form again, with what to change (nothing was searched)
        problem = f"{exc.message} {exc.hint}" if exc.hint else exc.message
    page = SearchPage(name=name, birth_date=birth_date, id=id, searched=searched,
                      results=[PersonRow(**{k: row[k] for k in PersonRow.model_fields})
                               for row in rows],
                      limit=SEARCH_LIMIT, purposes=list(PURPOSES),
                      needs_purpose=account.role == OFFICER, problem=problem)
    return render(request, "search.html", page, title="Search persons", account=account,
                  status=422 if problem else 200)


@router.get("/persons/{person_id}")
def person(request: Request, person_id: str, svc: ServiceDep, account: AccountDep,
           purpose: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    purpose = purpose or None
    if account.role == CITIZEN:
        access.require_person(svc.store, account, person_id, None)  # 404 unless themselves
        return RedirectResponse("/portal", status_code=303)
    if account.role == OFFICER and purpose is None:
        # Ask why before reading anything; only check (with any allowed purpose) that the
        # officer may open this person at all, so the form reveals no one out of scope.
        access.require_person(svc.store, account, person_id, PURPOSES[0])
        return render(request, "purpose.html",
                      PurposePage(person_id=person_id, purposes=list(PURPOSES)),
                      title="Why are you opening this record?", account=account)
    record = person_record(svc, account, person_id, purpose)
    page = PersonPage(record=record, purpose=purpose, verifiable=list(VERIFIABLE))
    return render(request, "person.html", page, title=f"Person {person_id}", account=account)


def _back(form: dict[str, str], default: str) -> RedirectResponse:
    return RedirectResponse(safe_next(form.get("back")) or default, status_code=303)


@router.post("/persons/{person_id}/clarification")
def request_clarification(person_id: str, svc: ServiceDep, account: AccountDep,
                          form: FormDep) -> Response:
    actions.open_clarification(svc, account, person_id, required(form, "reason", "Reason"))
    return _back(form, person_url(person_id, "clarification") + "#cases")


@router.post("/persons/{person_id}/other-files/{other_id}/decide")
def decide_other_file(person_id: str, other_id: str, svc: ServiceDep, account: AccountDep,
                      form: FormDep) -> Response:
    actions.decide_other_file(svc, account, person_id, other_id,
                              required(form, "decision", "Answer"),
                              required(form, "reason", "Reason"))
    return _back(form, person_url(person_id, "data_quality"))


@router.post("/cases/{case_id}/verified")
def record_verified(case_id: RowId, svc: ServiceDep, account: AccountDep,
                    form: FormDep) -> Response:
    field = required(form, "field", "Field")
    decided = actions.record_verified(svc, account, case_id,
                                      {field: required(form, "value", "Value")},
                                      required(form, "reason", "Reason"))
    return _back(form, person_url(decided.case.person_id, "clarification") + "#cases")


@router.post("/cases/{case_id}/decide")
def decide(case_id: RowId, svc: ServiceDep, account: AccountDep, form: FormDep) -> Response:
    values = {}
    if form.get("field", "").strip():
        values[form["field"].strip()] = required(form, "value", "Value")
    actions.decide(svc, account, case_id, required(form, "outcome", "Outcome"),
                   required(form, "reason", "Reason"), values or None)
    return _back(form, "/queues")
