"""Accounts, roles and API tokens of the service (issue 6).

Four roles: an administrator sees everything; a central analyst sees aggregates
only, never a person; a regional officer sees the persons of their regions; a
citizen sees their own person. Passwords are kept as Argon2id hashes, API tokens
as their SHA-256 (a token is shown once, when it is made).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from muster.errors import ConfigError, ConflictError, NotFound, Unauthorized
from muster.limits import NAME_LENGTH
from muster.store import Store
from muster.store.schema import accounts, api_tokens, persons

ADMINISTRATOR = "administrator"
ANALYST = "analyst"
OFFICER = "officer"
CITIZEN = "citizen"
ROLES = (ADMINISTRATOR, ANALYST, OFFICER, CITIZEN)
MIN_PASSWORD = 10
TOKEN_PREFIX = "mst_"

_hasher = PasswordHasher()  # Argon2id with the library's current recommended cost


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    regions: tuple[str, ...]
    person_id: str | None
    disabled: bool
    created_at: datetime

    @property
    def label(self) -> str:
        """How the account is described to others: the binding that limits it."""
        if self.role == OFFICER:
            return f"{self.role} ({', '.join(self.regions)})"
        if self.role == CITIZEN:
            return f"{self.role} ({self.person_id})"
        return self.role


def _account(row: Any) -> Account:
    return Account(id=row.id, username=row.username, role=row.role,
                   regions=tuple(json.loads(row.regions)), person_id=row.person_id,
                   disabled=bool(row.disabled), created_at=row.created_at)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_new_account(store: Store, username: str, password: str, role: str,
                       regions: tuple[str, ...], person_id: str | None,
                       known_regions: Iterable[str] | None) -> None:
    problems: list[str] = []
    if not username.strip() or any(ch.isspace() for ch in username):
        problems.append(f"username {username!r} must be one word without spaces")
    if len(username) > NAME_LENGTH:
        problems.append(f"the username has {len(username)} characters; give at most "
                        f"{NAME_LENGTH}")
    if role not in ROLES:
        problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        problems.append(f"the password has {len(password)} characters; give at least "
                        f"{MIN_PASSWORD}")
    if role == OFFICER and not regions:
        problems.append("an officer needs at least one region (--region CODE)")
    if role != OFFICER and regions:
        problems.append(f"only an officer is bound to regions, not a {role}")
    if role == CITIZEN and not person_id:
        problems.append("a citizen needs the person they are (--person P000000042)")
    if role != CITIZEN and person_id:
        problems.append(f"only a citizen is bound to a person, not a {role}")
    if known_regions is not None:
        known = set(known_regions)
        for code in regions:
            if code not in known:
                problems.append(f"region {code!r} is not in the profile "
                                f"(known: {', '.join(sorted(known))})")
    if problems:
        raise ConfigError(f"Cannot add account {username!r}:", problems=problems)
    with store.engine.connect() as conn:
        if conn.execute(sa.select(accounts.c.id).where(accounts.c.username == username)).first():
            raise ConflictError(f"Account {username!r} already exists.",
                                hint="Choose another username, or `muster users list`.")
        if person_id and not conn.execute(sa.select(persons.c.person_id).where(
                persons.c.person_id == person_id)).first():
            raise NotFound(f"No person {person_id} in the register.",
                           hint="Find the citizen's person id with `muster person find`.")


def add_account(store: Store, username: str, password: str, role: str, *,
                regions: Iterable[str] = (), person_id: str | None = None,
                known_regions: Iterable[str] | None = None) -> Account:
    """Create an account; every problem with the request is reported at once."""
    region_codes = tuple(dict.fromkeys(r.strip() for r in regions if r.strip()))
    _check_new_account(store, username, password, role, region_codes, person_id, known_regions)
    with store.engine.begin() as conn:
        conn.execute(accounts.insert().values(
            username=username, password_hash=hash_password(password), role=role,
            regions=json.dumps(list(region_codes)), person_id=person_id, disabled=0,
            created_at=datetime.now(UTC)))
    return get_account(store, username)


def get_account(store: Store, username: str) -> Account:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.username == username)).first()
    if row is None:
        raise NotFound(f"No account {username!r}.", hint="See them with `muster users list`.")
    return _account(row)


def account_by_id(store: Store, account_id: int) -> Account | None:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
    return None if row is None else _account(row)


def list_accounts(store: Store) -> list[Account]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(accounts).order_by(accounts.c.username)).all()
    return [_account(r) for r in rows]


def disable_account(store: Store, username: str) -> Account:
    """Disable an account: its password, sessions and tokens stop working at once."""
    account = get_account(store, username)
    with store.engine.begin() as conn:
        conn.execute(accounts.update().where(accounts.c.id == account.id).values(disabled=1))
    return get_account(store, username)


def authenticate(store: Store, username: str, password: str) -> Account:
    """The account whose password this is; one message for every kind of failure."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.username == username)).first()
    failure = Unauthorized("Wrong username or password.",
                           hint="Check both; after 5 failures the account waits a minute.")
    if row is None:
        _hasher.hash(password)  # same cost as a real check: no timing hint that it is missing
        raise failure
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if row.disabled:
        raise Unauthorized(f"Account {username!r} is disabled.",
                           hint="Ask an administrator to issue you a new account.")
    if _hasher.check_needs_rehash(row.password_hash):
        with store.engine.begin() as conn:
            conn.execute(accounts.update().where(accounts.c.id == row.id).values(
                password_hash=hash_password(password)))
    return _account(row)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, username: str, name: str) -> str:
    """A new API token for the account; only its SHA-256 is kept, so show it now."""
    account = get_account(store, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(api_tokens.insert().values(
            account_id=account.id, name=name, token_sha256=_token_digest(token),
            created_at=datetime.now(UTC)))
    return token


# Run for every request a machine client makes: built once.
_ACCOUNT_OF_TOKEN = sa.select(accounts).join(
    api_tokens, api_tokens.c.account_id == accounts.c.id).where(
    api_tokens.c.token_sha256 == sa.bindparam("digest", type_=sa.String))


def account_for_token(store: Store, token: str) -> Account:
    with store.read_connection() as conn:
        row = conn.execute(_ACCOUNT_OF_TOKEN, {"digest": _token_digest(token)}).first()
    if row is None:
        raise Unauthorized("The API token is not valid.",
                           hint="Ask an administrator for one: `muster users token USERNAME`.")
    if row.disabled:
        raise Unauthorized(f"Account {row.username!r} is disabled.",
                           hint="Ask an administrator to issue you a new account.")
    return _account(row)
