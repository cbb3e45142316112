"""The law file: named parameters whose values carry effective dates.

A law file is TOML (see docs/law.md)::

    [law]
    name = "reference"
    version = "2024-01-01"

    [parameters.conscription_max_age]
    description = "..."
    periods = [{ value = 27 }, { from = 2024-01-01, value = 30 }]

    [parameters.reserve_max_age]
    value = 50

A parameter has either one ``value`` (in force always) or ``periods``: values in
order of ``from`` (a TOML date or "YYYY-MM-DD"); a period without ``from`` is in
force since always and can only be the first. The rules (rules.py) name the
parameters they read; every one must be present. A file is checked as a whole and
every problem is reported at once.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from muster.errors import ConfigError
from muster.limits import NAME_LENGTH
from muster.profile import Profile
from muster.store.schema import CODED_FIELDS

# The parameters the rules read: name -> (kind, what it means). Kinds: "years",
# "months" and "count" are whole numbers from 0 to LARGEST; "codes" is a list of
# strings; "sex" and "fitness_category" are lists of the register's codes for that field.
# A whole number beyond these is a typo (and an age of 100000 years is no date).
LARGEST = {"years": 150, "months": 12 * 150, "count": 1000}
PARAMETERS: dict[str, tuple[str, str]] = {
    "subject_sexes": ("sex", "sex values subject to registration; another recorded sex is not"),
    "registration_age": ("years", "age from which a person is subject to registration"),
    "conscription_max_age": ("years", "oldest age, inclusive, for conscription (no service)"),
    "reserve_max_age": ("years", "oldest age, inclusive, for the reserve (served or ranked)"),
    "conscription_fitness": ("fitness_category", "fitness categories fit for conscription"),
    "reserve_fitness": ("fitness_category", "fitness categories fit for the reserve"),
    "unfit_fitness": ("fitness_category", "fitness categories that exempt (unfit)"),
    "limited_fitness": ("fitness_category", "fitness categories that exempt a man with no service"),
    "temporary_unfitness": ("fitness_category",
                            "fitness categories that defer until re-examination"),
    "temporary_unfitness_months": ("months", "months a temporary unfitness defers for"),
    "fitness_valid_months": ("months", "months a fitness examination stays current"),
    "min_dependents": ("count", "dependents from which a person is deferred"),
    "protected_occupations": ("codes", "occupations that defer (compared ignoring case)"),
}
KNOWN_KEYS = {"description", "unit", "value", "periods"}


@dataclass(frozen=True)
class Period:
    start: date | None  # None: in force since always
    value: Any


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    description: str
    periods: tuple[Period, ...]

    def in_force(self, as_of: date) -> Period | None:
        current = None
        for period in self.periods:
            if period.start is None or period.start <= as_of:
                current = period
        return current


@dataclass(frozen=True)
class Law:
    name: str
    version: str
    title: str
    path: Path
    text: str
    sha256: str
    parameters: dict[str, Parameter]

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def values_on(self, as_of: date) -> dict[str, Any]:
        """Every parameter's value in force on ``as_of``."""
        values, missing = {}, []
        for name, parameter in self.parameters.items():
            period = parameter.in_force(as_of)
            if period is None:
                missing.append(f"{name}: its first period starts on "
                               f"{parameter.periods[0].start}")
            else:
                values[name] = period.value
        if missing:
            raise ConfigError(f"The law {self.label} ({self.path}) has no value in force on "
                              f"{as_of} for:", problems=missing,
                              hint="Give the first period no `from`, or choose a later date.")
        return values

    def started_on(self, as_of: date) -> dict[str, date | None]:
        """For each parameter, the date its value in force on ``as_of`` took effect."""
        started = {}
        for name, parameter in self.parameters.items():
            period = parameter.in_force(as_of)
            started[name] = period.start if period else None
        return started


