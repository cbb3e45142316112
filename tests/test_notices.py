"""Notices on SQLite and PostgreSQL: PDF content, every transition legal and illegal,
delivery only with evidence, and no notice for a person who may not be called now."""

from __future__ import annotations

import itertools
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa

from callup_data import AS_OF, SEED, build
from conftest import Register
from muster.callup import ticket
from muster.casework.cases import open_case
from muster.errors import ConflictError
from muster.notices import STATUSES, TRANSITIONS
from muster.notices.lifecycle import check_transition
from muster.store.schema import callup_selection, notice_events, notices


def _plan_and_issue(register: Register, tmp_path: Path, *extra: str) -> tuple[int, Path]:
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("region,quota\nTVE,3\nMOW,1\n", encoding="utf-8")
    register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", quotas, "--seed", SEED)
    out = tmp_path / "notices"
    register.ok("notices", "issue", 1, "--out", out, *extra)
    return 1, out


def _notices(register: Register) -> list[dict[str, object]]:
    with register.store().engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(notices).order_by(notices.c.region, notices.c.rank)).mappings()]


def test_one_pdf_per_selected_person_with_what_the_law_requires(register: Register,
                                                               tmp_path: Path) -> None:
    build(register)
    store = register.store()
    plan_id, out = _plan_and_issue(register, tmp_path)
    issued = _notices(register)
    assert len(issued) == 4 and {n["status"] for n in issued} == {"issued"}
    assert len(list(out.glob("*.pdf"))) == 4
    with store.engine.connect() as conn:
        selected = conn.execute(sa.select(callup_selection).where(
            callup_selection.c.region == "TVE", callup_selection.c.rank == 2)).mappings().one()
    notice = next(n for n in issued if n["person_id"] == selected["person_id"])
    text = " ".join(pypdf.PdfReader(str(notice["file"])).pages[0].extract_text().split())
    number = int(selected["person_id"][1:])
    for expected in (
        f"Иванов{number} Иван",                                   # the person's name
        "Reference military registration law (example)",       # legal basis
        "version 2024-01-01", "as in force on 2024-06-01",
        "Military registration office of Тверская область",    # where to report
        "1 Registry Street", "within 30 days",                  # when
        f"call-up plan {plan_id}", "rank 2", SEED,              # why selected
        ticket(SEED, selected["person_id"]),
        "claim a deferment", "appeal against your selection",  # rights
        "within 15 days of receiving this notice",              # the deadline
    ):
        assert expected in text, expected
    # Issuing again adds nothing: everyone selected has a notice.
    again = register.ok("notices", "issue", plan_id, "--out", out)
    assert "Issued 0 notices" in again and "4 had one already" in again
    status = register.ok("notices", "status", plan_id)
    assert "issued" in status and "4 notices" in status


def test_a_person_with_an_open_case_gets_no_notice(register: Register, tmp_path: Path) -> None:
    build(register)
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("region,quota\nTVE,3\n", encoding="utf-8")
    register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", quotas, "--seed", SEED)
    with register.store().engine.connect() as conn:
        first = conn.execute(sa.select(callup_selection.c.person_id).where(
            callup_selection.c.rank == 1)).scalar_one()
    open_case(register.store(), first, "deferment_claim", "new evidence", {}, "citizen")
    out = register.ok("notices", "issue", 1, "--out", tmp_path / "n")
    assert f"No notice for {first}" in out and "has an open case" in out
    assert first not in {n["person_id"] for n in _notices(register)}
    assert len(_notices(register)) == 2


def test_notices_into_a_file_are_refused_and_nothing_is_issued(register: Register,
                                                              tmp_path: Path) -> None:
    build(register)
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("region,quota\nTVE,3\n", encoding="utf-8")
    register.ok("callup", "plan", "--as-of", AS_OF, "--quotas", quotas, "--seed", SEED)
    result = register.run("notices", "issue", 1, "--out", quotas)  # was: FileExistsError
    assert result.exit_code == 2 and "Unexpected" not in result.err
    assert f"Cannot write the notices into {quotas}: File exists" in result.err
    assert _notices(register) == []


