"""Resolution settings from the profile's [resolution] table, with safe defaults.

Thresholds are Splink match weights (log2 Bayes factors). A pair scoring at least
``link_weight`` may link; between ``review_weight`` and ``link_weight`` it goes to
the review list. Precision first: the defaults were chosen on synthetic data with
traps (benchmarks/resolve.py) so that no measured false merge survives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from muster.errors import ConfigError
from muster.profile import Profile

IDENTIFIERS = ("national_id", "tax_id", "passport_no")


@dataclass(frozen=True)
class ResolutionConfig:
    link_weight: float = 12.0
    review_weight: float = 4.0
    # A record whose best link into one person beats its best link into another
    # (whom it cannot join) by less than this is ambiguous: reviewed, not linked.
    ambiguity_margin: float = 3.0
    # Names less similar than this (Jaro-Winkler on the comparison key) are
    # different names: such records are never the same person.
    name_similarity: float = 0.85
    # Identifiers that link records deterministically (after the guard).
    link_identifiers: tuple[str, ...] = IDENTIFIERS
    # Identifiers of which a person has exactly one: two different values can never
    # be the same person.
    unique_identifiers: tuple[str, ...] = ("national_id", "tax_id")
    # field -> sources in order of trust; "*" is the order for unlisted fields.
    trust: dict[str, tuple[str, ...]] = field(default_factory=dict)
    u_sample_pairs: float = 2e6

    def trust_order(self, field_name: str) -> tuple[str, ...]:
        return self.trust.get(field_name, self.trust.get("*", ()))


def resolution_config(profile: Profile) -> ResolutionConfig:
    data: dict[str, Any] = dict(profile.data.get("resolution", {}))
    trust = {k: tuple(v) for k, v in data.pop("trust", {}).items()}
    known = set(ResolutionConfig.__dataclass_fields__) - {"trust"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"Profile {profile.name!r}: unknown [resolution] setting(s) {', '.join(unknown)}.",
            hint=f"Known settings: {', '.join(sorted(known | {'trust'}))}.",
        )
    for key in ("link_identifiers", "unique_identifiers"):
        if key in data:
            data[key] = tuple(data[key])
            bad = [f for f in data[key] if f not in IDENTIFIERS]
            if bad:
                raise ConfigError(f"resolution.{key}: {', '.join(bad)} is not an identifier.",
                                  hint=f"Identifiers: {', '.join(IDENTIFIERS)}.")
    config = ResolutionConfig(trust=trust, **data)
    if config.review_weight > config.link_weight:
        raise ConfigError("resolution.review_weight must not exceed resolution.link_weight.")
    return config
