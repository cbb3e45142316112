"""Logging in and out in the browser: the same accounts, throttle and session cookie
as the API's POST /api/v1/login."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from muster.errors import TooManyRequests, Unauthorized
from muster.service.accounts import CITIZEN, Account, authenticate
from muster.service.auth import SESSION_COOKIE, SESSION_SECONDS
from muster.service.web.contexts import LoginPage
from muster.service.web.csrf import PRESESSION_COOKIE
from muster.service.web.deps import FormDep, ServiceDep, optional_account
from muster.service.web.render import render

router = APIRouter(include_in_schema=False)


def home_of(account: Account) -> str:
    return "/portal" if account.role == CITIZEN else "/"


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: a login must not forward the browser anywhere else."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request,
               next: Annotated[str, Query(max_length=500)] = "") -> Response:
    account = optional_account(request)
    if account is not None:
        return RedirectResponse(safe_next(next) or home_of(account), status_code=303)
    return render(request, "login.html", LoginPage(next=safe_next(next) or ""),
                  title="Log in", account=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, svc: ServiceDep, form: FormDep) -> Response:
    username = form.get("username", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next"))
    try:
        svc.throttle.check(svc.store, username)
        try:
            account = authenticate(svc.store, username, password)
        except Unauthorized:
            svc.throttle.failed(svc.store, username)
            raise
    except (Unauthorized, TooManyRequests) as refused:
        error = refused.message + (f" {refused.hint}" if refused.hint else "")
        page = LoginPage(next=next_path or "", username=username, error=error)
        refusal = render(request, "login.html", page, title="Log in", account=None,
                         status=refused.status)
        if isinstance(refused, TooManyRequests):
            refusal.headers["Retry-After"] = str(refused.retry_after)
        return refusal
    svc.throttle.succeeded(svc.store, username)
    response = RedirectResponse(next_path or home_of(account), status_code=303)
    response.set_cookie(SESSION_COOKIE, svc.sessions.sign(account), max_age=SESSION_SECONDS,
                        httponly=True, samesite="strict", secure=svc.cookie_secure, path="/")
    response.delete_cookie(PRESESSION_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(_form: FormDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
