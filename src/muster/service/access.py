"""Who may see what: the service's access rules, in one place (issue 6).

A role that may never use an endpoint gets 403 (an analyst asking for a person, a
citizen searching). A role that may use it, asking about a person outside its
scope (an officer and a person of another region, a citizen and somebody else),
gets 404, exactly as for a person who does not exist: the answer must not reveal
who is in the register.
"""

from __future__ import annotations

import sqlalchemy as sa

from muster.errors import BadRequest, Forbidden, NotFound
from muster.service.accounts import ADMINISTRATOR, ANALYST, CITIZEN, OFFICER, Account
from muster.service.audit import PURPOSES
from muster.store import Reader, reading
from muster.store.schema import golden_records, persons

# Who may do what, beyond reading a person (casework, plans, notices; issue 6).
CASEWORKERS = (ADMINISTRATOR, OFFICER)  # open clarifications, decide, move notices, review
PERSON_SIDE = (ADMINISTRATOR, OFFICER, CITIZEN)  # corrections, claims, appeals, notices
PLAN_READERS = (ADMINISTRATOR, ANALYST, OFFICER)  # analysts: counts only


def _no_person(person_id: str) -> NotFound:
    return NotFound(f"No person {person_id} that you may see.",
                    hint="Search with GET /api/v1/persons?name=...")


def require_search(account: Account) -> tuple[str, ...] | None:
    """May the account search persons? Returns the regions it is limited to (None: all)."""
    if account.role == ADMINISTRATOR:
        return None
    if account.role == OFFICER:
        return account.regions
    raise Forbidden(f"A {account.role} may not search persons.",
                    hint="Searching is for officers and administrators.")


def require_role(account: Account, roles: tuple[str, ...], what: str) -> None:
    """403 unless the account's role is one of ``roles``; ``what`` names the act."""
    if account.role not in roles:
        allowed = ", ".join(f"{r}s" for r in roles)
        raise Forbidden(f"A {account.role} may not {what}.", hint=f"Only {allowed} may.")


def person_region(conn: sa.Connection, person_id: str) -> tuple[bool, str | None]:
    """(the person exists, their golden region)."""
    row = conn.execute(sa.select(persons.c.person_id, golden_records.c.region).outerjoin(
        golden_records, golden_records.c.person_id == persons.c.person_id).where(
        persons.c.person_id == person_id)).first()
    return (row is not None, row.region if row is not None else None)


def require_in_scope(db: Reader, account: Account, person_id: str) -> None:
    """404 unless the person exists and is the account's to see: a citizen themselves, an
    officer a person of their regions, an administrator anyone. Call after the role check."""
    if account.role not in PERSON_SIDE or (account.role == CITIZEN
                                           and person_id != account.person_id):
        raise _no_person(person_id)
    with reading(db) as conn:
        exists, region = person_region(conn, person_id)
    if not exists or (account.role == OFFICER and region not in account.regions):
        raise _no_person(person_id)


def require_person(db: Reader, account: Account, person_id: str,
                   purpose: str | None) -> None:
    """May the account open this person's record, for this purpose?"""
    require_role(account, (ADMINISTRATOR, OFFICER, CITIZEN), "see a person's record")
    require_in_scope(db, account, person_id)
    if account.role == OFFICER and purpose is None:
        raise BadRequest("An officer opening a record must say why: the purpose is "
                         "missing.", hint=f"Add ?purpose= one of {', '.join(PURPOSES)}.")
    if purpose is not None and purpose not in PURPOSES:
        raise BadRequest(f"Purpose {purpose!r} is not one of the allowed purposes.",
                         hint=f"Use one of {', '.join(PURPOSES)}.")


def regions_of(account: Account) -> tuple[str, ...] | None:
    """The regions an account's lists are limited to (None: all)."""
    return account.regions if account.role == OFFICER else None


def require_stats(account: Account) -> tuple[str, ...] | None:
    """May the account read aggregates? Returns the regions it is limited to (None: all)."""
    if account.role in (ADMINISTRATOR, ANALYST):
        return None
    if account.role == OFFICER:
        return account.regions
    raise Forbidden(f"A {account.role} may not read the register's statistics.",
                    hint="Statistics are for analysts, officers and administrators.")


def require_audit(account: Account, person_id: str | None) -> str | None:
    """May the account read the audit log? Returns the person it is limited to."""
    if account.role == ADMINISTRATOR:
        return person_id
    if account.role == CITIZEN:
        if person_id is not None and person_id != account.person_id:
            raise _no_person(person_id)
        return account.person_id
    raise Forbidden(f"A {account.role} may not read the audit log.",
                    hint="Administrators read the log; citizens read the entries about "
                    "themselves.")
