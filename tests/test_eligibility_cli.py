"""The eligibility commands end to end on SQLite and PostgreSQL: evaluate, explain,
diff (which writes nothing), law show, export, and their errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import Register
from eligibility_data import man, write_register
from helpers import count, read_csv
from muster.eligibility.law import load_law
from muster.profile import load_profile

PERSONS = [
    man("P000000001"),                                                   # eligible conscript
    man("P000000002", birth_date=date(1995, 6, 15)),                     # 28: over age in 2023
    man("P000000003", sex="F", region="MOW"),                            # not subject
    man("P000000004", student_until=date(2025, 6, 30), occupation="Teacher"),  # deferred
    man("P000000005", fitness_category="D", fitness_date=date(2023, 9, 1),
        region="MOW"),                                                   # deferred until 2024-09-01
    man("P000000006", birth_date=date(2006, 6, 2)),                      # under age
    man("P000000007", conflicts={"birth_date": [(date(1999, 3, 11), "voters")]}),
]


def _register(register: Register) -> Register:
    write_register(register.store(), PERSONS)
    return register


def test_evaluate_explain_export(register: Register, tmp_path: Path) -> None:
    reg = _register(register)
    out = reg.ok("eligibility", "evaluate", "--as-of", "2024-06-01")
    assert "eligible_conscript" in out and "not_subject" in out
    assert "Evaluated 7 persons on 2024-06-01 under reference 2024-01-01" in out
    assert count(reg.store(), "eligibility_results") == 7

    out = reg.ok("eligibility", "explain", "P000000005", "--as-of", "2024-06-01")
    assert "deferred" in out and "temporarily_unfit" in out and "2024-09-01" in out
    assert "health:P000000005-health" in out  # the source record of the fitness facts
    assert "temporary_unfitness_months" in out and "conscription_max_age" in out
    assert "Agrees with the stored evaluation" in out

    out = reg.ok("eligibility", "explain", "P000000007", "--as-of", "2024-06-01")
    assert "conflicting_identity" in out and "1999-03-11 (voters:" in out

    csv = tmp_path / "eligibility.csv"
    reg.ok("export", "eligibility", "--as-of", "2024-06-01", "--out", csv)
    rows = {r["person_id"]: r for r in read_csv(csv)}
    assert list(next(iter(rows.values()))) == ["person_id", "status", "ground", "until"]
    assert rows["P000000005"] == {"person_id": "P000000005", "status": "deferred",
                                  "ground": "temporarily_unfit", "until": "2024-09-01"}
    assert rows["P000000004"]["ground"] == "protected_occupation"
    assert rows["P000000004"]["until"] == ""
    assert rows["P000000006"]["until"] == "2024-06-02"
    assert rows["P000000001"]["status"] == "eligible_conscript"


def test_diff_writes_nothing_and_shows_who_moves(register: Register, tmp_path: Path) -> None:
    reg = _register(register)
    reg.ok("eligibility", "evaluate", "--as-of", "2023-12-01")
    before = count(reg.store(), "eligibility_results"), count(reg.store(), "eligibility_runs")
    proposed = tmp_path / "proposed.toml"
    law = load_law(load_profile("default"))
    proposed.write_text(law.text.replace('version = "2024-01-01"', 'version = "proposed"')
                        .replace("{ value = 27 }", "{ value = 29 }"), encoding="utf-8")
    out = reg.ok("eligibility", "diff", "--as-of", "2023-12-01", "--law", proposed)
    assert "conscription_max_age" in out and "27" in out and "29" in out
    assert "1 of 7 persons change status" in out
    assert "P000000002" in out and "over_age" in out and "eligible_conscript" in out
    assert (count(reg.store(), "eligibility_results"),
            count(reg.store(), "eligibility_runs")) == before


def test_clear_errors(register: Register, tmp_path: Path) -> None:
    reg = _register(register)
    unknown = reg.run("eligibility", "explain", "P999", "--as-of", "2024-06-01")
    assert unknown.exit_code == 2 and "no person 'P999'" in unknown.err
    bad_date = reg.run("eligibility", "evaluate", "--as-of", "2024-02-30")
    assert bad_date.exit_code == 2 and "'2024-02-30' is not a date" in bad_date.err
    assert "YYYY-MM-DD" in bad_date.err
    for typo in ("0001-01-01", "9999-12-31"):  # were: "Unexpected error: ValueError"
        far = reg.run("eligibility", "evaluate", "--as-of", typo)
        assert far.exit_code == 2 and "Unexpected" not in far.err
        assert f"{typo} is outside the dates the register decides on" in far.err
    bad_law = tmp_path / "bad.toml"
    bad_law.write_text('[law]\nname = "x"\n[parameters.reserve_max_age]\nvalue = "fifty"\n',
                       encoding="utf-8")
    invalid = reg.run("eligibility", "diff", "--as-of", "2024-06-01", "--law", bad_law)
    assert invalid.exit_code == 2
    assert "law.version is missing" in invalid.err
    assert "reserve_max_age.value: must be a whole number" in invalid.err
    assert "parameters.registration_age is missing" in invalid.err
    out = reg.ok("law", "show", "--as-of", "2023-12-01")
    assert "conscription_max_age" in out and "27 (from" not in out and "30 (from 2024-01-01)" in out
    assert "over_age" in out and "Precedence" in out
    help_text = reg.ok("eligibility", "explain", "--help")
    assert "Example: muster eligibility explain" in help_text


def test_on_a_resolved_synthetic_register(register: Register, tmp_path: Path) -> None:
    """Real golden records from ingest + resolve: every stored result agrees with the
    one-person explanation, and the export re-checks against the stored run."""
    from muster.eligibility.explain import explain_person
    from muster.store.schema import eligibility_results

    extracts = tmp_path / "extracts"
    register.ok("synth", extracts, "--persons", 200, "--seed", 11)
    register.ok("sources", "add", extracts / "sources.toml")
    register.ok("ingest", "--all")
    register.ok("resolve")
    register.ok("eligibility", "evaluate", "--as-of", "2024-06-01")
    import sqlalchemy as sa

    with register.store().engine.connect() as conn:
        stored = [dict(r) for r in conn.execute(sa.select(eligibility_results)).mappings()]
    assert len(stored) == count(register.store(), "golden_records") > 150
    profile = register.workspace().profile()
    law = load_law(profile)
    for row in stored:
        d = explain_person(register.store(), profile, row["person_id"], date(2024, 6, 1),
                           law=law).decision
        assert (d.status, d.ground, ",".join(d.grounds), d.until, d.subject_from) == (
            row["status"], row["ground"], row["grounds"], row["until"], row["subject_from"])
    csv = tmp_path / "eligibility.csv"
    register.ok("export", "eligibility", "--as-of", "2024-06-01", "--out", csv)
    exported = {r["person_id"]: (r["status"], r["ground"]) for r in read_csv(csv)}
    assert exported == {r["person_id"]: (r["status"], r["ground"]) for r in stored}