def test_an_id_no_row_can_have_is_a_clear_error(register: Register) -> None:
    # Was "Unexpected error: OverflowError" (SQLite, DuckDB).
    for args in (("notices", "show"), ("notices", "mark"), ("casework", "show"),
                 ("callup", "verify")):
        result = register.run(*args, "99999999999999999999",
                              *(["sent"] if args[1] == "mark" else []))
        assert result.exit_code == 2 and "Unexpected" not in result.err
        assert "less than or equal to 2147483647" in result.err


def test_every_transition_legal_and_illegal() -> None:
    for current, to in itertools.product(STATUSES, STATUSES):
        legal = to in TRANSITIONS[current]
        try:
            check_transition(1, current, to, evidence="receipt 1")
        except ConflictError as exc:
            assert not legal, (current, to)
            assert f"Notice 1 is {current}; it cannot become {to}." == exc.message
            assert exc.hint
        else:
            assert legal, (current, to)
    assert TRANSITIONS["issued"] == ("sent", "withdrawn")
    assert TRANSITIONS["sent"] == ("delivered", "withdrawn")
    assert set(TRANSITIONS["delivered"]) == {"reported", "deferred", "appealed", "withdrawn"}
    assert set(TRANSITIONS["appealed"]) == {"reported", "deferred", "withdrawn"}
    for final in ("reported", "deferred", "withdrawn"):
        assert TRANSITIONS[final] == ()
    with pytest.raises(ConflictError, match="without evidence of delivery"):
        check_transition(1, "sent", "delivered", evidence=None)
    with pytest.raises(ConflictError, match="without evidence of delivery"):
        check_transition(1, "sent", "delivered", evidence="  ")


@pytest.mark.parametrize("path", [
    ["sent", "delivered", "reported"],
    ["sent", "delivered", "deferred"],
    ["sent", "delivered", "appealed", "withdrawn"],
    ["sent", "delivered", "appealed", "reported"],
    ["sent", "withdrawn"],
    ["withdrawn"],
])
def test_notice_life_in_the_register(register: Register, tmp_path: Path,
                                     path: list[str]) -> None:
    build(register)
    _plan_and_issue(register, tmp_path, "--limit", "1")
    notice_id = int(_notices(register)[0]["id"])  # type: ignore[call-overload]
    for status in path:
        extra = ["--evidence", "registered mail RR123"] if status == "delivered" else []
        out = register.ok("notices", "mark", notice_id, status, *extra, "--by", "clerk")
        assert f"→ {status}" in out
    # After a final status nothing moves, and the refusal says why.
    result = register.run("notices", "mark", notice_id, "sent")
    assert result.exit_code == 2 and "it cannot become sent" in result.err
    with register.store().engine.connect() as conn:
        events = conn.execute(sa.select(notice_events).where(
            notice_events.c.notice_id == notice_id).order_by(notice_events.c.id)
        ).mappings().all()
    assert [e["to_status"] for e in events] == ["issued", *path]
    assert all(e["actor"] == "clerk" for e in events[1:])
    if "delivered" in path:
        assert events[path.index("delivered") + 1]["evidence"] == "registered mail RR123"
    assert "issued" in register.ok("notices", "show", notice_id)


def test_delivery_needs_evidence_and_illegal_moves_are_refused(register: Register,
                                                              tmp_path: Path) -> None:
    build(register)
    _plan_and_issue(register, tmp_path, "--limit", "1")
    notice_id = int(_notices(register)[0]["id"])  # type: ignore[call-overload]
    result = register.run("notices", "mark", notice_id, "delivered", "--evidence", "x")
    assert result.exit_code == 2 and "is issued; it cannot become delivered" in result.err
    assert "From issued a notice can become: sent, withdrawn" in result.err
    register.ok("notices", "mark", notice_id, "sent")
    result = register.run("notices", "mark", notice_id, "delivered")
    assert result.exit_code == 2 and "without evidence of delivery" in result.err
    assert "never deemed delivered" in result.err
    result = register.run("notices", "mark", notice_id, "reported")
    assert result.exit_code == 2
    result = register.run("notices", "mark", notice_id, "lost")
    assert result.exit_code == 2 and "not a notice status" in result.err
    assert _notices(register)[0]["status"] == "sent"
