"""Who is asking: session cookies, bearer tokens and the login throttle.

A session is a signed (itsdangerous) cookie naming the account, HttpOnly and
SameSite=strict; machine clients send ``Authorization: Bearer <token>``. Either
way the account is re-read on every request, so disabling it takes effect at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from muster.errors import TooManyRequests, Unauthorized
from muster.service.accounts import Account, account_by_id, account_for_token
from muster.store import Store
from muster.store.schema import login_failures

SESSION_COOKIE = "muster_session"
SESSION_SECONDS = 8 * 3600  # one working day


class Sessions:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="muster-session")

    def sign(self, account: Account) -> str:
        return self._serializer.dumps({"account": account.id})

    def account_id(self, cookie: str) -> int | None:
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # also covers an expired signature
            return None
        value = data.get("account") if isinstance(data, dict) else None
        return value if isinstance(value, int) else None


class LoginThrottle:
    """At most ``limit`` failed logins per account within ``window`` seconds.

    Failures are kept in the register (``login_failures``), not in the process: every
    worker of `muster serve --workers N`, and a restarted service, count the same
    ones, where a count per process let N workers take N times the guesses. While an
    account is throttled even its right password is refused, so guessing gains nothing.
    """

    def __init__(self, limit: int = 5, window: float = 60.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit, self.window, self.clock = limit, window, clock

    def check(self, store: Store, username: str) -> None:
        now = self.clock()
        f = login_failures.c
        with store.read_connection() as conn:
            first, count = conn.execute(
                sa.select(sa.func.min(f.failed_at), sa.func.count())
                .where(f.username == username, f.failed_at > now - self.window)).one()
        if count >= self.limit:
            wait = max(1, int(first + self.window - now) + 1)
            raise TooManyRequests(f"Too many failed logins for {username!r}.",
                                  retry_after=wait, hint=f"Wait {wait} s and try again.")

    def failed(self, store: Store, username: str) -> None:
        now = self.clock()
        f = login_failures.c
        with store.engine.begin() as conn:
            # Every failure that is over goes, whoever's: guesses at names that do not
            # exist leave no rows behind, so the table holds a minute of failures.
            conn.execute(sa.delete(login_failures).where(f.failed_at <= now - self.window))
            conn.execute(sa.insert(login_failures).values(username=username, failed_at=now))

    def succeeded(self, store: Store, username: str) -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.delete(login_failures).where(
                login_failures.c.username == username))


def identify(store: Store, sessions: Sessions, authorization: str | None,
             cookie: str | None) -> Account:
    """The account behind a bearer token or a session cookie (the token wins)."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("The Authorization header is not `Bearer <token>`.",
                               hint="Send `Authorization: Bearer <token>`.")
        return account_for_token(store, token.strip())
    if cookie:
        account_id = sessions.account_id(cookie)
        account = account_by_id(store, account_id) if account_id is not None else None
        if account is None:
            raise Unauthorized("The session has expired or is not valid.",
                               hint="Log in again: POST /api/v1/login.")
        if account.disabled:
            raise Unauthorized(f"Account {account.username!r} is disabled.",
                               hint="Ask an administrator to issue you a new account.")
        return account
    raise Unauthorized("Not logged in.",
                       hint="POST /api/v1/login, or send `Authorization: Bearer <token>`.")
