"""The profile's regions and every spelling agencies use for them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from muster.profile.names import NameRules

_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    latin: str
    aliases: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class RegionTable:
    regions: tuple[Region, ...]
    abbreviations: dict[str, str]
    names: NameRules

    def spelling_key(self, text: str | None) -> str | None:
        """Order-, case-, script- and abbreviation-insensitive key of a region spelling."""
        if text is None:
            return None
        tokens = []
        for token in _TOKEN.findall(text.lower()):
            token = self.abbreviations.get(token, token)
            for word in token.split():
                key = self.names.key(word)
                if key:
                    tokens.append(key)
        return " ".join(sorted(tokens)) or None

    def _index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for region in self.regions:
            for spelling in (region.name, region.latin, *region.aliases):
                key = self.spelling_key(spelling)
                if key:
                    index[key] = region.code
        return index

    def code_for(self, text: str | None) -> str | None:
        """The region code for any known spelling (or the code itself); None if unknown."""
        if text is None or not text.strip():
            return None
        stripped = text.strip()
        by_code = {r.code.lower(): r.code for r in self.regions}
        if stripped.lower() in by_code:
            return by_code[stripped.lower()]
        return self._cached_index().get(self.spelling_key(stripped) or "")

    def _cached_index(self) -> dict[str, str]:
        cached: dict[str, str] | None = getattr(self, "_index_cache", None)
        if cached is None:
            cached = self._index()
            object.__setattr__(self, "_index_cache", cached)
        return cached

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.regions]

    def by_code(self, code: str) -> Region:
        return next(r for r in self.regions if r.code == code)
