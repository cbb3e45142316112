"""Property-based: whatever the facts, the set-based result and the one-person
explanation agree, and nobody with a non-eligible ground is ever eligible.

Facts are drawn close to the boundaries (ages around 18, 27, 30, 50; examinations
around 12 and 24 months old; student_until around the as-of date; 29 February).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import _postgres_database
from eligibility_data import write_register
from muster.eligibility.dates import add_months
from muster.eligibility.evaluate import evaluate
from muster.eligibility.explain import explain_person
from muster.eligibility.law import load_law
from muster.eligibility.rules import ELIGIBLE, RULES
from muster.profile import load_profile
from muster.store import Store, open_store
from muster.store.schema import eligibility_results

PROFILE = load_profile("default")
LAW = load_law(PROFILE)
AS_OF_DATES = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 2, 29), date(2024, 6, 1),
               date(2025, 3, 1), date(2027, 2, 28)]
NON_ELIGIBLE_GROUNDS = {r.ground for r in RULES if r.status not in ELIGIBLE}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Store]:
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.db'}"])
    else:
        urls = _postgres_database()
    s = open_store(next(urls))
    yield s
    s.close()
    next(urls, None)


def _near(as_of: date, months: list[int]) -> st.SearchStrategy[date]:
    """A date a whole number of months (plus or minus a day or two) before as_of."""
    return st.builds(lambda m, d: add_months(as_of, -m) + timedelta(days=d),
                     st.sampled_from(months), st.integers(-2, 2))


@st.composite
def person(draw: st.DrawFn, as_of: date, i: int) -> dict[str, Any]:
    birth = draw(st.one_of(
        st.none(), _near(as_of, [12 * a for a in (17, 18, 19, 27, 28, 30, 31, 50, 51)]),
        st.sampled_from([date(2004, 2, 29), date(1996, 2, 29), date(2006, 2, 28)]),
        # Often one birth date: files that may be one man's (eligibility.other_files).
        st.just(date(2001, 7, 1)), st.just(date(2001, 7, 1))))
    fitness = draw(st.sampled_from([None, "A", "B", "C", "D", "E"]))
    served = draw(st.sampled_from(["none", "end", "rank", "both"]))
    conflict_field = draw(st.sampled_from([None, "birth_date", "sex", "family_name"]))
    p: dict[str, Any] = {
        "person_id": f"P{i:05d}",
        "family_name": "Петров", "given_name": "Пётр",
        # Keys from a few close names, so some files are other files of each other.
        "family_key": draw(st.sampled_from(["petrov", "petrova", "ivanov", None])),
        "given_key": draw(st.sampled_from(["petr", "petro", "ivan", "petrov"])),
        "middle_key": draw(st.sampled_from([None, "petrovich", "ivanovich"])),
        "sex": draw(st.sampled_from(["M", "M", "M", "F", None])),
        "birth_date": birth,
        "region": draw(st.sampled_from(["TVE", "MOW", None])),
        "fitness_category": fitness,
        "fitness_date": None if fitness is None else draw(st.one_of(
            st.none(), _near(as_of, [0, 11, 12, 13, 23, 24, 25]))),
        "death_date": draw(st.one_of(st.none(), _near(as_of, [0, 1]))),
        "dependents": draw(st.one_of(st.none(), st.integers(0, 4))),
        "student_until": draw(st.one_of(st.none(), _near(as_of, [0, -1, 1]))),
        "occupation": draw(st.sampled_from([None, "physician", "NURSE", "Teacher", "driver",
                                            "firefighters"])),
        "service_end": date(2001, 5, 1) if served in ("end", "both") else None,
        "military_rank": "рядовой" if served in ("rank", "both") else None,
    }
    p["review"] = draw(st.sampled_from([None, None, "open", "pending", "settled"]))
    if conflict_field and p.get(conflict_field) is not None:
        p["conflicts"] = {conflict_field: [("X", "voters")]}
        if draw(st.booleans()):
            p["chosen_source"] = {conflict_field: "registration_office"}
    return p


@st.composite
def registers(draw: st.DrawFn) -> tuple[date, list[dict[str, Any]]]:
    as_of = draw(st.sampled_from(AS_OF_DATES))
    n = draw(st.integers(1, 12))
    return as_of, [draw(person(as_of, i)) for i in range(n)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(registers())
def test_set_based_and_explained_agree_and_never_eligible_wrongly(
        store: Store, register: tuple[date, list[dict[str, Any]]]) -> None:
    as_of, persons = register
    write_register(store, persons)
    run = evaluate(store, PROFILE, as_of, law=LAW).run_id
    with store.engine.connect() as conn:
        stored = {r["person_id"]: dict(r) for r in conn.execute(sa.select(
            eligibility_results).where(eligibility_results.c.run_id == run)).mappings()}
    assert set(stored) == {p["person_id"] for p in persons}
    for p in persons:
        row = stored[p["person_id"]]
        grounds = set(row["grounds"].split(","))
        # A person with any deferment, exemption, clarification or not-subject ground is
        # never eligible; an eligible person's only ground is their category.
        if grounds & NON_ELIGIBLE_GROUNDS:
            assert row["status"] not in ELIGIBLE, (p, row)
        if row["status"] in ELIGIBLE:
            assert grounds in ({"conscription"}, {"reserve"}), (p, row)
        d = explain_person(store, PROFILE, p["person_id"], as_of, law=LAW).decision
        assert (d.status, d.ground, ",".join(d.grounds), d.until, d.subject_from) == (
            row["status"], row["ground"], row["grounds"], row["until"], row["subject_from"]), p
