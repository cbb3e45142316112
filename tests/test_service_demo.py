"""`muster users demo`: the demo's four accounts, bound so that each shows something."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import Register
from eligibility_data import man, write_register
from muster.service import access
from muster.service.accounts import authenticate, list_accounts
from muster.store import Store
from muster.store.schema import notices, persons

FIRST = "P000000001"  # TVE, no notice
NOTICED = "P000000002"  # MOW, received a notice of plan 2


def _register(store: Store, *, with_notice: bool) -> None:
    write_register(store, [man(FIRST, region="TVE"), man(NOTICED, region="MOW"),
                           man("P000000003", region="SPE")])
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(persons.insert(), [
            {"person_id": p, "status": "active", "created_run": 1}
            for p in (FIRST, NOTICED, "P000000003")])
        if with_notice:
            conn.execute(notices.insert().values(
                plan_id=2, person_id=NOTICED, region="MOW", rank=1, status="issued",
                file="notices/2-MOW-1.pdf", file_sha256="0" * 64, issued_at=now,
                updated_at=now))


def _passwords(out: str) -> dict[str, str]:
    """username -> password, read from the printed table's rows."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines()
            if line.count("│") >= 5]
    return {row[1]: row[2] for row in rows if row[1] and row[0] != "role"}


def test_demo_makes_one_account_per_role_around_a_citizen_with_a_notice(
        register: Register) -> None:
    store = register.store()
    _register(store, with_notice=True)
    out = register.ok("users", "demo")
    assert "Demo only" in out
    passwords = _passwords(out)
    assert set(passwords) == {"admin", "analyst", "officer", "citizen"}
    assert len(set(passwords.values())) == 4  # made afresh, one each
    roles = {}
    for username, password in passwords.items():
        account = authenticate(store, username, password)  # the printed password works
        roles[account.role] = account
    assert set(roles) == {"administrator", "analyst", "officer", "citizen"}
    # The citizen is the person with a notice; the officer serves their region and so
    # may open their record, which an officer of another region may not.
    assert roles["citizen"].person_id == NOTICED
    assert roles["officer"].regions == ("MOW",)
    access.require_person(store, roles["officer"], NOTICED, "casework")
    assert "no notices yet" not in out


def test_demo_without_notices_binds_the_first_person_and_says_so(register: Register) -> None:
    store = register.store()
    _register(store, with_notice=False)
    out = register.ok("users", "demo")
    assert "no notices yet" in out
    citizen = next(a for a in list_accounts(store) if a.role == "citizen")
    officer = next(a for a in list_accounts(store) if a.role == "officer")
    assert citizen.person_id == FIRST and officer.regions == ("TVE",)


def test_demo_refuses_when_its_accounts_exist_and_makes_none(register: Register) -> None:
    store = register.store()
    _register(store, with_notice=True)
    register.ok("users", "add", "citizen", "--role", "administrator",
                "--password", "correct horse battery")
    result = register.run("users", "demo")
    assert result.exit_code == 2 and "exist already: citizen" in result.err
    assert [a.username for a in list_accounts(store)] == ["citizen"]


def test_demo_needs_a_resolved_register(register: Register) -> None:
    result = register.run("users", "demo")
    assert result.exit_code == 2 and "muster resolve" in result.err
