"""The demo's accounts: one of each role, bound so that each shows something (issue 6).

The citizen is a person who received a notice of the newest call-up plan, so their
portal has a notice to show; the regional officer is bound to that person's region,
so the officer can find and open the citizen. Passwords are made afresh each time
and shown once: they are for a demonstration register, never a real one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from muster.errors import ConflictError
from muster.service.accounts import (
    ADMINISTRATOR,
    ANALYST,
    CITIZEN,
    OFFICER,
    Account,
    add_account,
    list_accounts,
)
from muster.store import Store
from muster.store.schema import golden_records, notices, persons

USERNAMES = {ADMINISTRATOR: "admin", ANALYST: "analyst", OFFICER: "officer",
             CITIZEN: "citizen"}


@dataclass(frozen=True)
class DemoAccount:
    account: Account
    password: str


@dataclass(frozen=True)
class DemoAccounts:
    accounts: list[DemoAccount]
    citizen_has_notice: bool  # False: the register has no notices yet


def _citizen(store: Store, regions: list[str]) -> tuple[str, str, bool]:
    """(person id, region, has a notice): a person with a notice of the newest plan if
    there is one, else the first active person; either in a region of the profile."""
    g, p, n = golden_records.c, persons.c, notices.c
    active = sa.select(g.person_id, g.region).join(persons, p.person_id == g.person_id).where(
        p.status == "active", g.region.in_(regions))
    with store.engine.connect() as conn:
        noticed = conn.execute(active.join(notices, n.person_id == g.person_id).order_by(
            n.plan_id.desc(), n.id).limit(1)).first()
        if noticed is not None:
            return noticed.person_id, noticed.region, True
        anyone = conn.execute(active.order_by(g.person_id).limit(1)).first()
    if anyone is None:
        raise ConflictError("The register has no person in a known region to make the demo "
                            "citizen of.", hint="Ingest extracts and run `muster resolve` first.")
    return anyone.person_id, anyone.region, False


def create_demo_accounts(store: Store, known_regions: Iterable[str]) -> DemoAccounts:
    """Create admin, analyst, officer and citizen with new passwords (all or none)."""
    taken = sorted({a.username for a in list_accounts(store)} & set(USERNAMES.values()))
    if taken:
        raise ConflictError(f"The demo accounts exist already: {', '.join(taken)}.",
                            hint="They are made once per register; start from a fresh "
                            "workspace, or add accounts with `muster users add`.")
    regions = list(known_regions)
    person_id, region, has_notice = _citizen(store, regions)
    made = []
    for role, username in USERNAMES.items():
        password = secrets.token_urlsafe(12)  # 16 characters
        account = add_account(
            store, username, password, role, known_regions=regions,
            regions=(region,) if role == OFFICER else (),
            person_id=person_id if role == CITIZEN else None)
        made.append(DemoAccount(account, password))
    return DemoAccounts(made, has_notice)
