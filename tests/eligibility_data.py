"""Golden records written directly, for eligibility tests that need no linkage run."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from muster.store import Store
from muster.store.schema import (
    golden_provenance,
    golden_records,
    golden_values,
    person_records,
    resolve_runs,
    review_decisions,
    review_pairs,
)

FACT_FIELDS = ("family_name", "given_name", "sex", "birth_date", "region", "fitness_category",
               "fitness_date", "death_date", "dependents", "student_until", "occupation",
               "military_rank", "service_end")
# Name keys are left out unless a person gives them: without them no file is another
# file of anyone's (eligibility.other_files), and most tests' persons share one name.
NAME_KEYS = ("family_key", "given_key", "middle_key")
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


def _review(person_id: str, state: str, now: datetime) -> tuple[list[Any], list[Any]]:
    """The review list entry and officer decision on a pair of the person's record with
    another record, in ``state``: open (on the list), pending (decided, not yet applied
    by a resolution run) or settled (decided and applied). A pending pair names the
    person's record second, the others first."""
    mine, other = ("passports", f"{person_id}-passports"), ("voters", f"{person_id}-other")
    left, right = (other, mine) if state == "pending" else (mine, other)
    keys = {"source_l": left[0], "record_id_l": left[1],
            "source_r": right[0], "record_id_r": right[1]}
    pair = {**keys, "run_id": 1, "kind": "uncertain", "match_weight": 22.5,
            "detail": "between the review and the link weight",
            "status": "open" if state == "open" else "decided"}
    decision = {**keys, "decision": "same", "actor": "officer", "reason": "documents checked",
                "decided_at": now, "applied_run": 1 if state == "settled" else None}
    return [pair], [] if state == "open" else [decision]


def write_register(store: Store, persons: list[dict[str, Any]], *, clear: bool = True) -> None:
    """Golden records and values for ``persons``; ``conflicts`` maps a field to other
    (value, source) pairs the person's sources hold, ``chosen_source`` a field to the
    source its golden value came from, ``review`` the state of a pair of the person's
    passport record in the review list (see ``_review``)."""
    now = datetime.now(UTC)
    records, values, provenance, members, pairs, decisions = [], [], [], [], [], []
    for p in persons:
        if p.get("review"):
            members.append({"source": "passports", "record_id": f"{p['person_id']}-passports",
                            "person_id": p["person_id"], "run_id": 1})
            pair, decision = _review(p["person_id"], p["review"], now)
            pairs += pair
            decisions += decision
        conflicts: dict[str, list[tuple[Any, str]]] = p.get("conflicts", {})
        chosen_source: dict[str, str] = p.get("chosen_source", {})
        records.append({"person_id": p["person_id"], "records": 1,
                        "conflicts": len(conflicts),
                        **{f: p.get(f) for f in (*FACT_FIELDS, *NAME_KEYS)}})
        agreed = {}
        for field in FACT_FIELDS:
            if p.get(field) is None:
                continue
            source = chosen_source.get(field, SOURCE_OF.get(field, "passports"))
            record_id = f"{p['person_id']}-{source}"
            if field not in conflicts:  # as resolution keeps it (store/provenance.py)
                agreed[field] = [source, record_id, None, 1]
                continue
            values.append({"person_id": p["person_id"], "field": field,
                           "value": _text(p[field]), "source": source,
                           "record_id": record_id, "record_date": None,
                           "support": 1, "chosen": 1, "conflict": 1})
            for i, (other, other_source) in enumerate(conflicts[field]):
                values.append({"person_id": p["person_id"], "field": field,
                               "value": _text(other), "source": other_source,
                               "record_id": f"{p['person_id']}-{other_source}-{i}",
                               "record_date": None, "support": 1, "chosen": 0, "conflict": 1})
        provenance.append({"person_id": p["person_id"], "fields": json.dumps(agreed)})
    with store.engine.begin() as conn:
        if clear:
            for table in (golden_values, golden_records, golden_provenance, review_pairs,
                          review_decisions):
                conn.execute(table.delete())
            conn.execute(person_records.delete().where(person_records.c.person_id.in_(
                [p["person_id"] for p in persons])))
        if not conn.execute(sa.select(sa.func.count()).select_from(resolve_runs)).scalar():
            conn.execute(resolve_runs.insert().values(
                engine="test", mode="full", started_at=now, finished_at=now, last_batch=0,
                records=len(persons), persons=len(persons), links=0, review=0,
                collisions=0, model="{}"))
        if records:
            conn.execute(golden_records.insert(), records)
        for table, rows in ((golden_values, values), (golden_provenance, provenance),
                            (person_records, members),
                            (review_pairs, pairs), (review_decisions, decisions)):
            if rows:
                conn.execute(table.insert(), rows)
