"""The vocabulary synthetic people are made of, read from the profile's ``synth_names.toml``.

Everything language-specific (name pools, cities, streets, occupations, ranks, the
way agencies code sex) is data next to the profile; the generator only knows the
shape of this file. Pools are Arrow arrays so that rendering a million names is one
``take``; romanisation runs once per distinct pool entry.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from muster.errors import ConfigError
from muster.profile import Profile

FILE_NAME = "synth_names.toml"


@dataclass(frozen=True)
class NamePools:
    """Name pools; a code is a position in the pool (sex is folded into the code)."""

    family: pa.Array  # male forms, then female forms
    given: pa.Array  # male names, then female names
    middle: pa.Array  # patronymics (son's forms, then daughter's), or ``given``
    n_family: int
    n_male: int
    middle_mode: str  # "patronymic" or "given"
    middle_share: float
    group_weights: np.ndarray
    family_groups: list[tuple[int, int, np.ndarray]]  # per group: start, stop, weights
    male_groups: list[tuple[int, int, np.ndarray]]
    female_groups: list[tuple[int, int, np.ndarray]]  # positions within the female list
    email_stems: dict[str, pa.Array]  # pool name -> lower-case ASCII spelling


@dataclass(frozen=True)
class Places:
    cities: pa.Array
    city_region: np.ndarray  # region index of each city
    city_weight: np.ndarray  # within its region
    streets: pa.Array
    address_formats: list[str]
    address_shares: np.ndarray
    birth_place_format: str


@dataclass(frozen=True)
class Work:
    labels: pa.Array  # as the tax service writes them
    codes: pa.Array  # canonical occupation
    shares: np.ndarray
    employer_of: np.ndarray  # per occupation: index into employer_kinds
    employers: pa.Array
    employer_kinds: list[tuple[int, int]]  # start, stop in ``employers``


@dataclass(frozen=True)
class Vocabulary:
    names: NamePools
    places: Places
    work: Work
    ranks: pa.Array
    rank_shares: np.ndarray
    career_from: int  # rank index from which service was long-term
    specialties: pa.Array
    codes: dict[str, Any]


def load_vocabulary(profile: Profile) -> Vocabulary:
    path = profile.path / FILE_NAME
    if not path.exists():
        raise ConfigError(
            f"Profile {profile.name!r} has no {FILE_NAME}, so synthetic people cannot be made.",
            hint=f"Add {path} (see the default profile's {FILE_NAME} for its shape).",
        )
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
        return _build(profile, data)
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"{path} is not a usable vocabulary: {type(exc).__name__}: {exc}",
            hint=f"Compare it with the default profile's {FILE_NAME}.",
        ) from None


def weigh_by_rank(n: int) -> np.ndarray:
    """Frequencies that fall with rank: pools list common entries first."""
    weights: np.ndarray = 1.0 / (np.arange(n) + 8.0)
    return weights / float(weights.sum())


def _build(profile: Profile, data: dict[str, Any]) -> Vocabulary:
    ranks = data["military"]["ranks"]
    rank_labels = [r[0] for r in ranks]
    return Vocabulary(
        names=_build_names(profile, data["names"]),
        places=_build_places(profile, data["places"]),
        work=_build_work(data["work"]),
        ranks=pa.array(rank_labels, pa.string()),
        rank_shares=_normalise([float(r[1]) for r in ranks]),
        career_from=rank_labels.index(data["military"]["career_from"]),
        specialties=pa.array(data["military"]["specialties"], pa.string()),
        codes=data["codes"],
    )


def _normalise(values: list[float]) -> np.ndarray:
    array: np.ndarray = np.asarray(values, dtype=np.float64)
    return array / float(array.sum())


def _split_forms(entry: Any, count: int) -> list[str]:
    """An entry is a string (every form the same) or a list of forms."""
    return [entry] * count if isinstance(entry, str) else [str(e) for e in entry][:count]


def _build_names(profile: Profile, data: dict[str, Any]) -> NamePools:
    mode = data.get("middle", "patronymic")
    if mode not in ("patronymic", "given"):
        raise ValueError(f"names.middle must be 'patronymic' or 'given', not {mode!r}")
    fam_m: list[str] = []
    fam_f: list[str] = []
    male: list[str] = []
    son: list[str] = []
    daughter: list[str] = []
    female: list[str] = []
    family_groups, male_groups, female_groups = [], [], []
    group_weights: list[float] = []
    for group in data["groups"]:
        group_weights.append(float(group["weight"]))
        family_groups.append(_make_group_range(len(fam_m), len(group["family"])))
        male_groups.append(_make_group_range(len(male), len(group["male"])))
        female_groups.append(_make_group_range(len(female), len(group["female"])))
        for entry in group["family"]:
            m, f = _split_forms(entry, 2) if not isinstance(entry, str) else (entry, entry)
            fam_m.append(m)
            fam_f.append(f)
        for entry in group["male"]:
            forms = _split_forms(entry, 3)
            male.append(forms[0])
            son.append(forms[1] if len(forms) > 1 else forms[0])
            daughter.append(forms[2] if len(forms) > 2 else forms[0])
        female.extend(str(f) for f in group["female"])
    pools = {
        "family": pa.array(fam_m + fam_f, pa.string()),
        "given": pa.array(male + female, pa.string()),
        "middle": pa.array(son + daughter if mode == "patronymic" else male + female, pa.string()),
    }
    scheme = profile.names.transliteration  # e-mail addresses are written in Latin

    def make_stem(name: str) -> str:
        return _make_email_stem(profile.names.romanise(name, scheme) if scheme else name)

    return NamePools(
        family=pools["family"],
        given=pools["given"],
        middle=pools["middle"],
        n_family=len(fam_m),
        n_male=len(male),
        middle_mode=mode,
        middle_share=float(data.get("middle_share", 1.0)),
        group_weights=_normalise(group_weights),
        family_groups=family_groups,
        male_groups=male_groups,
        female_groups=female_groups,
        email_stems={key: _map_values(pool, make_stem) for key, pool in pools.items()},
    )


def _make_group_range(start: int, count: int) -> tuple[int, int, np.ndarray]:
    return start, start + count, weigh_by_rank(count)


def _map_values(pool: pa.Array, func: Any) -> pa.Array:
    # Pools hold distinct vocabulary entries (hundreds), not rows.
    return pa.array([func(value) for value in pool.to_pylist()], pa.string())


def _make_email_stem(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.split()[0] if text.split() else text)
    return re.sub(r"[^a-z]", "", plain.lower()) or "user"


def _build_places(profile: Profile, data: dict[str, Any]) -> Places:
    cities: list[str] = []
    city_region: list[int] = []
    city_weight: list[float] = []
    listed = data.get("cities", {})
    for index, region in enumerate(profile.regions.regions):
        names = listed.get(region.code) or [region.name]
        cities.extend(names)
        city_region.extend([index] * len(names))
        # The first city of a region (its capital) is by far the largest.
        weights = 1.0 / (np.arange(len(names)) + 1.0) ** 1.5
        city_weight.extend(weights / weights.sum())
    formats = data["address_formats"]
    return Places(
        cities=pa.array(cities, pa.string()),
        city_region=np.asarray(city_region, dtype=np.int64),
        city_weight=np.asarray(city_weight, dtype=np.float64),
        streets=pa.array(data["streets"], pa.string()),
        address_formats=[str(f[0]) for f in formats],
        address_shares=_normalise([float(f[1]) for f in formats]),
        birth_place_format=str(data.get("birth_place_format", "{city}")),
    )


def _build_work(data: dict[str, Any]) -> Work:
    kinds = list(data["employers"])
    employers: list[str] = []
    ranges = []
    for kind in kinds:  # expand each template over numbers or words (vocabulary, not rows)
        start = len(employers)
        for template in data["employers"][kind]:
            if "{word}" in template:
                employers.extend(template.replace("{word}", w) for w in data["words"])
            else:
                employers.extend(template.replace("{n}", str(n)) for n in range(1, 100))
        ranges.append((start, len(employers)))
    occupations = data["occupations"]
    return Work(
        labels=pa.array([o[0] for o in occupations], pa.string()),
        codes=pa.array([o[1] for o in occupations], pa.string()),
        shares=_normalise([float(o[2]) for o in occupations]),
        employer_of=np.asarray([kinds.index(o[3]) for o in occupations], dtype=np.int64),
        employers=pa.array(employers, pa.string()),
        employer_kinds=ranges,
    )
