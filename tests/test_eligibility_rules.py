"""Each rule and each precedence case at its boundaries, on SQLite and PostgreSQL.

Every case is one person on one as-of date. The register holds all of them; it is
evaluated once per date (set-based, stored), and each case checks the stored result
and the one-person explanation, which must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import _postgres_database
from eligibility_data import man, write_register
from muster.eligibility.evaluate import evaluate
from muster.eligibility.explain import explain_person
from muster.profile import load_profile
from muster.store import Store, open_store
from muster.store.schema import eligibility_results, eligibility_runs

D = date
AS_OF = D(2024, 6, 1)
SERVED = {"service_end": D(2000, 1, 1), "military_rank": "сержант"}

# id, facts (over a fit 25-year-old man examined 2023-09-01), as-of, status, ground,
# every ground, until (deferment end or the day one becomes subject)
CASES: list[tuple[str, dict[str, Any], date, str, str, str, date | None]] = [
    # 18th birthday: day before, of, after
    ("18-day-before", {"birth_date": D(2006, 6, 2)}, AS_OF, "not_subject", "under_age",
     "under_age", D(2024, 6, 2)),
    ("18-day-of", {"birth_date": D(2006, 6, 1)}, AS_OF, "eligible_conscript", "conscription",
     "conscription", None),
    ("18-day-after", {"birth_date": D(2006, 5, 31)}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    # 29 February: the birthday falls on 1 March in a common year, on 29 Feb in a leap year
    ("29feb-18-common-28feb", {"birth_date": D(2004, 2, 29), "fitness_date": D(2021, 9, 1)},
     D(2022, 2, 28), "not_subject", "under_age", "under_age", D(2022, 3, 1)),
    ("29feb-18-common-1mar", {"birth_date": D(2004, 2, 29), "fitness_date": D(2021, 9, 1)},
     D(2022, 3, 1), "eligible_conscript", "conscription", "conscription", None),
    ("29feb-18-leap-28feb", {"birth_date": D(2006, 2, 29 - 1)}, D(2024, 2, 27),
     "not_subject", "under_age", "under_age", D(2024, 2, 28)),
    ("29feb-18-leap-29feb", {"birth_date": D(2004, 2, 29)}, D(2024, 2, 29), "eligible_conscript",
     "conscription", "conscription", None),
    ("29feb-31-common-28feb", {"birth_date": D(1996, 2, 29), "fitness_date": D(2026, 6, 1)},
     D(2027, 2, 28), "eligible_conscript", "conscription", "conscription", None),
    ("29feb-31-common-1mar", {"birth_date": D(1996, 2, 29), "fitness_date": D(2026, 6, 1)},
     D(2027, 3, 1), "exempt", "over_age", "over_age", None),
    # conscription upper age 30 (from 2024): the 31st birthday
    ("31-day-before", {"birth_date": D(1993, 6, 2)}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    ("31-day-of", {"birth_date": D(1993, 6, 1)}, AS_OF, "exempt", "over_age", "over_age", None),
    ("31-day-after", {"birth_date": D(1993, 5, 31)}, AS_OF, "exempt", "over_age", "over_age",
     None),
    # the 27 -> 30 change on 2024-01-01: a man of 28, the day before, of and after
    ("limit-27-day-before", {"birth_date": D(1995, 6, 15)}, D(2023, 12, 31), "exempt",
     "over_age", "over_age", None),
    ("limit-30-day-of", {"birth_date": D(1995, 6, 15)}, D(2024, 1, 1), "eligible_conscript",
     "conscription", "conscription", None),
    ("limit-30-day-after", {"birth_date": D(1995, 6, 15)}, D(2024, 1, 2), "eligible_conscript",
     "conscription", "conscription", None),
    ("28th-birthday-on-effective-date", {"birth_date": D(1996, 1, 1)}, D(2023, 12, 31),
     "eligible_conscript", "conscription", "conscription", None),
    ("28-on-the-eve", {"birth_date": D(1995, 12, 31)}, D(2023, 12, 31), "exempt", "over_age",
     "over_age", None),
    # reserve: served or ranked, up to 50 inclusive, fitness A-C
    ("reserve-50", {"birth_date": D(1973, 6, 2), **SERVED}, AS_OF, "eligible_reserve",
     "reserve", "reserve", None),
    ("reserve-51-day-of", {"birth_date": D(1973, 6, 1), **SERVED}, AS_OF, "exempt", "over_age",
     "over_age", None),
    ("reserve-rank-only", {"birth_date": D(1980, 1, 1), "military_rank": "рядовой"}, AS_OF,
     "eligible_reserve", "reserve", "reserve", None),
    ("reserve-service-end-only-fitness-c", {"birth_date": D(1980, 1, 1),
     "service_end": D(2001, 1, 1), "fitness_category": "C"}, AS_OF, "eligible_reserve",
     "reserve", "reserve", None),
    ("reserve-at-35-not-over-conscription-age", {"birth_date": D(1989, 1, 1), **SERVED},
     AS_OF, "eligible_reserve", "reserve", "reserve", None),
    # fitness
    ("fitness-e", {"fitness_category": "E"}, AS_OF, "exempt", "unfit", "unfit", None),
    ("fitness-c-no-service", {"fitness_category": "C"}, AS_OF, "exempt", "limited_fitness",
     "limited_fitness", None),
    ("fitness-unknown", {"fitness_category": None, "fitness_date": None}, AS_OF,
     "needs_clarification", "fitness_unknown", "fitness_unknown", None),
    ("fitness-no-date", {"fitness_date": None}, AS_OF, "needs_clarification",
     "fitness_outdated", "fitness_outdated,conscription", None),
    ("exam-24-months-and-a-day", {"fitness_date": D(2022, 5, 31)}, AS_OF,
     "needs_clarification", "fitness_outdated", "fitness_outdated,conscription", None),
    ("exam-exactly-24-months", {"fitness_date": D(2022, 6, 1)}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    ("exam-24-months-less-a-day", {"fitness_date": D(2022, 6, 2)}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    ("fitness-e-outdated-still-exempt", {"fitness_category": "E", "fitness_date": D(2020, 1, 1)},
     AS_OF, "exempt", "unfit", "unfit,fitness_outdated", None),
    # temporary unfitness (D): deferred while as-of <= fitness_date + 12 months
    ("d-12-months-and-a-day", {"fitness_category": "D", "fitness_date": D(2023, 5, 31)}, AS_OF,
     "needs_clarification", "fitness_reexam_due", "fitness_reexam_due", None),
    ("d-exactly-12-months", {"fitness_category": "D", "fitness_date": D(2023, 6, 1)}, AS_OF,
     "deferred", "temporarily_unfit", "temporarily_unfit", D(2024, 6, 1)),
    ("d-12-months-less-a-day", {"fitness_category": "D", "fitness_date": D(2023, 6, 2)}, AS_OF,
     "deferred", "temporarily_unfit", "temporarily_unfit", D(2024, 6, 2)),
    ("d-29feb-last-day", {"fitness_category": "D", "fitness_date": D(2024, 2, 29)},
     D(2025, 3, 1), "deferred", "temporarily_unfit", "temporarily_unfit", D(2025, 3, 1)),
    ("d-29feb-ended", {"fitness_category": "D", "fitness_date": D(2024, 2, 29)},
     D(2025, 3, 2), "needs_clarification", "fitness_reexam_due", "fitness_reexam_due", None),
    ("d-reserve", {"fitness_category": "D", "fitness_date": D(2024, 1, 10), **SERVED}, AS_OF,
     "deferred", "temporarily_unfit", "temporarily_unfit", D(2025, 1, 10)),
    # student: deferred while student_until >= as-of
    ("student-until-as-of", {"student_until": AS_OF}, AS_OF, "deferred", "student",
     "student,conscription", AS_OF),
    ("student-until-day-before", {"student_until": D(2024, 5, 31)}, AS_OF,
     "eligible_conscript", "conscription", "conscription", None),
    ("student-until-day-after", {"student_until": D(2024, 6, 2)}, AS_OF, "deferred", "student",
     "student,conscription", D(2024, 6, 2)),
    # dependents, protected occupation (ignoring case)
    ("one-dependent", {"dependents": 1}, AS_OF, "eligible_conscript", "conscription",
     "conscription", None),
    ("two-dependents", {"dependents": 2}, AS_OF, "deferred", "dependents",
     "dependents,conscription", None),
    ("physician-any-case", {"occupation": "PhysiCIAN"}, AS_OF, "deferred",
     "protected_occupation", "protected_occupation,conscription", None),
    ("paramedic-not-protected", {"occupation": "paramedic"}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    # not subject: sex, death (on or before the as-of date)
    ("woman", {"sex": "F"}, AS_OF, "not_subject", "sex", "sex", None),
    ("sex-unknown", {"sex": None}, AS_OF, "needs_clarification", "sex_unknown", "sex_unknown",
     None),
    ("died-on-as-of", {"death_date": AS_OF}, AS_OF, "not_subject", "deceased",
     "deceased,conscription", None),
    ("dies-the-day-after", {"death_date": D(2024, 6, 2)}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    ("birth-date-unknown", {"birth_date": None}, AS_OF, "needs_clarification",
     "birth_date_unknown", "birth_date_unknown", None),
    # conflicting identity: settled only by an officer-verified chosen value
    ("conflicting-birth-date", {"conflicts": {"birth_date": [(D(1999, 3, 11), "voters")]}},
     AS_OF, "needs_clarification", "conflicting_identity", "conflicting_identity,conscription",
     None),
    ("conflicting-sex", {"conflicts": {"sex": [("F", "voters")]}}, AS_OF,
     "needs_clarification", "conflicting_identity", "conflicting_identity,conscription", None),
    # records in review: an open pair, or a decision no resolution has applied yet
    ("in-review-open-pair", {"review": "open"}, AS_OF, "needs_clarification",
     "identity_in_review", "identity_in_review,conscription", None),
    ("in-review-pending-decision", {"review": "pending"}, AS_OF, "needs_clarification",
     "identity_in_review", "identity_in_review,conscription", None),
    ("review-settled-and-applied", {"review": "settled"}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    ("in-review-but-unfit", {"review": "open", "fitness_category": "E"}, AS_OF, "exempt",
     "unfit", "unfit,identity_in_review", None),
    ("in-review-and-student", {"review": "open", "student_until": D(2025, 6, 30)}, AS_OF,
     "needs_clarification", "identity_in_review", "identity_in_review,student,conscription",
     None),
    ("conflict-settled-by-officer", {"conflicts": {"birth_date": [(D(1999, 3, 11), "voters")]},
     "chosen_source": {"birth_date": "registration_office"}}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    ("conflict-on-a-name-is-no-identity-conflict",
     {"conflicts": {"family_name": [("Петров", "voters")]}}, AS_OF, "eligible_conscript",
     "conscription", "conscription", None),
    # precedence: not_subject > exempt > needs_clarification > deferred > eligible
    ("dead-woman-unfit", {"sex": "F", "death_date": D(2020, 1, 1), "fitness_category": "E"},
     AS_OF, "not_subject", "deceased", "deceased,sex,unfit", None),
    ("unfit-student", {"fitness_category": "E", "student_until": D(2025, 1, 1)}, AS_OF,
     "exempt", "unfit", "unfit,student", None),
    ("over-age-with-dependents", {"birth_date": D(1980, 1, 1), "dependents": 3}, AS_OF,
     "exempt", "over_age", "over_age,dependents", None),
    ("unknown-fitness-with-dependents", {"fitness_category": None, "fitness_date": None,
     "dependents": 2}, AS_OF, "needs_clarification", "fitness_unknown",
     "fitness_unknown,dependents", None),
    ("student-and-dependents", {"student_until": D(2025, 6, 30), "dependents": 2}, AS_OF,
     "deferred", "dependents", "dependents,student,conscription", None),
    ("student-outlasts-d", {"student_until": D(2025, 6, 30), "fitness_category": "D",
     "fitness_date": D(2023, 9, 1)}, AS_OF, "deferred", "student", "student,temporarily_unfit",
     D(2025, 6, 30)),
    ("d-outlasts-student", {"student_until": D(2024, 7, 1), "fitness_category": "D",
     "fitness_date": D(2023, 9, 1)}, AS_OF, "deferred", "temporarily_unfit",
     "student,temporarily_unfit", D(2024, 9, 1)),
    ("under-age-student", {"birth_date": D(2007, 1, 1), "student_until": D(2025, 1, 1)}, AS_OF,
     "not_subject", "under_age", "under_age,student",
     D(2025, 1, 1)),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[str, tuple[dict[str, Any], Any]]]:
    """case id -> (stored result, explanation), evaluated once per as-of date."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('rules') / 'r.db'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    store = open_store(url)
    try:
        yield _evaluate_cases(store)
    finally:
        store.close()
        next(urls, None)


