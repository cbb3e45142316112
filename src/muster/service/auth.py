"""Who is asking: session cookies, bearer tokens and the login throttle.

A session is a signed (itsdangerous) cookie naming the account, HttpOnly and
SameSite=strict; machine clients send ``Authorization: Bearer <token>``. Either
way the account is re-read on every request, so disabling it takes effect at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer

from muster.errors import TooManyRequests, Unauthorized
from muster.service.accounts import Account, account_by_id, account_for_token
from muster.store import Store

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

    Kept in the process: one `muster serve` process serves a register. While an
    account is throttled even its right password is refused, so guessing gains nothing.
    """

    def __init__(self, limit: int = 5, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, username: str) -> deque[float]:
        now = self.clock()
        failures = self._failures.setdefault(username, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, username: str) -> None:
        with self._lock:
            failures = self._recent(username)
            if not failures:  # forget names whose failures are over: memory stays bounded
                del self._failures[username]
            elif len(failures) >= self.limit:
                wait = max(1, int(failures[0] + self.window - self.clock()) + 1)
                raise TooManyRequests(
                    f"Too many failed logins for {username!r}.", retry_after=wait,
                    hint=f"Wait {wait} s and try again.")

    def failed(self, username: str) -> None:
        with self._lock:
            self._recent(username).append(self.clock())

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(username, None)


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
