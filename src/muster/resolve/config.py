"""Resolution settings from the profile's [resolution] table, with safe defaults.

Thresholds are match weights without Splink's prior: the log2 Bayes factor of a
pair's evidence, independent of the register's size. A pair scoring at least
``link_weight`` may link; between ``review_weight`` and ``link_weight`` it goes to
the review list. Precision first: the defaults were chosen on synthetic data with
traps (benchmarks/resolve.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from muster.errors import ConfigError
from muster.profile import Profile

IDENTIFIERS = ("national_id", "tax_id", "passport_no")


@dataclass(frozen=True)
class SparkSettings:
    """The profile's [resolution.spark] table: where and how `--engine spark` runs.

    ``master`` is a Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``);
    the environment variable MUSTER_SPARK_MASTER overrides it. ``work_dir`` holds the
    Parquet exchange (records out, scored pairs back): on a cluster it must be a path
    the executors see too (a shared mount). ``conf`` is passed to Spark as is.
    """

    master: str = "local[2]"
    driver_memory: str = "2g"
    # spark.sql.shuffle.partitions; unset: 4 in local mode, Spark's own default on a cluster.
    shuffle_partitions: int | None = None
    work_dir: str | None = None  # None: the system's temporary directory
    conf: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResolutionConfig:
    link_weight: float = 28.0
    review_weight: float = 20.0
    # A record whose best link into one person beats its best link into another
    # (whom it cannot join) by less than this is ambiguous: reviewed, not linked.
    ambiguity_margin: float = 3.0
    # Names less similar than this (Jaro-Winkler on the comparison key) are
    # different names: such records are never the same person.
    name_similarity: float = 0.85
    # Two different given names that are both in common use (each carried by at
    # least this share of the records that have one, and by at least
    # common_name_records of them) are two names, not a typo of one: Алина and
    # Алиса, Мария and Арина. Twins are told apart by little else. 0 turns it off.
    common_name_share: float = 1e-4
    common_name_records: int = 20
    # Identifiers that link records deterministically (after the guard).
    link_identifiers: tuple[str, ...] = IDENTIFIERS
    # Identifiers of which a person has exactly one: two different values can never
    # be the same person.
    unique_identifiers: tuple[str, ...] = ("national_id", "tax_id")
    # field -> sources in order of trust; "*" is the order for unlisted fields.
    trust: dict[str, tuple[str, ...]] = field(default_factory=dict)
    u_sample_pairs: float = 2e6
    train_records: int = 1_000_000  # larger registers train the model on a sample
    spark: SparkSettings = field(default_factory=SparkSettings)

    def trust_order(self, field_name: str) -> tuple[str, ...]:
        return self.trust.get(field_name, self.trust.get("*", ()))

    def untrusted_fields(self, source: str, fields: Iterable[str]) -> list[str]:
        """Of a source's declared ``fields``, those whose trust order lists sources but
        not this one: its values of them are chosen only where no listed source has
        one. ``full_name`` stands for the three names."""
        names = ("family_name", "given_name", "middle_name")
        stored = [n for f in fields if f != "record_date"
                  for n in (names if f == "full_name" else (f,))]
        return [f for f in dict.fromkeys(stored)
                if self.trust_order(f) and source not in self.trust_order(f)]

    @property
    def identifier_fields(self) -> tuple[str, ...]:
        """Every identifier resolution reads: those that link, and those that tell apart."""
        return tuple(dict.fromkeys((*self.link_identifiers, *self.unique_identifiers)))


def resolution_config(profile: Profile) -> ResolutionConfig:
    data: dict[str, Any] = dict(profile.data.get("resolution", {}))
    trust = {k: tuple(v) for k, v in data.pop("trust", {}).items()}
    spark = _spark_settings(profile, data.pop("spark", {}))
    known = set(ResolutionConfig.__dataclass_fields__) - {"trust", "spark"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"Profile {profile.name!r}: unknown [resolution] setting(s) {', '.join(unknown)}.",
            hint=f"Known settings: {', '.join(sorted(known | {'trust', 'spark'}))}.",
        )
    problems = [problem for key, bounds in _NUMBERS.items() if key in data
                for problem in [_number_problem(key, data[key], *bounds)] if problem]
    if problems:
        raise ConfigError(f"Profile {profile.name!r}: bad [resolution] settings.",
                          problems=problems, hint="See docs/resolution.md, Settings.")
    for key in ("link_identifiers", "unique_identifiers"):
        if key in data:
            data[key] = tuple(data[key])
            bad = [f for f in data[key] if f not in IDENTIFIERS]
            if bad:
                raise ConfigError(f"resolution.{key}: {', '.join(bad)} is not an identifier.",
                                  hint=f"Identifiers: {', '.join(IDENTIFIERS)}.")
    config = ResolutionConfig(trust=trust, spark=spark, **data)
    if config.review_weight > config.link_weight:
        raise ConfigError("resolution.review_weight must not exceed resolution.link_weight.")
    return config


# key -> (lowest, highest, whole number only): the numbers [resolution] takes.
_NUMBERS: dict[str, tuple[float | None, float | None, bool]] = {
    "link_weight": (None, None, False), "review_weight": (None, None, False),
    "ambiguity_margin": (0, None, False), "name_similarity": (0, 1, False),
    "common_name_share": (0, 1, False), "common_name_records": (1, None, True),
    "u_sample_pairs": (1, None, True), "train_records": (1, None, True),
}


def _number_problem(key: str, value: Any, low: float | None, high: float | None,
                    whole: bool) -> str | None:
    """What is wrong with ``value`` for the setting ``key``, or None."""
    kind = "a whole number" if whole else "a number"
    bounds = (f" from {low:g} to {high:g}" if low is not None and high is not None
              else f" of at least {low:g}" if low is not None else "")
    wrong = f"resolution.{key} must be {kind}{bounds}, not {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return wrong
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        return wrong
    if whole and value != int(value):
        return wrong
    if (low is not None and value < low) or (high is not None and value > high):
        return wrong
    return None


def _spark_settings(profile: Profile, table: Any) -> SparkSettings:
    if not isinstance(table, dict):
        raise ConfigError(f"Profile {profile.name!r}: resolution.spark must be a table.")
    data = dict(table)
    known = set(SparkSettings.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"Profile {profile.name!r}: unknown resolution.spark setting(s) "
            f"{', '.join(unknown)}.", hint=f"Known settings: {', '.join(sorted(known))}.")
    problems = [f"resolution.spark.{key} must be text" for key in
                ("master", "driver_memory", "work_dir")
                if key in data and not isinstance(data[key], str)]
    partitions = data.get("shuffle_partitions")
    if partitions is not None and (isinstance(partitions, bool)
                                   or not isinstance(partitions, int) or partitions < 1):
        problems.append("resolution.spark.shuffle_partitions must be a positive integer")
    conf = data.get("conf", {})
    if not isinstance(conf, dict):
        problems.append("resolution.spark.conf must be a table of Spark settings")
    else:
        data["conf"] = {str(k): str(v).lower() if isinstance(v, bool) else str(v)
                        for k, v in conf.items()}
    if problems:
        raise ConfigError(f"Profile {profile.name!r}: bad resolution.spark settings.",
                          problems=problems)
    return SparkSettings(**data)