def _evaluate_cases(store: Store) -> dict[str, tuple[dict[str, Any], Any]]:
    profile = load_profile("default")
    persons = [man(f"P{i:04d}", **facts) for i, (_, facts, *_rest) in enumerate(CASES)]
    write_register(store, persons)
    out = {}
    for as_of in sorted({c[2] for c in CASES}):
        run = evaluate(store, profile, as_of).run_id
        with store.engine.connect() as conn:
            rows = {r["person_id"]: dict(r) for r in conn.execute(
                sa.select(eligibility_results).where(eligibility_results.c.run_id == run)
            ).mappings()}
        for i, case in enumerate(CASES):
            if case[2] == as_of:
                pid = f"P{i:04d}"
                out[case[0]] = (rows[pid], explain_person(store, profile, pid, as_of))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_boundary(results: dict[str, tuple[dict[str, Any], Any]],
                       case: tuple[str, dict[str, Any], date, str, str, str, date | None]
                       ) -> None:
    name, _facts, _as_of, status, ground, grounds, until = case
    stored, explained = results[name]
    assert (stored["status"], stored["ground"], stored["grounds"]) == (status, ground, grounds)
    stored_date = stored["until"] or stored["subject_from"]
    assert stored_date == until
    d = explained.decision
    assert (d.status, d.ground, ",".join(d.grounds)) == (status, ground, grounds)
    assert (d.until or d.subject_from) == until
    assert explained.stored is not None and explained.stored["status"] == status


