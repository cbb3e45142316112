"""Rendering pages: the Jinja2 environment, the layout around every page, error pages."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request

from muster.service.accounts import ADMINISTRATOR, ANALYST, CITIZEN, OFFICER, Account
from muster.service.web.contexts import ErrorPage, Layout, NavLink, Page
from muster.service.web.csrf import PRESESSION_COOKIE, CsrfTokens, binding, new_presession

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

# The pages each role may open, in menu order.
_NAV: dict[str, tuple[tuple[str, str], ...]] = {
    ADMINISTRATOR: (("/", "Dashboard"), ("/persons", "Search"), ("/queues", "Work queues"),
                    ("/plans", "Plans")),
    OFFICER: (("/", "Dashboard"), ("/persons", "Search"), ("/queues", "Work queues"),
              ("/plans", "Plans")),
    ANALYST: (("/", "Dashboard"), ("/plans", "Plans")),
    CITIZEN: (("/portal", "My record"),),
}


def csrf_tokens(request: Request) -> CsrfTokens:
    tokens: CsrfTokens = request.app.state.csrf
    return tokens


def layout(request: Request, account: Account | None, title: str, bound_to: str) -> Layout:
    path = request.url.path
    links = _NAV.get(account.role, ()) if account else ()
    nav = [NavLink(href=href, label=label,
                   current=path == href or (href != "/" and path.startswith(href + "/")))
           for href, label in links]
    return Layout(title=title, username=account.username if account else None,
                  role=account.role if account else None,
                  csrf=csrf_tokens(request).token(bound_to), nav=nav)


def render(request: Request, template: str, page: Page, *, title: str,
           account: Account | None, status: int = 200) -> HTMLResponse:
    """The page, with a form token bound to the session (or a new pre-session)."""
    bound_to = binding(request)
    presession = None
    if bound_to is None:
        bound_to = presession = new_presession()
    chrome = layout(request, account, title, bound_to)
    hidden = Markup('<input type="hidden" name="csrf" value="{}">').format(escape(chrome.csrf))
    html = _env.get_template(template).render(page=page, layout=chrome, csrf=lambda: hidden)
    response = HTMLResponse(html, status_code=status)
    if presession is not None:
        response.set_cookie(PRESESSION_COOKIE, presession, httponly=True, samesite="strict",
                            secure=request.app.state.service.cookie_secure, path="/")
    return response


def error_page(request: Request, status: int, detail: str, hint: str | None = None,
               account: Account | None = None) -> HTMLResponse:
    title = HTTPStatus(status).phrase
    return render(request, "error.html", ErrorPage(status=status, title=title, detail=detail,
                                                    hint=hint),
                  title=title, account=account, status=status)
