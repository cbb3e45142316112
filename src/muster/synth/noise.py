"""Noise: the everyday defects of agency data, each logged where it was made.

Every step picks its rows at random among the rows it applies to, changes them with
column operations and logs defect kind, field, rows and a human-readable detail.
The register must cope with all of these without losing a row or merging wrongly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.profile import Profile
from muster.synth.population import AS_OF, DAY, Population
from muster.synth.rows import DefectLog, Rows
from muster.synth.sources import SourceSpec
from muster.synth.text import TYPO_KINDS, apply_typos, concat, ensure_array, format_dates, put

NAME_FIELDS = ("family_name", "given_name", "middle_name")
TYPO_FIELD_WEIGHTS = np.array([0.5, 0.3, 0.2])  # long family names get mistyped most


def choose(eligible: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    return np.flatnonzero(eligible & (rng.random(len(eligible)) < rate))


def add_noise(
    rows: Rows,
    log: DefectLog,
    spec: SourceSpec,
    pop: Population,
    profile: Profile,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """All noise of one extract; returns the borrowed-identifier trap pairs."""
    noise = spec.noise
    add_duplicates(rows, log, spec, rng)
    # Values go missing first: every later defect is made on a value that is there.
    blank_values(rows, log, noise.missable, noise.missing, rng)
    transliterate(rows, log, noise.transliterate, profile, rng)
    swap_names(rows, log, noise.swap_names, rng)
    add_typos(rows, log, np.ones(len(rows), dtype=bool), noise.typo, rng)
    swap_day_month(rows, log, noise.day_month, rng)
    broken = break_identifiers(rows, log, noise.broken_id, profile, rng)
    borrowed = borrow_identifiers(rows, log, noise.borrowed_id, pop, broken, rng)
    log_stale(rows, log, pop)
    return borrowed


def add_duplicates(rows: Rows, log: DefectLog, spec: SourceSpec, rng: np.random.Generator) -> None:
    """The same person entered twice under two record ids, with small differences."""
    originals = choose(np.ones(len(rows), dtype=bool), spec.noise.duplicate, rng)
    copies = rows.append(rows.take(originals))
    log.add_related(
        "within_source_duplicate",
        copies,
        originals,
        "same person as record {record} on line {line}",
    )
    later = rows.cols["record_date"].to_numpy(zero_copy_only=False)[copies]
    later = np.minimum(later + rng.integers(1, 30, len(copies)) * DAY, AS_OF)
    rows.cols["record_date"] = put(rows.cols["record_date"], copies, pa.array(later, pa.date32()))
    typo = rng.random(len(copies)) < 0.5
    add_typos(rows, log, np.isin(np.arange(len(rows)), copies[typo]), 1.0, rng)
    blank_values(rows, log, spec.noise.missable, 1.0, rng, only=copies[~typo])


def transliterate(
    rows: Rows, log: DefectLog, rate: float, profile: Profile, rng: np.random.Generator
) -> None:
    """Whole names written in Latin by one of the profile's romanisation schemes."""
    schemes = sorted(profile.names.schemes)
    if rate <= 0 or not schemes:
        return
    chosen = choose(np.ones(len(rows), dtype=bool), rate, rng)
    scheme_of = rng.integers(0, len(schemes), size=len(chosen))
    for k, scheme in enumerate(schemes):  # a loop over schemes and name fields
        for field in NAME_FIELDS:
            if not rows.has(field):
                continue
            at = chosen[scheme_of == k]
            at = at[rows.present(field)[at]]
            latin = romanise(rows.cols[field].take(pa.array(at)), profile, scheme)
            rows.cols[field] = put(rows.cols[field], at, latin)
            log.add("transliterated", field, at, scheme)


def romanise(values: pa.Array, profile: Profile, scheme: str) -> pa.Array:
    """Romanise the distinct values only (names repeat: far fewer values than rows)."""
    encoded = ensure_array(pc.dictionary_encode(values))
    distinct = encoded.dictionary.to_pylist()
    latin = pa.array([profile.names.romanise(v, scheme) for v in distinct], pa.string())
    return latin.take(encoded.indices)


def swap_names(rows: Rows, log: DefectLog, rate: float, rng: np.random.Generator) -> None:
    if not (rows.has("family_name") and rows.has("given_name")):
        return
    both = rows.present("family_name") & rows.present("given_name")
    at = choose(both, rate, rng)
    family = rows.cols["family_name"].take(pa.array(at))
    given = rows.cols["given_name"].take(pa.array(at))
    rows.cols["family_name"] = put(rows.cols["family_name"], at, given)
    rows.cols["given_name"] = put(rows.cols["given_name"], at, family)
    log.add(
        "swapped_names",
        "family_name",
        at,
        concat("family and given names swapped: ", family, " <-> ", given),
    )


def add_typos(
    rows: Rows, log: DefectLog, eligible: np.ndarray, rate: float, rng: np.random.Generator
) -> None:
    chosen = choose(eligible, rate, rng)
    field_of = rng.choice(len(NAME_FIELDS), size=len(chosen), p=TYPO_FIELD_WEIGHTS)
    for k, field in enumerate(NAME_FIELDS):  # a loop over name fields
        if not rows.has(field):
            continue
        at = chosen[field_of == k]
        at = at[rows.present(field)[at]]
        old = rows.cols[field].take(pa.array(at))
        new, kind = apply_typos(old, rng)
        rows.cols[field] = put(rows.cols[field], at, new)
        kinds = pa.array(list(TYPO_KINDS)).take(pa.array(kind))
        log.add("typo", field, at, concat(kinds, ": ", old, " -> ", new))


