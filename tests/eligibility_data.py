"""Golden records written directly, for eligibility tests that need no linkage run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from muster.store import Store
from muster.store.schema import golden_records, golden_values, resolve_runs

FACT_FIELDS = ("family_name", "given_name", "sex", "birth_date", "region", "fitness_category",
               "fitness_date", "death_date", "dependents", "student_until", "occupation",
               "military_rank", "service_end")
SOURCE_OF = {"fitness_category": "health", "fitness_date": "health", "death_date": "civil",
             "dependents": "civil", "student_until": "education", "occupation": "tax",
             "military_rank": "military", "service_end": "military"}


def man(person_id: str, **facts: Any) -> dict[str, Any]:
    """A fit man of 25 on 2024-06-01 with a current examination, unless told otherwise."""
    person = {"person_id": person_id, "family_name": "Иванов", "given_name": "Иван",
              "sex": "M", "birth_date": date(1999, 3, 10), "region": "TVE",
              "fitness_category": "A", "fitness_date": date(2023, 9, 1)}
    person.update(facts)
    return person


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def write_register(store: Store, persons: list[dict[str, Any]], *, clear: bool = True) -> None:
    """Golden records and values for ``persons``; ``conflicts`` maps a field to other
    (value, source) pairs the person's sources hold, ``chosen_source`` a field to the
    source its golden value came from."""
    records, values = [], []
    for p in persons:
        conflicts: dict[str, list[tuple[Any, str]]] = p.get("conflicts", {})
        chosen_source: dict[str, str] = p.get("chosen_source", {})
        records.append({"person_id": p["person_id"], "records": 1,
                        "conflicts": len(conflicts),
                        **{f: p.get(f) for f in FACT_FIELDS}})
        for field in FACT_FIELDS:
            if p.get(field) is None:
                continue
            source = chosen_source.get(field, SOURCE_OF.get(field, "passports"))
            values.append({"person_id": p["person_id"], "field": field,
                           "value": _text(p[field]), "source": source,
                           "record_id": f"{p['person_id']}-{source}", "record_date": None,
                           "support": 1, "chosen": 1, "conflict": int(field in conflicts)})
            for i, (other, other_source) in enumerate(conflicts.get(field, [])):
                values.append({"person_id": p["person_id"], "field": field,
                               "value": _text(other), "source": other_source,
                               "record_id": f"{p['person_id']}-{other_source}-{i}",
                               "record_date": None, "support": 1, "chosen": 0, "conflict": 1})
    with store.engine.begin() as conn:
        if clear:
            conn.execute(golden_values.delete())
            conn.execute(golden_records.delete())
        if not conn.execute(sa.select(sa.func.count()).select_from(resolve_runs)).scalar():
            now = datetime.now(UTC)
            conn.execute(resolve_runs.insert().values(
                engine="test", mode="full", started_at=now, finished_at=now, last_batch=0,
                records=len(persons), persons=len(persons), links=0, review=0,
                collisions=0, model="{}"))
        if records:
            conn.execute(golden_records.insert(), records)
        if values:
            conn.execute(golden_values.insert(), values)
