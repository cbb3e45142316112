"""The REST API under /api/v1: routes parse input, check access, call one library
function, write the audit entry and return a typed model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel

from muster.errors import Unauthorized
from muster.limits import MAX_ID, MAX_INTEGER
from muster.service import access, audit, reads
from muster.service.accounts import ADMINISTRATOR, Account, authenticate
from muster.service.actions_callup import notice_view
from muster.service.auth import SESSION_COOKIE, SESSION_SECONDS, identify
from muster.service.models import (
    AuditEntry,
    AuditHead,
    AuditPage,
    EligibilityResult,
    FieldValue,
    Login,
    Me,
    Person,
    PersonSummary,
    Problem,
    RegionStats,
    SearchResult,
    Stats,
)
from muster.service.models_work import case_out, notice_out
from muster.service.state import Service
from muster.service.stats import region_counts
from muster.store.schema import NAME_KEYS

# Every error answers application/problem+json (translated once, in app.py).
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in (400, 401, 403, 404, 409, 422, 429)
}
router = APIRouter(prefix="/api/v1", responses=PROBLEMS)


async def service(request: Request) -> Service:
    # async: it does no I/O, and a plain def would cost a trip through the thread pool
    state: Service = request.app.state.service
    return state


def current_account(
    svc: Annotated[Service, Depends(service)],
    authorization: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> Account:
    return identify(svc.store, svc.sessions, authorization, session)


ServiceDep = Annotated[Service, Depends(service)]
AccountDep = Annotated[Account, Depends(current_account)]
# A plan's, case's, notice's or review pair's id in a path: a larger number is no row,
# refused as invalid (it overflowed SQLite's integer: a 500).
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _me(account: Account) -> Me:
    return Me(username=account.username, role=account.role, regions=list(account.regions),
              person_id=account.person_id)


@router.post("/login", response_model=Me, tags=["session"])
def login(body: Login, response: Response, svc: ServiceDep) -> Me:
    """Log in with a username and password; sets the session cookie.

    Five failures for one account within a minute lock it for the rest of that minute (429).
    """
    svc.throttle.check(svc.store, body.username)
    try:
        account = authenticate(svc.store, body.username, body.password)
    except Unauthorized:
        svc.throttle.failed(svc.store, body.username)
        raise
    svc.throttle.succeeded(svc.store, body.username)
    response.set_cookie(SESSION_COOKIE, svc.sessions.sign(account), max_age=SESSION_SECONDS,
                        httponly=True, samesite="strict", secure=svc.cookie_secure,
                        path="/")
    return _me(account)


@router.post("/logout", status_code=204, tags=["session"])
def logout(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


@router.get("/me", response_model=Me, tags=["session"])
def me(account: AccountDep) -> Me:
    """The account making the request."""
    return _me(account)


@router.get("/persons", response_model=SearchResult, tags=["persons"])
def search_persons(
    svc: ServiceDep, account: AccountDep,
    name: Annotated[str | None, Query(max_length=200)] = None,
    birth_date: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
    id: Annotated[str | None, Query(max_length=40, description="national id, tax id or "
                                    "passport number")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Search persons by name, birth date and identifier (any combination).

    Officers find persons of their regions only. Every person returned is an audit entry.
    """
    rows = reads.search_persons(svc, account, name, birth_date, id, limit)
    return _json(SearchResult(persons=[PersonSummary.model_validate(r) for r in rows],
                              limit=limit))


def _json(model: BaseModel) -> Response:
    """The model as JSON, serialised once and sent as it is. Returned as a model from a
    plain (threaded) endpoint, it would be validated again on one more trip through
    the thread pool: a tenth of the CPU of a person read. Construction has validated it."""
    return Response(model.model_dump_json(), media_type="application/json")


def _value(v: dict[str, Any]) -> FieldValue:
    return FieldValue(field=v["field"], value=v["value"], source=v["source"],
                      record_id=v["record_id"], record_date=v["record_date"],
                      support=v["support"], chosen=bool(v["chosen"]),
                      conflict=bool(v["conflict"]))


@router.get("/persons/{person_id}", response_model=Person, tags=["persons"])
def get_person(
    person_id: str, svc: ServiceDep, account: AccountDep,
    purpose: Annotated[str | None, Query(
        description=f"Why the record is opened (required for officers): "
                    f"{', '.join(audit.PURPOSES)}")] = None,
) -> Response:
    """A person's golden record with the source of every value, the conflicting values,
    the source records, the history of merges and splits, and eligibility results."""
    read = reads.read_person(svc, account, person_id, purpose)
    view, results = read.view, read.eligibility
    values = [_value(v) for v in view.values]
    conflicts: dict[str, list[FieldValue]] = {}
    for v in values:
        if v.conflict:
            conflicts.setdefault(v.field, []).append(v)
    golden = {k: v for k, v in view.golden.items() if k not in NAME_KEYS}
    return _json(Person(
        person_id=view.person_id, status=view.status, successor=view.successor,
        golden=golden, provenance=values, conflicts=conflicts, records=view.records,
        links=view.links, history=view.history,
        eligibility=[EligibilityResult(
            as_of=r["as_of"], law=f"{r['law_name']} {r['law_version']}",
            law_sha256=r["law_sha256"], evaluated_at=r["evaluated_at"], status=r["status"],
            ground=r["ground"], grounds=[g for g in r["grounds"].split(",") if g],
            until=r["until"], subject_from=r["subject_from"]) for r in results],
        other_files=read.other_files,
        cases=[case_out(c) for c in reversed(read.cases)],
        notices=[notice_out(notice_view(n)) for n in read.notices],
    ))


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def read_audit(
    svc: ServiceDep, account: AccountDep,
    person_id: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INTEGER)] = 0,
) -> AuditPage:
    """Audit entries, newest first: all of them for an administrator, those about
    themselves for a citizen. Reading the log is itself an entry."""
    rows, total = reads.read_audit(svc, account, person_id, limit, offset)
    return AuditPage(entries=[AuditEntry(
        seq=e.seq, at=e.at, actor=e.actor, role=e.role, action=e.action,
        person_id=e.person_id, purpose=e.purpose, detail=e.detail) for e in rows],
        total=total, limit=limit, offset=offset)


@router.get("/audit/head", response_model=AuditHead, tags=["audit"])
def read_audit_head(svc: ServiceDep, account: AccountDep) -> AuditHead:
    """The log's newest entry (administrators), for a client that keeps anchors: append
    `<seq> <hash> <UTC time>` to a file off the database host and check it later with
    `muster audit verify --anchors FILE`. The head as recorded: the chain is not walked
    (`muster audit anchor` does). A hash is no person's data, so reading it writes no
    entry, and the head stays put between two reads of it."""
    access.require_role(account, (ADMINISTRATOR,), "read the audit log's head")
    head = audit.head(svc.store)
    return AuditHead(seq=head.seq, hash=head.hash, at=head.at)


@router.get("/stats/regions", response_model=Stats, tags=["statistics"])
def stats_by_region(svc: ServiceDep, account: AccountDep) -> Stats:
    """Persons per region and their eligibility statuses (the newest evaluation):
    counts only, no person. Officers see their own regions."""
    regions = access.require_stats(account)
    as_of, counts = region_counts(svc.store, regions)
    return Stats(eligibility_as_of=as_of, regions=[
        RegionStats(region=c.region, persons=c.persons, statuses=c.statuses) for c in counts])
