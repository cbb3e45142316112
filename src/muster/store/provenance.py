"""Where each golden value came from, as the register keeps it.

Most of a person's fields have one value among all their records. Such an agreed
field names its source with the person, in ``golden_provenance.fields``: JSON
``{field: [source, record_id, record_date, support]}``, the value itself being the
golden record's. A contested field, whose records hold more than one value, keeps
every value in ``golden_values``: the chosen one (``chosen = 1``) and the others,
with the field's ``conflict`` flag. A field is in one of the two, never both.

Resolution wrote a row of ``golden_values`` for every value of every field before:
at 1,000,000 persons some fourteen million rows, most of them agreed fields, and
writing them was the largest part of writing the golden records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any


def value_rows(person_id: str, golden: Mapping[Any, Any], fields: str | None,
               contested: Iterable[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    """Every golden value of a person with its source, as rows of ``golden_values``
    (field, value, source, record_id, record_date, support, chosen, conflict), by
    field, the chosen value first: the ``contested`` rows, and the agreed fields of
    ``fields`` (``golden_provenance.fields``) with their value from ``golden``."""
    rows = [dict(r) for r in contested]
    kept = {r["field"] for r in rows}
    for field, (source, record_id, record_date, support) in json.loads(fields or "{}").items():
        if field in kept:
            continue
        rows.append({"person_id": person_id, "field": field, "value": _text(golden[field]),
                     "source": source, "record_id": record_id,
                     "record_date": date.fromisoformat(record_date) if record_date else None,
                     "support": support, "chosen": 1, "conflict": 0})
    return sorted(rows, key=lambda r: (r["field"], -r["chosen"]))


def _text(value: Any) -> str:
    """A golden value as golden_values holds it: text (a date as YYYY-MM-DD)."""
    return value.isoformat() if isinstance(value, date) else str(value)


def agreed_source_sql(dialect: str, fields: str, field: str) -> str:
    """SQL for the source of an agreed field's value: ``fields`` is the SQL of a
    ``golden_provenance.fields``, ``field`` of the field's name (NULL when the field
    is not an agreed one)."""
    if dialect == "postgresql":
        return f"(CAST({fields} AS json) -> {field} ->> 0)"
    return f"json_extract({fields}, '$.' || {field} || '[0]')"
