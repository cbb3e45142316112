"""Nobody is called up while another file that may be his keeps him off: a man who would
be eligible is held (``possible_other_file``) when a file with his birth date, his sex
and similar names, in place or swapped, carries a deferment, an exemption or a death,
until an officer says the two are different people. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from conftest import Register
from eligibility_data import man, write_register
from muster.eligibility.other_files import neighbours, other_files
from muster.store.schema import person_records, review_decisions
from test_eligibility_review import AS_OF, _evaluate

GROUND = "possible_other_file"
KEYS = {"family_key": "ivanov", "given_key": "ivan", "middle_key": "petrovich"}
STUDENT = {"student_until": date(2025, 6, 30)}


def _named(person_id: str, **facts: Any) -> dict[str, Any]:
    """A man whose names are spelt as their keys unless ``facts`` spell them."""
    keys = {**KEYS, **{k: v for k, v in facts.items() if k in KEYS}}
    names = {k.replace("_key", "_name"): v and v.title() for k, v in keys.items()}
    return man(person_id, **{**keys, **names, **facts})


def _held(results: dict[str, dict[str, Any]]) -> set[str]:
    return {p for p, r in results.items() if GROUND in r["grounds"].split(",")}


def test_a_file_with_swapped_misspelt_names_and_a_deferment_holds_him(
        register: Register) -> None:
    write_register(register.store(), [
        _named("P000000001"),  # would be eligible
        # His education record in a file of its own: names swapped, one misspelt.
        _named("P000000002", family_key="ivn", given_key="ivanov", **STUDENT),
        _named("P000000003"),  # a namesake born the same day, no ground of his own
    ])
    results = _evaluate(register)
    assert _held(results) == {"P000000001", "P000000003"}
    assert results["P000000001"]["status"] == "needs_clarification"
    assert results["P000000001"]["ground"] == GROUND
    assert results["P000000002"]["status"] == "deferred"  # the ground stays where it is
    out = register.ok("eligibility", "explain", "P000000001", "--as-of", AS_OF)
    assert GROUND in out and "P000000002" in out and "review decide" in out
    assert "Agrees with the stored evaluation" in out


def test_a_name_mistyped_in_its_own_alphabet_holds_him_though_its_key_differs_more(
        register: Register) -> None:
    # Алиев and Алиеч are one letter apart; their keys (alev, alech) are not similar.
    cyrillic = {"family_name": "Алиев", "given_name": "Али", "middle_name": None,
                "family_key": "alev", "given_key": "ali", "middle_key": None}
    write_register(register.store(), [
        _named("P000000001", **cyrillic),
        _named("P000000002", **{**cyrillic, "family_name": "Алиеч", "family_key": "alech"},
               **STUDENT),
        # Another family name altogether: not his.
        _named("P000000003", **{**cyrillic, "family_name": "Алексеев",
                                "family_key": "aleksev"}, **STUDENT)])
    results = _evaluate(register)
    assert _held(results) == {"P000000001"}
    with register.store().engine.connect() as conn:
        assert other_files(conn, "P000000001")[0] == ["P000000002"]


def test_only_files_that_may_be_him_and_only_grounds_about_the_human_hold_him(
        register: Register) -> None:
    write_register(register.store(), [
        _named("P000000001"),
        # Twins: his birth date, his family and middle names, another given name.
        _named("P000000002", given_key="sergei", **STUDENT),
        # A namesake a day older.
        _named("P000000003", birth_date=date(1999, 3, 9), **STUDENT),
        # A woman of his name and birth date (a sex is never a typo of the other).
        _named("P000000004", sex="F", **STUDENT),
        # His name and birth date, another middle name.
        _named("P000000005", middle_key="sergeevich", **STUDENT),
        # Over age on his birth date only because this file lacks his service record:
        # age and sex are decided by his own file.
        _named("P000000006", birth_date=date(1990, 1, 1), military_rank="рядовой"),
        _named("P000000007", birth_date=date(1990, 1, 1)),
        # No birth date, in another region: not his (in his region: see below).
        _named("P000000008", birth_date=None, region="MOW", **STUDENT),
    ])
    results = _evaluate(register)
    assert results["P000000001"]["status"] == "eligible_conscript"
    assert results["P000000006"]["status"] == "eligible_reserve"
    assert results["P000000007"]["grounds"].split(",")[0] == "over_age"
    assert _held(results) == set()


def test_an_undated_file_in_his_region_and_deaths_and_unfitness_hold_him(
        register: Register) -> None:
    write_register(register.store(), [
        _named("P000000001"),
        _named("P000000002", birth_date=None, given_key="ivna", **STUDENT),
        _named("P000000011", family_key="petrov", birth_date=date(2000, 1, 1)),
        _named("P000000012", family_key="petrov", birth_date=date(2000, 1, 1),
               death_date=date(2024, 1, 5)),
        _named("P000000021", family_key="sidorov", birth_date=date(2001, 1, 1)),
        _named("P000000022", family_key="sidorov", birth_date=date(2001, 1, 1),
               fitness_category="E"),
    ])
    results = _evaluate(register)
    assert _held(results) == {"P000000001", "P000000011", "P000000021"}


def _decide(register: Register, decision: str, applied: bool) -> None:
    """An officer's decision on a record of P000000001 and one of P000000002."""
    now = datetime.now(UTC)
    with register.store().engine.begin() as conn:
        conn.execute(person_records.delete())
        conn.execute(person_records.insert(), [
            {"source": "passports", "record_id": "a-1", "person_id": "P000000001", "run_id": 1},
            {"source": "education", "record_id": "b-1", "person_id": "P000000002", "run_id": 1}])
        conn.execute(review_decisions.insert().values(
            source_l="education", record_id_l="b-1", source_r="passports", record_id_r="a-1",
            decision=decision, actor="officer", reason="documents checked", decided_at=now,
            applied_run=1 if applied else None))