def test_re_evaluating_a_date_supersedes_the_earlier_run(results: dict[str, Any],
                                                        tmp_path: Path) -> None:
    """Only the latest run for a date keeps results; earlier ones stay as history."""
    del results  # the register the cases built is enough
    url = f"sqlite:///{tmp_path}/s.db"
    store = open_store(url)
    write_register(store, [man("P1")])
    profile = load_profile("default")
    first = evaluate(store, profile, AS_OF).run_id
    second = evaluate(store, profile, AS_OF).run_id
    evaluate(store, profile, D(2025, 1, 1))
    with store.engine.connect() as conn:
        runs = {r["id"]: r["superseded_by"] for r in conn.execute(
            sa.select(eligibility_runs)).mappings()}
        kept = conn.execute(sa.select(eligibility_results.c.run_id)).scalars().all()
    store.close()
    assert runs[first] == second and runs[second] is None
    assert first not in kept and second in kept


def test_a_changed_law_cyrillic_case_folding_and_unclassified(store: Store, tmp_path: Any
                                                              ) -> None:
    """A law is data: protected occupations in any script compare ignoring case on both
    backends, and a man no rule covers is never eligible."""
    from muster.eligibility.evaluate import decisions
    from muster.eligibility.law import load_law, parse_law

    profile = load_profile("default")
    text = load_law(profile).text.replace(
        '["physician", "nurse", "teacher", "firefighter"]', '["врач", "Ёлочник"]').replace(
        '[parameters.conscription_fitness]\ndescription = "Fitness categories for conscription '
        '(eligible_conscript)."\nvalue = ["A", "B"]',
        '[parameters.conscription_fitness]\nvalue = ["A"]')
    path = tmp_path / "changed.toml"
    path.write_text(text, encoding="utf-8")
    law = parse_law(path)
    assert law.values_on(AS_OF)["conscription_fitness"] == ("A",)
    write_register(store, [man("P1", occupation="ВРАЧ"), man("P2", occupation="врачи"),
                           man("P3", occupation="ёЛОЧНИК"), man("P4", fitness_category="B"),
                           man("P5", occupation="physician")])
    table = decisions(store, profile, AS_OF, law=law)
    got = {r["person_id"]: (r["status"], r["ground"]) for r in table.to_pylist()}
    assert got == {"P1": ("deferred", "protected_occupation"),
                   "P2": ("eligible_conscript", "conscription"),
                   "P3": ("deferred", "protected_occupation"),
                   "P4": ("needs_clarification", "unclassified"),
                   "P5": ("eligible_conscript", "conscription")}
    for pid, (status, ground) in got.items():
        d = explain_person(store, profile, pid, AS_OF, law=law).decision
        assert (d.status, d.ground) == (status, ground)
