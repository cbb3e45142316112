"""What page routes depend on: the service, the logged-in account, a checked form."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from muster.errors import BadRequest, Forbidden, MusterError
from muster.service.accounts import Account
from muster.service.auth import SESSION_COOKIE, identify
from muster.service.state import Service
from muster.service.web.csrf import FIELD, binding
from muster.service.web.render import csrf_tokens


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def page_account(request: Request) -> Account:
    """The account of the session cookie; pages never take bearer tokens. Not logged in
    is a 401, which a page answers by sending the browser to the login form."""
    svc = service(request)
    return identify(svc.store, svc.sessions, None, request.cookies.get(SESSION_COOKIE))


def optional_account(request: Request) -> Account | None:
    try:
        return page_account(request)
    except MusterError:
        return None


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form, once its token proves it came from one of our pages."""
    form = await request.form()
    token = form.get(FIELD)
    if not csrf_tokens(request).valid(token if isinstance(token, str) else None,
                                      binding(request)):
        raise Forbidden("This form has expired or did not come from this site, so it was "
                        "not accepted (its security token is missing or wrong).",
                        hint="Go back, reload the page and submit the form again.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def required(form: dict[str, str], field: str, label: str) -> str:
    """A form field that must be filled in, named by its label when it is not."""
    value = form.get(field, "").strip()
    if not value:
        raise BadRequest(f"{label} is empty.", hint=f"Fill in {label} and submit again.")
    return value


ServiceDep = Annotated[Service, Depends(service)]
AccountDep = Annotated[Account, Depends(page_account)]
FormDep = Annotated[dict[str, str], Depends(checked_form)]