def _as_date(value: Any, where: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(f"{where}: `from` must be a date (YYYY-MM-DD), got {value!r}")
    return None


def _check_value(kind: str, value: Any, where: str, problems: list[str]) -> Any:
    if kind == "codes" or kind in CODED_FIELDS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            problems.append(f"{where}: must be a list of non-empty strings, got {value!r}")
            return None
        codes = tuple(v.strip() for v in value)
        # A code the register never holds matches nobody: a typo ("b", "8") would quietly
        # take everyone of that category out of the rule.
        unknown = [c for c in codes if kind in CODED_FIELDS and c not in CODED_FIELDS[kind]]
        if unknown:
            problems.append(f"{where}: the register has no {kind} code "
                            f"{', '.join(map(repr, unknown))} (its codes: "
                            f"{', '.join(CODED_FIELDS[kind])})")
            return None
        return codes
    most = LARGEST[kind]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        problems.append(f"{where}: must be a whole number of {kind} from 0 to {most}, "
                        f"got {value!r}")
        return None
    return value


def _parameter(name: str, spec: Any, problems: list[str]) -> Parameter | None:
    where = f"parameters.{name}"
    if name not in PARAMETERS:
        problems.append(f"{where}: unknown parameter; the rules read "
                        f"{', '.join(sorted(PARAMETERS))}")
        return None
    kind = PARAMETERS[name][0]
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table with `value` or `periods`")
        return None
    for key in sorted(set(spec) - KNOWN_KEYS):
        problems.append(f"{where}: unknown key {key!r} (use {', '.join(sorted(KNOWN_KEYS))})")
    if ("value" in spec) == ("periods" in spec):
        problems.append(f"{where}: give exactly one of `value` or `periods`")
        return None
    before = len(problems)
    periods: list[Period] = []
    if "value" in spec:
        periods.append(Period(None, _check_value(kind, spec["value"], f"{where}.value", problems)))
    elif not isinstance(spec["periods"], list) or not spec["periods"]:
        problems.append(f"{where}.periods: must be a non-empty list of {{ from, value }} tables")
    else:
        for i, item in enumerate(spec["periods"], start=1):
            at = f"{where}.periods[{i}]"
            if not isinstance(item, dict) or "value" not in item:
                problems.append(f"{at}: must be a table with a `value` (and `from`)")
                continue
            for key in sorted(set(item) - {"from", "value"}):
                problems.append(f"{at}: unknown key {key!r} (use from, value)")
            start = None
            if "from" in item:
                start = _as_date(item["from"], at, problems)
            elif i > 1:
                problems.append(f"{at}: only the first period may omit `from`")
            if periods and start is not None and periods[-1].start is not None \
                    and start <= periods[-1].start:
                problems.append(f"{at}: `from` {start} is not after the previous period's "
                                f"{periods[-1].start}; list periods in date order")
            periods.append(Period(start, _check_value(kind, item["value"], f"{at}.value",
                                                      problems)))
    if len(problems) > before:
        return None
    description = str(spec.get("description", PARAMETERS[name][1]))
    return Parameter(name, kind, description, tuple(periods))


def parse_law(path: Path) -> Law:
    """Read and check a law file; a ConfigError lists every problem in it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read the law file {path}: {exc.strerror}.",
                          hint="Check the path.") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"The law file {path} is not valid UTF-8 TOML: {exc}",
                          hint="Fix the syntax; docs/law.md shows the format.") from None
    problems: list[str] = []
    meta = data.get("law")
    if not isinstance(meta, dict):
        problems.append("[law] is missing: it needs `name` and `version`")
        meta = {}
    else:
        for key in ("name", "version"):
            if not str(meta.get(key, "")).strip():
                problems.append(f"law.{key} is missing or empty")
            elif len(str(meta[key])) > NAME_LENGTH:
                problems.append(f"law.{key} has {len(str(meta[key]))} characters; at most "
                                f"{NAME_LENGTH}")
    for key in sorted(set(data) - {"law", "parameters"}):
        problems.append(f"[{key}]: unknown table (a law file has [law] and [parameters.*])")
    specs = data.get("parameters", {})
    parameters: dict[str, Parameter] = {}
    if not isinstance(specs, dict):
        problems.append("[parameters] must be a table of parameter tables")
        specs = {}
    for name, spec in specs.items():
        parameter = _parameter(name, spec, problems)
        if parameter is not None:
            parameters[name] = parameter
    for name in PARAMETERS:
        if name not in specs:
            problems.append(f"parameters.{name} is missing ({PARAMETERS[name][1]})")
    if problems:
        raise ConfigError(f"The law file {path} is not valid:", problems=problems,
                          hint="docs/law.md describes every parameter.")
    return Law(
        name=str(meta["name"]), version=str(meta["version"]),
        title=str(meta.get("title", meta["name"])), path=path,
        text=raw.decode("utf-8"), sha256=hashlib.sha256(raw).hexdigest(),
        parameters={name: parameters[name] for name in PARAMETERS},
    )


def profile_law_path(profile: Profile) -> Path:
    law = profile.data.get("eligibility", {}).get("law")
    if not law:
        raise ConfigError(f"The profile {profile.name!r} names no law file.",
                          hint='Add `[eligibility] law = "law.toml"` to its profile.toml.')
    return profile.path / str(law)


def load_law(profile: Profile, path: Path | None = None) -> Law:
    """The profile's law, or the law file at ``path``."""
    return parse_law(path if path is not None else profile_law_path(profile))


def officer_source(profile: Profile) -> str | None:
    """The source casework writes officer-verified values under (it settles conflicts)."""
    value = profile.data.get("casework", {}).get("officer_source")
    return str(value) if value else None