def swap_day_month(rows: Rows, log: DefectLog, rate: float, rng: np.random.Generator) -> None:
    """A birth date keyed in month-first: only where the result is still a date."""
    if rate <= 0 or not rows.has("birth_date"):
        return
    dates = rows.cols["birth_date"].to_numpy(zero_copy_only=False)
    years = dates.astype("datetime64[Y]")
    months = dates.astype("datetime64[M]")
    month = (months - years).astype(np.int64) + 1
    day = (dates - months).astype(np.int64) + 1
    fits = rows.present("birth_date") & (day <= 12) & (day != month)
    at = choose(fits, rate, rng)
    swapped = years[at].astype("datetime64[M]") + (day[at] - 1)
    swapped = swapped.astype("datetime64[D]") + (month[at] - 1) * DAY
    new = pa.array(swapped, pa.date32())
    old = rows.cols["birth_date"].take(pa.array(at))
    rows.cols["birth_date"] = put(rows.cols["birth_date"], at, new)
    log.add(
        "day_month_swap",
        "birth_date",
        at,
        concat(format_dates(old, "%Y-%m-%d"), " -> ", format_dates(new, "%Y-%m-%d")),
    )


def break_identifiers(
    rows: Rows, log: DefectLog, rate: float, profile: Profile, rng: np.random.Generator
) -> np.ndarray:
    """Wrong check digit: the last digit is changed, which every check algorithm catches."""
    broken = np.zeros(len(rows), dtype=bool)
    for field in ("national_id", "tax_id"):
        if not rows.has(field) or profile.identifiers[field].check.name == "none":
            continue
        at = choose(rows.present(field), rate, rng)
        old = rows.cols[field].take(pa.array(at))
        last = pc.cast(pc.utf8_slice_codeunits(old, -1), pa.int64()).to_numpy(zero_copy_only=False)
        digit = (last + rng.integers(1, 10, size=len(at))) % 10
        new = concat(pc.utf8_slice_codeunits(old, 0, -1), pc.cast(pa.array(digit), pa.string()))
        rows.cols[field] = put(rows.cols[field], at, new)
        log.add("broken_identifier", field, at, concat("check digit altered: ", old, " -> ", new))
        broken[at] = True
    return broken


def borrow_identifiers(
    rows: Rows,
    log: DefectLog,
    rate: float,
    pop: Population,
    broken: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A record carrying another person's valid identifier (a trap for exact links)."""
    field = next((f for f in ("national_id", "tax_id") if rows.has(f)), None)
    if rate <= 0 or field is None or pop.n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    at = choose(rows.present(field) & ~broken, rate, rng)
    owner = (rows.person[at] + rng.integers(1, pop.n, size=len(at))) % pop.n
    rows.cols[field] = put(rows.cols[field], at, pop.ids[field].take(pa.array(owner)))
    log.add(
        "borrowed_identifier",
        field,
        at,
        concat("valid identifier of ", pop.text["person_id"].take(pa.array(owner))),
    )
    return rows.person[at], owner


def log_stale(rows: Rows, log: DefectLog, pop: Population) -> None:
    field = "address" if rows.has("address") else "region" if rows.has("region") else None
    if field is None:
        return
    at = np.flatnonzero(rows.hidden["stale"])
    moved = pop.moved_on[pop.household[rows.person[at]]]
    log.add(
        "stale_address",
        field,
        at,
        concat("previous address shown; moved on ", format_dates(pa.array(moved), "%Y-%m-%d")),
    )


def blank_values(
    rows: Rows,
    log: DefectLog,
    missable: tuple[str, ...],
    rate: float,
    rng: np.random.Generator,
    only: np.ndarray | None = None,
) -> None:
    """Values the agency failed to record (stale rows keep theirs: one defect at a time)."""
    fields = [f for f in missable if rows.has(f)]
    if not fields:
        return
    eligible = ~rows.hidden["stale"]
    if only is not None:
        eligible &= np.isin(np.arange(len(rows)), only)
    chosen = choose(eligible, rate, rng)
    field_of = rng.integers(0, len(fields), size=len(chosen))
    for k, field in enumerate(fields):  # a loop over fields
        at = chosen[field_of == k]
        at = at[rows.present(field)[at]]
        values = rows.cols[field]
        rows.cols[field] = put(values, at, pa.nulls(len(at), values.type))
        log.add("missing_value", field, at)


def compose_full_name(rows: Rows, log: DefectLog) -> None:
    """Sources with one name column get "Family Given Middle" after the name noise."""
    parts = [rows.cols.pop(f) for f in NAME_FIELDS]
    full = pc.binary_join_element_wise(*parts, " ", null_handling="skip")
    rows.cols["full_name"] = pc.if_else(pc.equal(full, ""), None, full)
    log.rename_fields({f: "full_name" for f in NAME_FIELDS})
