"""Bad input the contract quarantines, identical repeats, file order and record ids.

A handful of each per source: rows without a record id, a record id reused later
with different content (the first row stands), rows that cannot be decoded as rows
(text formats only) and rows repeated byte for byte (accepted once). Their expected
fate is kept in ``hidden["status"]`` so the manifest and truth.csv can be exact.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.synth.population import DAY
from muster.synth.rows import ACCEPTED, CONFLICT, MALFORMED, MISSING_ID, REPEAT, DefectLog, Rows
from muster.synth.sources import SourceSpec

MALFORMED_SHORT, MALFORMED_LONG = 0, 1
EXTRA_FIELDS = 2  # fields a "long" malformed CSV row carries beyond the header


def count_bad_rows(n_rows: int) -> int:
    """A handful per kind: 3 for small files, up to 25 for millions of rows."""
    return int(np.clip(n_rows // 5000, 3, 25)) if n_rows >= 40 else n_rows // 10


def add_bad_input(rows: Rows, log: DefectLog, spec: SourceSpec, rng: np.random.Generator) -> None:
    n = len(rows)
    rows.hidden["status"] = np.full(n, ACCEPTED, dtype=np.int8)
    rows.hidden["origin"] = np.full(n, -1, dtype=np.int64)
    rows.hidden["malformed"] = np.full(n, -1, dtype=np.int8)
    k = count_bad_rows(n)
    kinds = [MISSING_ID, CONFLICT, REPEAT] + ([MALFORMED] if spec.text_format else [])
    originals = rng.choice(n, size=k * len(kinds), replace=False).reshape(len(kinds), k)
    for kind, source in zip(kinds, originals, strict=True):  # a loop over kinds of bad input
        copies = rows.take(source)
        copies.hidden["status"][:] = kind
        if kind in (CONFLICT, REPEAT):
            copies.hidden["origin"][:] = source
        if kind == CONFLICT:
            change_content(copies, rows, rng)
        if kind == MALFORMED:
            copies.hidden["malformed"][:] = rng.integers(0, 2, size=k)
        added = rows.append(copies)
        log_bad_rows(log, spec, kind, added, source, copies.hidden["malformed"])


def change_content(copies: Rows, rows: Rows, rng: np.random.Generator) -> None:
    """A later row reusing a record id is never identical: it has another record date
    (and, where there is one, somebody else's address)."""
    dates = copies.cols["record_date"].to_numpy(zero_copy_only=False)
    shifted = dates - rng.integers(1, 400, size=len(copies)) * DAY
    copies.cols["record_date"] = pa.array(shifted, pa.date32())
    if copies.has("address"):
        donors = rng.integers(0, len(rows), size=len(copies))
        copies.cols["address"] = rows.cols["address"].take(pa.array(donors))


def log_bad_rows(
    log: DefectLog,
    spec: SourceSpec,
    kind: int,
    added: np.ndarray,
    source: np.ndarray,
    malformed: np.ndarray,
) -> None:
    if kind == MISSING_ID:
        log.add("missing_record_id", "", added, "row has no record id")
    elif kind == CONFLICT:
        log.add_related(
            "conflicting_duplicate",
            added,
            source,
            "record id already used on line {line} with other content; that row stands",
        )
    elif kind == REPEAT:
        log.add_related("identical_repeat", added, source, "byte-for-byte repeat of line {line}")
    elif spec.format == "jsonl":
        log.add("malformed_row", "", added, "line is not a JSON object (cut short)")
    else:
        width = len(spec.columns)
        fields = np.where(malformed == MALFORMED_SHORT, width - 3, width + EXTRA_FIELDS)
        detail = pc.binary_join_element_wise(
            pc.cast(pa.array(fields), pa.string()), f" fields where the header has {width}", ""
        )
        log.add("malformed_row", "", added, detail)


def order_rows(rows: Rows, rng: np.random.Generator) -> np.ndarray:
    """File order: random, except that a repeat or reused id comes after its original."""
    key = rng.random(len(rows))
    origin = rows.hidden["origin"]
    later = origin >= 0
    base = key[origin[later]]
    key[later] = base + (1 - base) * (0.5 + 0.5 * rng.random(int(later.sum())))
    key[later] = np.maximum(key[later], np.nextafter(base, 2.0))
    return np.argsort(key, kind="stable")


def number_rows(rows: Rows, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Record numbers in file order with occasional gaps (deleted records); copies take
    their original's number; rows without a record id get -1."""
    status = rows.hidden["status"]
    numbers = np.full(len(rows), -1, dtype=np.int64)
    fresh = order[np.isin(status[order], (ACCEPTED, MALFORMED))]
    gaps = np.where(rng.random(len(fresh)) < 0.05, rng.integers(2, 20, len(fresh)), 1)
    numbers[fresh] = int(rng.integers(1, 1000)) + np.cumsum(gaps)
    copies = rows.hidden["origin"] >= 0
    numbers[copies] = numbers[rows.hidden["origin"][copies]]
    return numbers
