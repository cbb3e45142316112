"""Officer-verified values on a real (ingested, resolved) synthetic register, SQLite and
PostgreSQL: a source record of the registration office pinned to the person, values
that win survivorship with their provenance, eligibility decided again at once."""

from __future__ import annotations

import threading
import tomllib
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from conftest import Register
from helpers import records
from muster.casework.verified import record_verified
from muster.resolve.queries import person_view
from muster.store.schema import (
    eligibility_results,
    golden_records,
    record_pins,
)

AS_OF = "2024-06-01"


def _pick(register: Register) -> str:
    """A man waiting for a current fitness examination, with a national id."""
    with register.store().engine.connect() as conn:
        rows = conn.execute(sa.select(eligibility_results.c.person_id).join(
            golden_records, golden_records.c.person_id == eligibility_results.c.person_id).where(
            eligibility_results.c.ground == "fitness_outdated",
            golden_records.c.national_id.is_not(None),
            golden_records.c.conflicts == 0).order_by(
            eligibility_results.c.person_id)).scalars().all()
    assert rows, "the synthetic register has nobody awaiting re-examination"
    return str(rows[0])


def _chosen(register: Register, person_id: str, field: str) -> dict[str, object]:
    [chosen] = [v for v in person_view(register.store(), person_id).values
                if v["field"] == field and v["chosen"]]
    return chosen


def test_officer_verified_values_win_with_provenance(register: Register,
                                                     tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    register.ok("synth", extracts, "--persons", 200, "--seed", 11)
    register.ok("sources", "add", extracts / "sources.toml")
    register.ok("ingest", "--all")
    register.ok("resolve")
    register.ok("eligibility", "evaluate", "--as-of", AS_OF)
    register.ok("casework", "generate", "--as-of", AS_OF)
    person = _pick(register)
    before = _chosen(register, person, "fitness_category")
    assert before["source"] != "registration_office"
    with register.store().engine.connect() as conn:
        case_id = conn.execute(sa.text(
            "SELECT id FROM cases WHERE person_id = :p AND kind = 'clarification'"),
            {"p": person}).scalar_one()
    out = register.ok("casework", "decide", case_id, "resolved", "--value", "fitness_category=B",
                      "--value", "fitness_date=2024-04-02", "--reason",
                      "examined by the medical board", "--by", "officer3")
    assert f"registration_office:case-{case_id}-1" in out

    # The source record: ingested through the ingest stage, pinned to the person.
    office = records(register.store(), "registration_office")
    row = office[f"case-{case_id}-1"]
    assert row["fitness_category"] == "B" and str(row["fitness_date"]) == "2024-04-02"
    assert row["birth_date"] is None and row["sex"] is None  # never copied unverified
    with register.store().engine.connect() as conn:
        pin = conn.execute(sa.select(record_pins)).mappings().one()
    assert (pin["record_id"], pin["person_id"], pin["case_id"]) == (
        f"case-{case_id}-1", person, case_id)
    config = tomllib.loads((register.root / "muster.toml").read_text(encoding="utf-8"))
    assert "registration_office" in config["sources"]

    # Survivorship: the officer's values win over the health agency's, and say where
    # they came from; the agency's value is kept beside them.
    chosen = _chosen(register, person, "fitness_category")
    assert (chosen["value"], chosen["source"], chosen["record_id"]) == (
        "B", "registration_office", f"case-{case_id}-1")
    assert _chosen(register, person, "fitness_date")["source"] == "registration_office"
    with register.store().engine.connect() as conn:
        status = conn.execute(sa.select(eligibility_results.c.status).where(
            eligibility_results.c.person_id == person)).scalar_one()
    assert status != "needs_clarification"  # decided again at once
    shown = register.ok("person", "show", person)
    assert f"registration_office:case-{case_id}-1" in shown
    assert f"case {case_id} (clarification) decided by officer3" in shown
    # The declared source does not break `ingest --all`: its file is the office's extract.
    register.ok("ingest", "--all")

    # Two officers recording at the same moment (the service's workers, the command
    # line): both values reach the office's extract and the register, none is lost.
    with register.store().engine.connect() as conn:
        others = conn.execute(sa.text(
            "SELECT id, person_id FROM cases WHERE kind = 'clarification' AND person_id <> :p "
            "ORDER BY id LIMIT 2"), {"p": person}).all()
    assert len(others) == 2
    ws, store = register.workspace(), register.store()
    errors: list[BaseException] = []

    def record(case: int, who: str) -> None:
        try:
            record_verified(ws, store, ws.profile(), case, who, {"fitness_category": "A"},
                            date(2024, 6, 2))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(int(c), str(p))) for c, p in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    office = records(register.store(), "registration_office")
    assert {f"case-{c}-1" for c, _ in others} <= set(office)
