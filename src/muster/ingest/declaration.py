"""Source declarations (the public data contract) and their validation.

Every problem in a declaration is collected and reported at once, each with what
to do, so a user fixes a sources file in one pass.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from muster.errors import ConfigError
from muster.limits import NAME_LENGTH
from muster.store.schema import CANONICAL_FIELDS, CODED_FIELDS

FORMATS = ("csv", "jsonl", "parquet")
NAME_SLOTS = ("family", "given", "middle")
KNOWN_KEYS = {
    "agency", "format", "encoding", "delimiter", "record_id", "date_format", "name_order",
    "fields", "values", "file",
}
ISO_DATE = "%Y-%m-%d"


@dataclass(frozen=True)
class SourceDeclaration:
    name: str
    agency: str
    format: str
    encoding: str
    delimiter: str
    record_id: str
    date_format: str
    name_order: tuple[str, ...]
    fields: dict[str, str]  # canonical field -> source column
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    file: Path | None = None

    @property
    def columns(self) -> list[str]:
        """Source columns the declaration reads (record_id first, no repeats)."""
        seen = [self.record_id]
        for column in self.fields.values():
            if column not in seen:
                seen.append(column)
        return seen

    def as_toml(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "agency": self.agency, "format": self.format, "encoding": self.encoding,
            "record_id": self.record_id, "date_format": self.date_format,
        }
        if self.format == "csv":
            data["delimiter"] = self.delimiter
        if "full_name" in self.fields:
            data["name_order"] = " ".join(self.name_order)
        if self.file is not None:
            data["file"] = str(self.file)
        data["fields"] = dict(self.fields)
        if self.values:
            data["values"] = {k: dict(v) for k, v in self.values.items()}
        return data


def _check_date_format(fmt: str) -> str | None:
    sample = date(2001, 2, 3)
    try:
        text = sample.strftime(fmt)
        parsed = datetime.strptime(text, fmt).date()
    except (ValueError, TypeError) as exc:
        return f"is not a usable strptime format ({exc})"
    if parsed != sample:
        return "does not carry a full date (it needs day, month and year, e.g. %d.%m.%Y)"
    return None


def parse_declaration(name: str, data: Any, base: Path | None = None) -> tuple[
    SourceDeclaration | None, list[str]
]:
    """Validate one declaration; returns it (or None) and every problem found."""
    where = f"[sources.{name}]"
    if not isinstance(data, dict):
        return None, [f"{where} must be a table of settings"]
    problems = [
        f"{where} has an unknown setting {key!r}; valid settings: {', '.join(sorted(KNOWN_KEYS))}"
        for key in data if key not in KNOWN_KEYS
    ]
    if ":" in name:  # a record is named SOURCE:RECORD_ID (person explain, review decide)
        problems.append(f"{where}: a source's name cannot hold a colon")
    if not name.strip() or len(name) > NAME_LENGTH:
        problems.append(f"{where}: a source's name is 1 to {NAME_LENGTH} characters "
                        f"(this one has {len(name)})")
    fmt = data.get("format")
    if fmt not in FORMATS:
        problems.append(f"{where} format = {fmt!r}: use one of {', '.join(FORMATS)}")
    encoding = str(data.get("encoding", "utf-8"))
    try:
        codecs.lookup(encoding)
    except LookupError:
        problems.append(
            f"{where} encoding = {encoding!r} is not a known codec: use a Python codec name "
            "such as utf-8, cp1251, koi8-r, latin-1"
        )
    delimiter = str(data.get("delimiter", ","))
    if len(delimiter) != 1 or delimiter in "\"\n\r":
        problems.append(
            f"{where} delimiter = {delimiter!r}: use one character such as , ; | or \\t"
        )
    record_id = data.get("record_id")
    if not isinstance(record_id, str) or not record_id.strip():
        problems.append(f"{where} has no record_id: name the column holding the row's unique key")
    date_format = str(data.get("date_format", ISO_DATE))
    if (why := _check_date_format(date_format)) is not None:
        problems.append(f"{where} date_format = {date_format!r} {why}")
    fields = data.get("fields", {})
    if not isinstance(fields, dict) or not fields:
        problems.append(f"[sources.{name}.fields] is missing: map canonical fields to columns")
        fields = {}
    valid = ", ".join(CANONICAL_FIELDS)
    for canonical, column in fields.items():
        if canonical not in CANONICAL_FIELDS:
            problems.append(
                f"[sources.{name}.fields] {canonical!r} is not a canonical field; valid: {valid}"
            )
        if not isinstance(column, str) or not column:
            problems.append(f"[sources.{name}.fields] {canonical} must name a column")
    name_order: tuple[str, ...] = NAME_SLOTS
    if "name_order" in data:
        name_order = tuple(str(data["name_order"]).split())
        if not name_order or sorted(name_order) != sorted(set(name_order)) or any(
            slot not in NAME_SLOTS for slot in name_order
        ):
            problems.append(
                f"{where} name_order = {data['name_order']!r}: list each of family, given, "
                "middle at most once, e.g. \"family given middle\""
            )
    values = data.get("values", {})
    if not isinstance(values, dict):
        problems.append(f"[sources.{name}.values] must be tables of source value = canonical")
        values = {}
    for canonical, mapping in values.items():
        if canonical not in CANONICAL_FIELDS:
            problems.append(
                f"[sources.{name}.values.{canonical}] maps an unknown field; valid: {valid}"
            )
        if not isinstance(mapping, dict):
            problems.append(f"[sources.{name}.values.{canonical}] must map values to values")
            continue
        allowed = CODED_FIELDS.get(canonical)
        for source_value, target in mapping.items():
            if allowed and str(target) not in allowed:
                problems.append(
                    f"[sources.{name}.values.{canonical}] {source_value!r} = {target!r}: "
                    f"{canonical} takes {', '.join(allowed)}"
                )
    file = data.get("file")
    file_path = None
    if file is not None:
        file_path = Path(str(file))
        if not file_path.is_absolute() and base is not None:
            file_path = (base / file_path).resolve()
    if problems:
        return None, problems
    return SourceDeclaration(
        name=name,
        agency=str(data.get("agency", "")),
        format=str(fmt),
        encoding=encoding,
        delimiter=delimiter,
        record_id=str(record_id),
        date_format=date_format,
        name_order=name_order,
        fields={str(k): str(v) for k, v in fields.items()},
        values={str(k): {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
        file=file_path,
    ), []


def parse_sources(data: dict[str, Any], base: Path | None = None) -> dict[str, SourceDeclaration]:
    """Validate every [sources.*] table; raise one ConfigError listing all problems."""
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise ConfigError(
            "No [sources.NAME] tables found.",
            hint="Declare each source as in docs/sources.md, e.g. [sources.voters].",
        )
    declarations: dict[str, SourceDeclaration] = {}
    problems: list[str] = []
    for name, body in sources.items():
        declaration, found = parse_declaration(name, body, base)
        problems.extend(found)
        if declaration is not None:
            declarations[name] = declaration
    if problems:
        raise ConfigError(
            f"The source declarations have {len(problems)} problem(s):", problems=problems
        )
    return declarations
