"""The web pages (issue 6): server-rendered Jinja2, usable without JavaScript, htmx
only as an enhancement.

    contexts.py       one typed model per page and role: what a page may show
    csrf.py           the form token bound to the session; the API's write guard
    render.py         the Jinja2 environment, the layout, error pages
    deps.py           the logged-in account and checked forms for the routes
    session_pages.py  log in, log out
    dashboard.py      the dashboard (counts; analysts see nothing else)
    persons.py        search, the person page and its casework forms
    records.py        a person's record as a page shows it (person page and portal)
    work.py           work queues and plans
    portal.py         the citizen's portal

Every read and write goes through the same service functions as the REST API
(service.reads, service.actions), so access rules and audit entries are the same.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from muster.errors import MusterError
from muster.service.web.csrf import CsrfTokens, api_write_allowed
from muster.service.web.dashboard import router as dashboard_pages
from muster.service.web.deps import optional_account
from muster.service.web.persons import router as person_pages
from muster.service.web.portal import router as portal_pages
from muster.service.web.render import error_page
from muster.service.web.session_pages import router as session_pages
from muster.service.web.work import router as work_pages

STATIC = Path(__file__).parent / "static"
_NOT_PAGES = ("/api/", "/openapi.json", "/docs", "/redoc", "/static/")
Handler = Callable[[Request, Exception], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(_NOT_PAGES)


def _page_or_api(api_handler: AnyHandler) -> Handler:
    """Errors of a page answer as a page (or, not logged in, the login form); the API's
    stay application/problem+json."""

    async def api(request: Request, exc: Exception) -> Response:
        response = api_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    async def handle(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api(request, exc)
        if isinstance(exc, MusterError):
            if exc.status == 401:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            status, detail, hint = exc.status, exc.message, exc.hint
        elif isinstance(exc, StarletteHTTPException):
            status, detail, hint = exc.status_code, str(exc.detail), None
        elif isinstance(exc, RequestValidationError):
            status, detail = 400, "; ".join(str(e.get("msg")) for e in exc.errors())
            hint = "Check what you entered and try again."
        else:
            await api(request, exc)  # logs it
            status, detail, hint = 500, f"Unexpected error: {type(exc).__name__}.", \
                "It has been logged; report it if it persists."
        return error_page(request, status, detail, hint, optional_account(request))

    return handle


class ApiCsrfGuard:
    """Refuses a cookie-authenticated API write that a foreign page could have forged
    (see csrf.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            request = Request(scope)
            if not api_write_allowed(request, request.app.state.csrf):
                from muster.service.app import problem

                response = problem(403, "A request that changes something and is "
                                   "authenticated by the session cookie must be JSON or carry "
                                   "the X-CSRF-Token header.",
                                   "Send Content-Type: application/json, or use a bearer token.")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_pages(app: FastAPI, secret: str) -> None:
    """Mount the pages, their static files and the CSRF guard on the service's app (after
    its API error handlers, which page requests bypass)."""
    app.state.csrf = CsrfTokens(secret)
    for router in (session_pages, dashboard_pages, person_pages, work_pages, portal_pages):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for exc_class, api_handler in list(app.exception_handlers.items()):
        app.add_exception_handler(exc_class, _page_or_api(api_handler))
    app.add_middleware(ApiCsrfGuard)
