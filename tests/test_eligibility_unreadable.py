"""Nobody is called up past a record that says something about him no one could read: a
death date of 31.02, a fitness category outside the codes. Ingest flags such a value and
leaves it out of the golden record; a man who would otherwise be eligible is held
(``unreadable_value``) until the agency sends the record again or an officer verifies the
field. On SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import Register
from eligibility_data import man, write_register
from muster.store.schema import person_records, record_flags
from test_eligibility_review import AS_OF, _evaluate

GROUND = "unreadable_value"


def _flag(register: Register, person_id: str, source: str, field: str, problem: str,
          raw: str) -> None:
    """A record of the person's whose ``field`` ingest flagged with ``problem``."""
    record_id = f"{person_id}-{source}-flagged"
    with register.store().engine.begin() as conn:
        conn.execute(person_records.insert(), [{"source": source, "record_id": record_id,
                                                "person_id": person_id, "run_id": 1}])
        conn.execute(record_flags.insert(), [{"source": source, "record_id": record_id,
                                              "field": field, "problem": problem,
                                              "raw_value": raw}])


def test_an_unreadable_value_about_a_ground_holds_him(register: Register) -> None:
    write_register(register.store(), [man(f"P00000000{i}") for i in range(1, 6)]
                   + [man("P000000006", fitness_category="E")])
    _flag(register, "P000000001", "civil", "death_date", "bad_date", "31.02.2024")
    _flag(register, "P000000002", "health", "fitness_category", "unmapped_code", "Д")
    _flag(register, "P000000003", "civil", "dependents", "not_a_count", "двое")
    _flag(register, "P000000004", "education", "student_until", "bad_date", "июнь 2026")
    # Not about a ground: an identifier that failed its check holds nobody.
    _flag(register, "P000000005", "tax", "tax_id", "bad_check_digits", "7700000000")
    _flag(register, "P000000006", "civil", "death_date", "implausible_date", "15.01.2052")
    results = _evaluate(register)
    assert {p: (r["status"], r["ground"]) for p, r in results.items()} == {
        **{f"P00000000{i}": ("needs_clarification", GROUND) for i in range(1, 5)},
        "P000000005": ("eligible_conscript", "conscription"),
        "P000000006": ("exempt", "unfit"),  # exempt whatever the record says
    }
    assert GROUND in results["P000000006"]["grounds"].split(",")
    out = register.ok("eligibility", "explain", "P000000001", "--as-of", AS_OF)
    assert "Values about their grounds that could not be read" in out
    assert "death_date '31.02.2024' (bad_date)" in out
    assert "Agrees with the stored evaluation" in out
    out = register.ok("eligibility", "explain", "P000000005", "--as-of", AS_OF)
    assert "Values about their grounds that could not be read" not in out


def test_an_officer_verified_value_of_the_field_settles_it(register: Register) -> None:
    write_register(register.store(), [
        man("P000000001", chosen_source={"fitness_category": "registration_office"}),
        man("P000000002", chosen_source={"death_date": "registration_office"})])
    _flag(register, "P000000001", "health", "fitness_category", "unmapped_code", "Д")
    # Verified: the fitness category, not the death date that could not be read.
    _flag(register, "P000000002", "civil", "death_date", "bad_date", "31.02.2024")
    results = _evaluate(register)
    assert results["P000000001"]["status"] == "eligible_conscript"
    assert results["P000000002"]["ground"] == GROUND
    out = register.ok("eligibility", "explain", "P000000001", "--as-of", AS_OF)
    assert "Values about their grounds that could not be read" not in out
    assert "Agrees with the stored evaluation" in out
