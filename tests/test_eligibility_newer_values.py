"""newer_deferment for each field it reads, at its edges, on SQLite and PostgreSQL: the
stored result and the one-person explanation agree, and a newer record holds the man
only where it would defer him and the chosen value would not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from eligibility_data import SOURCE_OF, man, write_register
from muster.eligibility.evaluate import evaluate
from muster.eligibility.explain import explain_person
from muster.profile import load_profile
from muster.store import Store
from muster.store.schema import eligibility_results, source_records
from service_data import register_backend

D = date
AS_OF = D(2024, 6, 1)
PROFILE = load_profile("default")
CHOSEN_DATE, NEWER, OLDER = D(2023, 1, 10), D(2024, 3, 1), D(2022, 6, 1)

# id, field, chosen value, the other record's value and date, status, every ground
CASES: list[tuple[str, str, Any, Any, date, str, str]] = [
    ("studies-newer", "student_until", D(2024, 1, 31), D(2025, 6, 30), NEWER,
     "needs_clarification", "newer_deferment,conscription"),
    ("studies-older", "student_until", D(2024, 1, 31), D(2025, 6, 30), OLDER,
     "eligible_conscript", "conscription"),
    ("studies-ended-the-day-before", "student_until", D(2024, 1, 31), D(2024, 5, 31), NEWER,
     "eligible_conscript", "conscription"),
    ("studies-end-on-the-day", "student_until", D(2024, 1, 31), AS_OF, NEWER,
     "needs_clarification", "newer_deferment,conscription"),
    ("studies-both-defer", "student_until", D(2024, 9, 30), D(2025, 6, 30), NEWER,
     "deferred", "student,conscription"),
    ("occupation-newer", "occupation", "driver", "Nurse", NEWER,
     "needs_clarification", "newer_deferment,conscription"),
    ("occupation-not-protected", "occupation", "driver", "baker", NEWER,
     "eligible_conscript", "conscription"),
    ("dependents-newer", "dependents", 1, 10, NEWER, "needs_clarification",
     "newer_deferment,conscription"),
    # text is greater than any number in SQLite: "1" >= 2 held him
    ("dependents-too-few", "dependents", 0, 1, NEWER, "eligible_conscript", "conscription"),
]


def _source_record(source: str, record_id: str, record_date: date) -> dict[str, Any]:
    return {"source": source, "record_id": record_id, "batch_id": 1, "first_batch_id": 1,
            "line": 1, "row_hash": record_id[:32], "raw": "{}", "flags": 0,
            "record_date": record_date}


def _evaluate(store: Store) -> dict[str, tuple[dict[str, Any], Any]]:
    persons = [man(_id(i), **{field: chosen}, conflicts={field: [(other, "social")]})
               for i, (_case, field, chosen, other, _dated, _s, _g) in enumerate(CASES)]
    write_register(store, persons)
    # the records the golden values name (eligibility_data.write_register), dated
    records = [r for i, (_case, field, _chosen, _other, dated, _s, _g) in enumerate(CASES)
               for r in (_source_record(SOURCE_OF[field], f"{_id(i)}-{SOURCE_OF[field]}",
                                        CHOSEN_DATE),
                         _source_record("social", f"{_id(i)}-social-0", dated))]
    with store.engine.begin() as conn:
        conn.execute(source_records.delete())
        conn.execute(source_records.insert(), records)
    run = evaluate(store, PROFILE, AS_OF).run_id
    with store.engine.connect() as conn:
        stored = {r["person_id"]: dict(r) for r in conn.execute(sa.select(
            eligibility_results).where(eligibility_results.c.run_id == run)).mappings()}
    return {case: (stored[_id(i)], explain_person(store, PROFILE, _id(i), AS_OF))
            for i, (case, *_) in enumerate(CASES)}


def _id(i: int) -> str:
    return f"N{i:03d}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[str, tuple[dict[str, Any], Any]]]:
    with register_backend(request.param, tmp_path_factory.mktemp("newer")) as (_, store, _):
        yield _evaluate(store)


@pytest.mark.parametrize(("case", "status", "grounds"),
                         [(c[0], c[5], c[6]) for c in CASES], ids=[c[0] for c in CASES])
def test_a_newer_record_holds_him_only_where_it_would_defer_him(
        results: dict[str, tuple[dict[str, Any], Any]], case: str, status: str,
        grounds: str) -> None:
    stored, explained = results[case]
    assert (stored["status"], stored["grounds"]) == (status, grounds)
    d = explained.decision
    assert (d.status, ",".join(d.grounds), d.until) == (
        stored["status"], stored["grounds"], stored["until"])
