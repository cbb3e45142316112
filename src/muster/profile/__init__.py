"""Jurisdiction profiles: names, identifiers and regions as data.

A profile is a folder with ``profile.toml`` (and optionally
``transliteration.toml``). Built-in profiles live in ``muster/profile/data``;
a workspace may point at its own folder instead. Nothing in the pipeline knows a
jurisdiction: everything it needs comes from the :class:`Profile` built here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from muster.errors import ConfigError
from muster.profile.identifiers import IDENTIFIER_FIELDS, IdentifierSpec, spec_from_toml
from muster.profile.names import NameRules, Scheme
from muster.profile.regions import Region, RegionTable

__all__ = ["BUILTIN_PROFILES", "Profile", "load_profile"]

BUILTIN_PROFILES = ("default", "latinia")


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    path: Path
    names: NameRules
    identifiers: dict[str, IdentifierSpec]
    regions: RegionTable
    data: dict[str, Any]  # the whole TOML, for later stages (trust order, law)


def _builtin_dir(name: str) -> Path:
    return Path(str(resources.files("muster.profile") / "data" / name))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"Profile file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Profile file {path} is not valid TOML: {exc}") from None


def load_profile(name_or_path: str | Path, base: Path | None = None) -> Profile:
    """Load a built-in profile by name, or a profile folder (relative to ``base``)."""
    if str(name_or_path) in BUILTIN_PROFILES:
        folder = _builtin_dir(str(name_or_path))
    else:
        folder = Path(name_or_path)
        if not folder.is_absolute() and base is not None:
            folder = base / folder
        if not (folder / "profile.toml").exists():
            raise ConfigError(
                f"Profile {str(name_or_path)!r} is neither a built-in profile nor a folder "
                f"with a profile.toml (looked in {folder}).",
                hint=f"Built-in profiles: {', '.join(BUILTIN_PROFILES)}.",
            )
    data = _read_toml(folder / "profile.toml")
    schemes_data = (
        _read_toml(folder / "transliteration.toml")
        if (folder / "transliteration.toml").exists()
        else {}
    )
    return _build(folder, data, schemes_data)


def _build(folder: Path, data: dict[str, Any], schemes_data: dict[str, Any]) -> Profile:
    problems: list[str] = []
    names_data = data.get("names", {})
    schemes = {
        key: Scheme(key, value.get("title", key), value["letters"], value.get("initial", {}))
        for key, value in schemes_data.items()
    }
    translit = names_data.get("transliteration", "")
    if translit and translit not in schemes:
        problems.append(f"names.transliteration names an unknown scheme {translit!r}")
    for scheme in names_data.get("schemes", []):
        if scheme not in schemes:
            problems.append(f"names.schemes lists an unknown scheme {scheme!r}")
    identifiers = {}
    for field in IDENTIFIER_FIELDS:
        spec = data.get("identifiers", {}).get(field)
        if spec is None:
            problems.append(f"identifiers.{field} is missing")
            continue
        if "digits" not in spec and "pattern" not in spec:
            problems.append(f"identifiers.{field} needs `digits` or `pattern`")
            continue
        try:
            identifiers[field] = spec_from_toml(field, spec)
        except ConfigError as exc:  # e.g. an unknown check algorithm: report it with the rest
            problems.append(f"{exc.message} {exc.hint or ''}".strip())
    region_list = data.get("regions", {}).get("list", [])
    if not region_list:
        problems.append("regions.list is empty: a profile needs at least one region")
    for i, r in enumerate(region_list, start=1):
        if not isinstance(r, dict) or not r.get("code") or not r.get("name"):
            problems.append(f"regions.list entry {i} needs a `code` and a `name`")
    if problems:
        raise ConfigError(f"Profile in {folder} is not valid:", problems=problems)

    names = NameRules(
        transliteration=translit,
        schemes={k: v for k, v in schemes.items()},
        equivalent_letters=dict(names_data.get("equivalent_letters", {})),
        fold_consonants=tuple(tuple(r) for r in names_data.get("fold_consonants", [])),  # type: ignore[misc]
        fold_vowels=tuple(tuple(r) for r in names_data.get("fold_vowels", [])),  # type: ignore[misc]
    )
    regions = RegionTable(
        regions=tuple(
            Region(
                code=r["code"],
                name=r["name"],
                latin=r.get("latin", r["name"]),
                aliases=tuple(r.get("aliases", [])),
                weight=float(r.get("weight", 1.0)),
            )
            for r in region_list
        ),
        abbreviations=dict(data.get("regions", {}).get("abbreviations", {})),
        names=names,
    )
    meta = data.get("profile", {})
    return Profile(
        name=meta.get("name", folder.name),
        title=meta.get("title", folder.name),
        path=folder,
        names=names,
        identifiers=identifiers,
        regions=regions,
        data=data,
    )