def test_an_officer_saying_they_are_different_people_lifts_the_hold(
        register: Register) -> None:
    write_register(register.store(), [
        _named("P000000001"), _named("P000000002", family_key="ivn", given_key="ivanov",
                                     **STUDENT)])
    assert _held(_evaluate(register)) == {"P000000001"}
    # Decided, not yet applied by a resolution run: held as in review meanwhile.
    _decide(register, "different", applied=False)
    results = _evaluate(register)
    assert results["P000000001"]["ground"] == "identity_in_review"
    with register.store().engine.begin() as conn:
        conn.execute(review_decisions.update().values(applied_run=1))
    results = _evaluate(register)
    assert results["P000000001"]["status"] == "eligible_conscript"
    out = register.ok("eligibility", "explain", "P000000001", "--as-of", AS_OF)
    assert "P000000002" not in out and "Agrees with the stored evaluation" in out
    # A later decision that they are one person puts the hold back until it is applied.
    with register.store().engine.begin() as conn:
        conn.execute(review_decisions.insert().values(
            source_l="education", record_id_l="b-1", source_r="passports", record_id_r="a-1",
            decision="same", actor="officer", reason="it was him", applied_run=1,
            decided_at=datetime.now(UTC)))
    assert _held(_evaluate(register)) == {"P000000001"}


def test_a_change_to_either_file_re_decides_the_other(register: Register) -> None:
    """Casework re-decides at once whom a decision touched, and with them the files that
    may be one human with them, either way round: the ground of one is the other's hold."""
    write_register(register.store(), [
        _named("P000000001"),
        _named("P000000002", family_key="ivn", given_key="ivanov", **STUDENT),
        _named("P000000003", birth_date=None, region="TVE", **STUDENT),  # undated: his
        _named("P000000004", birth_date=date(1999, 3, 9)),  # a day older: not his
        _named("P000000005", birth_date=date(1999, 3, 8), region="MOW"),  # nor here
    ])
    with register.store().engine.connect() as conn:
        # Dated files match both ways; an undated one is "his" for namesakes of its region.
        assert other_files(conn, "P000000001") == (["P000000002", "P000000003"],
                                                   ["P000000002"])
        assert other_files(conn, "P000000003") == ([], ["P000000001", "P000000002",
                                                        "P000000004"])
        assert neighbours(conn, ["P000000004"]) == {"P000000003"}
        assert neighbours(conn, ["P000000005"]) == set()
        assert neighbours(conn, ["P000000001", "P000000005"]) == {"P000000002", "P000000003"}
