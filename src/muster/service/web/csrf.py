"""Cross-site request forgery: a token in every form, bound to the browser's session.

A page's forms carry a hidden ``csrf`` token: the session cookie's SHA-256, signed
with the service's key. Another site can make a browser post a form here, but it
cannot read our pages, so it cannot know the token. Before login there is no
session yet, so the login form is bound to a random pre-session cookie instead
(a forged login would otherwise log a victim into the attacker's account).

The JSON API needs no form token: a browser sends a cross-site request with a JSON
body or a custom header only after a CORS preflight, which this service never
grants. So a cookie-authenticated API write must be ``application/json`` or carry
the ``X-CSRF-Token`` header (the same token as the forms); a bearer token is not sent
by browsers on their own, so requests that carry one need neither.
"""

from __future__ import annotations

import hashlib
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

from muster.service.auth import SESSION_COOKIE, SESSION_SECONDS

PRESESSION_COOKIE = "muster_presession"
FIELD = "csrf"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def new_presession() -> str:
    return secrets.token_urlsafe(24)


def binding(request: Request) -> str | None:
    """What the request's tokens are bound to: the session, else the pre-session."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRESESSION_COOKIE)


class CsrfTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="muster-csrf")

    def token(self, bound_to: str) -> str:
        return self._serializer.dumps(_digest(bound_to))

    def valid(self, token: str | None, bound_to: str | None) -> bool:
        if not token or not bound_to:
            return False
        try:
            value = self._serializer.loads(token, max_age=SESSION_SECONDS)
        except BadSignature:  # also covers an expired token
            return False
        return isinstance(value, str) and secrets.compare_digest(value, _digest(bound_to))


def api_write_allowed(request: Request, tokens: CsrfTokens) -> bool:
    """May this API request change state? (See the module's docstring.)"""
    if request.method not in UNSAFE_METHODS:
        return True
    if request.headers.get("authorization"):
        return True  # a bearer token (a wrong one is refused as 401 by the route)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        return True
    if tokens.valid(request.headers.get(HEADER), binding(request)):
        return True
    # Nothing a forged request could use: no session and nothing in the body (logout).
    empty = (request.headers.get("content-length") in (None, "0")
             and "transfer-encoding" not in request.headers)
    return empty and not request.cookies.get(SESSION_COOKIE)
