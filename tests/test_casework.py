"""Casework on SQLite and PostgreSQL: clarifications generated, decisions with reasons
and history, appeals that withdraw notices and keep the person out of a re-plan."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from callup_data import AS_OF, SEED, build
from conftest import Register
from helpers import read_csv
from muster.casework.cases import get_case
from muster.casework.decide import decide_case
from muster.errors import ConflictError, MusterError
from muster.store.schema import (
    callup_selection,
    cases,
    eligibility_results,
    notices,
    person_events,
)

NEEDS_CLARIFICATION = {"P000000018", "P000000019", "P000000029", "P000000030",
                       "P000000043", "P000000044"}


def _status(register: Register, person_id: str) -> str:
    with register.store().engine.connect() as conn:
        return str(conn.execute(sa.select(eligibility_results.c.status).where(
            eligibility_results.c.person_id == person_id)).scalar_one())


def test_clarifications_for_every_needs_clarification_and_conflict(register: Register,
                                                                   tmp_path: Path) -> None:
    build(register)
    out = register.ok("casework", "generate", "--as-of", AS_OF, "--by", "analyst")
    assert "Opened 6 clarifications" in out
    out = register.ok("casework", "generate", "--as-of", AS_OF)
    assert "Opened 0 clarifications; 6 were open already" in out
    register.ok("export", "cases", "--out", tmp_path / "cases.csv")
    rows = read_csv(tmp_path / "cases.csv")
    assert list(rows[0]) == ["case_id", "person_id", "kind", "status"]
    assert {r["person_id"] for r in rows} == NEEDS_CLARIFICATION
    assert {(r["kind"], r["status"]) for r in rows} == {("clarification", "open")}
    conflict = get_case(register.store(), next(int(r["case_id"]) for r in rows
                                               if r["person_id"] == "P000000019"))
    assert "conflicting_identity" in conflict.reason and "birth_date" in conflict.reason
    assert conflict.detail["conflicts"] == ["birth_date"]
    with register.store().engine.connect() as conn:
        history = conn.execute(sa.select(person_events).where(
            person_events.c.person_id == "P000000019")).mappings().all()
    assert [h["kind"] for h in history] == ["case_opened"]
    assert f"case {conflict.id} (clarification) opened by analyst" in history[0]["detail"]
    queue = register.ok("casework", "queue", "--kind", "clarification")
    assert "P000000019" in queue


def test_appeal_granted_withdraws_the_notice_and_a_replan_skips_the_person(
        register: Register, tmp_path: Path) -> None:
    build(register)
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("region,quota\nTVE,3\n", encoding="utf-8")
    register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", quotas, "--seed", SEED)
    register.ok("notices", "issue", 1, "--out", tmp_path / "n")
    store = register.store()
    with store.engine.connect() as conn:
        person = conn.execute(sa.select(callup_selection.c.person_id).where(
            callup_selection.c.rank == 1)).scalar_one()
        notice_id = conn.execute(sa.select(notices.c.id).where(
            notices.c.person_id == person)).scalar_one()
    register.ok("notices", "mark", notice_id, "sent")
    register.ok("notices", "mark", notice_id, "delivered", "--evidence", "signed receipt 55")
    out = register.ok("casework", "appeal", person, "--plan", "1", "--reason",
                      "I was selected although I care for my mother", "--by", "citizen")
    case_id = int(out.split("case ")[1].split(":")[0])
    twice = register.run("casework", "appeal", person, "--plan", "1", "--reason", "again")
    assert twice.exit_code == 2 and (f"already has an open appeal against plan 1 "
                                     f"(case {case_id})") in twice.err
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(notices.c.status)).scalars().all().count("appealed") == 1

    def selected(plan_id: int) -> set[str]:
        with store.engine.connect() as conn:
            return set(conn.execute(sa.select(callup_selection.c.person_id).where(
                callup_selection.c.plan_id == plan_id)).scalars())

    # While the appeal is open the person is no candidate.
    register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", quotas, "--seed", SEED)
    assert person not in selected(2) and len(selected(2)) == 3
    result = register.run("casework", "decide", case_id, "resolved", "--reason", "x")
    assert result.exit_code == 2 and "granted or refused" in result.err
    out = register.ok("casework", "decide", case_id, "granted", "--reason",
                      "care duty proven", "--by", "officer7")
    assert f"Notice {notice_id}: appealed → withdrawn" in out
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(notices.c.status).where(
            notices.c.id == notice_id)).scalar_one() == "withdrawn"
    # Decided: no longer open, but the granted appeal keeps the person out of a re-plan.
    register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", quotas, "--seed", SEED)
    assert person not in selected(3) and len(selected(3)) == 3
    result = register.run("casework", "decide", case_id, "refused", "--reason", "again")
    assert result.exit_code == 2 and "already decided: granted by officer7" in result.err
    shown = register.ok("casework", "show", case_id)
    assert "opened by citizen" in shown and "decided by officer7: granted: care duty" in shown
    with store.engine.connect() as conn:
        details = conn.execute(sa.select(person_events.c.detail).where(
            person_events.c.person_id == person).order_by(person_events.c.id)).scalars().all()
    assert details == [
        f"case {case_id} (appeal) opened by citizen: I was selected although I care for "
        "my mother",
        f"case {case_id} (appeal) decided by officer7: granted: care duty proven"]


def test_corrections_and_claims_are_decided_with_a_reason(register: Register,
                                                          tmp_path: Path) -> None:
    build(register)
    result = register.run("casework", "correct", "P000000002", "--value", "shoe_size=44",
                          "--value", "birth_date=31.02.1999", "--reason", "typo")
    assert result.exit_code == 2
    assert "'shoe_size' is not a field" in result.err
    out = register.ok("casework", "correct", "P000000002", "--value", "birth_date=1999-03-11",
                      "--reason", "my passport says the 11th", "--by", "citizen")
    case_id = int(out.split("case ")[1].split(":")[0])
    with pytest.raises(MusterError, match="needs a reason"):
        decide_case(register.workspace(), register.store(), register.workspace().profile(),
                    case_id, "rejected", " ", "officer")
    register.ok("casework", "decide", case_id, "rejected", "--reason",
                "the passport shows the 10th", "--by", "officer1")
    assert _status(register, "P000000002") == "eligible_conscript"
    with pytest.raises(ConflictError):
        decide_case(register.workspace(), register.store(), register.workspace().profile(),
                    case_id, "approved", "changed my mind", "officer")

    result = register.run("casework", "claim", "P000000003", "--ground", "wealthy",
                          "--evidence", "x", "--reason", "r")
    assert result.exit_code == 2 and "student" in result.err
    out = register.ok("casework", "claim", "P000000003", "--ground", "student",
                      "--evidence", "university letter 12", "--reason", "I study")
    claim = int(out.split("case ")[1].split(":")[0])
    # The same claim again while it waits (a form sent twice) is refused, naming it; a
    # claim on another ground is another question.
    again = register.run("casework", "claim", "P000000003", "--ground", "student",
                         "--evidence", "university letter 12", "--reason", "I study")
    assert again.exit_code == 2 and (f"already has an open deferment claim on the ground "
                                     f"student (case {claim})") in again.err
    other = register.ok("casework", "claim", "P000000003", "--ground", "dependents",
                        "--evidence", "birth certificates", "--reason", "two children")
    register.ok("casework", "decide", int(other.split("case ")[1].split(":")[0]), "refused",
                "--reason", "one child")
    result = register.run("casework", "decide", claim, "granted", "--reason", "ok")
    assert result.exit_code == 2 and "student_until" in result.err  # the fact is needed
    register.ok("casework", "decide", claim, "refused", "--reason", "letter is not enrolment")
    with register.store().engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(cases.c.id, cases.c.status)).all())
    assert sorted(statuses.values()) == ["refused", "refused", "rejected"]
    assert (statuses[case_id], statuses[claim]) == ("rejected", "refused")
    register.ok("casework", "claim", "P000000003", "--ground", "student",  # decided: anew
                "--evidence", "enrolment certificate", "--reason", "now enrolled")
    assert _status(register, "P000000003") == "eligible_conscript"
