"""The rows of one extract while it is being made, and the log of what was done to them.

Rows are only ever appended, so a row's index is stable from the moment it exists
until the file order is fixed at the end; the defect log refers to rows by index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# What happens to a row when a correct ingest reads the file.
ACCEPTED, REPEAT, MISSING_ID, CONFLICT, MALFORMED = range(5)
QUARANTINE_REASONS = {
    MISSING_ID: "missing_record_id",
    CONFLICT: "conflicting_duplicate",
    MALFORMED: "malformed_row",
}


@dataclass
class Rows:
    """Canonical values of an extract's rows (``cols``) plus what only the generator
    knows (``person``; ``hidden``: region index, stale flag, fate, original row)."""

    person: np.ndarray
    cols: dict[str, pa.Array] = field(default_factory=dict)
    hidden: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.person)

    def take(self, index: np.ndarray) -> Rows:
        arrow_index = pa.array(index, pa.int64())
        return Rows(
            person=self.person[index],
            cols={k: v.take(arrow_index) for k, v in self.cols.items()},
            hidden={k: v[index] for k, v in self.hidden.items()},
        )

    def append(self, other: Rows) -> np.ndarray:
        """Append rows (same columns); returns the indices they got."""
        start = len(self)
        self.person = np.concatenate([self.person, other.person])
        self.cols = {
            k: pa.concat_arrays([v, other.cols[k].cast(v.type)]) for k, v in self.cols.items()
        }
        self.hidden = {k: np.concatenate([v, other.hidden[k]]) for k, v in self.hidden.items()}
        return np.arange(start, len(self))

    def has(self, name: str) -> bool:
        return name in self.cols

    def present(self, name: str) -> np.ndarray:
        """Mask of rows holding a value in ``name``."""
        mask: np.ndarray = self.cols[name].is_valid().to_numpy(zero_copy_only=False)
        return mask


@dataclass
class Defect:
    """One kind of defect, made on purpose on some rows of one field."""

    defect: str
    field: str  # canonical field ("" for whole-row defects)
    rows: np.ndarray
    detail: pa.Array | None = None  # one text per row
    other: np.ndarray | None = None  # a related row per row (the original of a copy)
    template: str = ""  # detail for ``other``: {record} and {line} are filled in at the end


@dataclass
class DefectLog:
    """Every change made on purpose, in the order it was made."""

    entries: list[Defect] = field(default_factory=list)

    def add(
        self, defect: str, field_name: str, rows: np.ndarray, detail: pa.Array | str | None = None
    ) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return
        if isinstance(detail, str):
            detail = pa.array([detail], pa.string()).take(pa.array(np.zeros(len(rows), np.int64)))
        self.entries.append(Defect(defect, field_name, rows, detail))

    def add_related(self, defect: str, rows: np.ndarray, other: np.ndarray, template: str) -> None:
        """Log a whole-row defect that points at another row (record id and line of
        ``other`` replace {record} and {line} in ``template`` once the file is written)."""
        if len(rows):
            self.entries.append(
                Defect(
                    defect,
                    "",
                    np.asarray(rows, dtype=np.int64),
                    other=np.asarray(other, dtype=np.int64),
                    template=template,
                )
            )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for entry in self.entries:
            out[entry.defect] = out.get(entry.defect, 0) + len(entry.rows)
        return out

    def rename_fields(self, names: dict[str, str]) -> None:
        """Report defects under the column they land in; the detail keeps the part."""
        for entry in self.entries:
            if entry.field in names:
                part = pa.array([entry.field], pa.string()).take(
                    pa.array(np.zeros(len(entry.rows), np.int64))
                )
                entry.detail = (
                    part
                    if entry.detail is None
                    else pc.binary_join_element_wise(part, entry.detail, ": ")
                )
                entry.field = names[entry.field]
