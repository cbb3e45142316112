"""How agencies spell regions: the official name, an abbreviation, upper case, Latin,
an alias or the code, in the mix each agency uses. Every spelling comes from the
profile, so ingest can map all of them back to the region code.
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.profile import Profile
from muster.synth.sources import SourceSpec


def spell_row_regions(
    region: np.ndarray, spec: SourceSpec, profile: Profile, rng: np.random.Generator
) -> pa.Array:
    """The region of each row (an index into the profile's regions) as the agency writes it."""
    pools = spell_regions(profile)
    styles = list(spec.region_styles)
    weights = np.array([spec.region_styles[s] for s in styles])
    style = rng.choice(len(styles), size=len(region), p=weights / weights.sum())
    index = pa.array(region)
    return pc.choose(pa.array(style, pa.int8()), *[pools[s].take(index) for s in styles])


def spell_regions(profile: Profile) -> dict[str, pa.Array]:
    """Every way agencies write each region, as one pool per style (loops over regions)."""
    short = [abbreviate(r.name, profile.regions.abbreviations) for r in profile.regions.regions]
    styles = {
        "name": [r.name for r in profile.regions.regions],
        "short": short,
        "upper": [r.name.upper() for r in profile.regions.regions],
        "latin": [r.latin for r in profile.regions.regions],
        "alias": [(r.aliases or (r.name,))[0] for r in profile.regions.regions],
        "code": [r.code for r in profile.regions.regions],
    }
    return {style: pa.array(values, pa.string()) for style, values in styles.items()}


def abbreviate(name: str, abbreviations: dict[str, str]) -> str:
    """ "Тверская область" -> "Тверская обл.", using the profile's own abbreviations."""
    for short, full in abbreviations.items():
        if full and full != short and full.startswith(short):
            pattern = re.compile(rf"\b{re.escape(full)}\b", re.IGNORECASE)
            name = pattern.sub(partial(format_abbreviation, short=short), name)
    return name


def format_abbreviation(match: re.Match[str], short: str) -> str:
    """``short`` with a full stop, capitalised like the word it replaces."""
    return (short.capitalize() if match.group(0)[0].isupper() else short) + "."
