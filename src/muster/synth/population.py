"""The true population: households, people and their identities, as numpy columns.

People live in households (shared address, usually a shared family name) so that
relatives look alike the way they do in real registers. Everything is drawn for all
people at once; names stay integer codes into the vocabulary pools until written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.profile import Profile
from muster.synth.text import format_integers, pad_zeros, pick, render_template
from muster.synth.vocab import NamePools, Vocabulary

AS_OF = np.datetime64("2024-07-01", "D")  # "today" of the synthetic world (reproducible)
DAY = np.timedelta64(1, "D")
YEAR = 365.2425
# Share of the living population in each 5-year age band 0-4 ... 85-89 (an ageing
# federation: a baby-bust dip at 15-29, large cohorts at 30-44 and 60-64).
AGE_BANDS = np.array(
    [7.6, 9.3, 9.0, 7.6, 6.8, 7.0, 9.8, 12.4, 11.2, 10.0, 9.2, 8.9, 10.0, 9.0, 7.0, 4.0, 3.0, 1.6]
)
HOUSEHOLD_SIZES = np.array([0.26, 0.30, 0.22, 0.15, 0.07])  # 1..5 people
SHARE_KEEPING_HOUSEHOLD_NAME = 0.85
SHARE_MOVED = 0.15  # households that moved in the last eight years
SHARE_MOVED_REGION = 0.35  # of those, the share that came from another region


@dataclass
class Addresses:
    """Where households live (current and, for movers, previous)."""

    region: np.ndarray
    city: np.ndarray
    street: np.ndarray
    house: np.ndarray
    flat: np.ndarray
    style: np.ndarray  # index of the address template


@dataclass
class Population:
    n: int
    sex: np.ndarray  # 0 = male, 1 = female
    birth: np.ndarray  # datetime64[D]
    group: np.ndarray  # name group
    family: np.ndarray  # family-name entry (the sex picks the form)
    given: np.ndarray  # code into the given-name pool
    middle: np.ndarray  # code into the middle-name pool, -1 for none
    household: np.ndarray
    home: Addresses  # per household
    previous: Addresses  # per household; meaningful where moved_on is set
    moved_on: np.ndarray  # per household, NaT when the household never moved
    birth_city: np.ndarray
    facts: dict[str, np.ndarray] = field(default_factory=dict)  # filled by facts.py
    ids: dict[str, pa.Array] = field(default_factory=dict)  # filled by assign_identifiers
    text: dict[str, pa.Array] = field(default_factory=dict)  # rendered addresses etc.

    @property
    def age(self) -> np.ndarray:
        """Completed years on AS_OF (as if alive)."""
        days = (AS_OF - self.birth).astype(np.int64)
        years: np.ndarray = (days / YEAR).astype(np.int64)
        return years


def draw_population(
    n: int, profile: Profile, vocab: Vocabulary, rng: np.random.Generator
) -> Population:
    sizes = rng.choice(np.arange(1, 6), size=n, p=HOUSEHOLD_SIZES)  # at most n households
    household = np.repeat(np.arange(n), sizes)[:n]
    household = household[rng.permutation(n)]  # person order says nothing about households
    n_households = int(household.max()) + 1
    home = draw_addresses(n_households, profile, vocab, rng)
    previous = draw_addresses(n_households, profile, vocab, rng)
    stayed_in_region = rng.random(n_households) >= SHARE_MOVED_REGION
    previous.region = np.where(stayed_in_region, home.region, previous.region)
    previous.city = np.where(stayed_in_region, home.city, previous.city)
    moved = rng.random(n_households) < SHARE_MOVED
    move_days = rng.integers(30, int(8 * YEAR), size=n_households)
    moved_on = np.where(moved, AS_OF - move_days * DAY, np.datetime64("NaT", "D"))

    age_days = draw_age_days(n, rng)
    birth = AS_OF - age_days * DAY
    # Women outlive men: the male share falls from 51% to about a quarter at 90.
    male_share = 0.51 - 0.25 * np.clip((age_days / YEAR - 50) / 40, 0, 1)
    sex = (rng.random(n) >= male_share).astype(np.int8)

    names = vocab.names
    hh_group = rng.choice(len(names.group_weights), size=n_households, p=names.group_weights)
    hh_family = draw_in_groups(hh_group, names.family_groups, rng)
    group = hh_group[household]
    own_family = draw_in_groups(group, names.family_groups, rng)
    keeps = rng.random(n) < SHARE_KEEPING_HOUSEHOLD_NAME
    family = np.where(keeps, hh_family[household], own_family)
    given = draw_given(group, sex, names, rng)
    middle = draw_middle(group, sex, given, names, rng)

    born_here = rng.random(n) < 0.6
    home_city = home.city[household]
    elsewhere = draw_cities(draw_regions(n, profile, rng), vocab, rng)
    return Population(
        n=n,
        sex=sex,
        birth=birth,
        group=group,
        family=family,
        given=given,
        middle=middle,
        household=household,
        home=home,
        previous=previous,
        moved_on=moved_on,
        birth_city=np.where(born_here, home_city, elsewhere),
    )


def draw_age_days(n: int, rng: np.random.Generator) -> np.ndarray:
    band = rng.choice(len(AGE_BANDS), size=n, p=AGE_BANDS / AGE_BANDS.sum())
    return (band * 5 * YEAR + rng.random(n) * 5 * YEAR).astype(np.int64)


def draw_regions(n: int, profile: Profile, rng: np.random.Generator) -> np.ndarray:
    weights = np.array([r.weight for r in profile.regions.regions], dtype=np.float64)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def draw_cities(region: np.ndarray, vocab: Vocabulary, rng: np.random.Generator) -> np.ndarray:
    places = vocab.places
    city = np.zeros(len(region), dtype=np.int64)
    for r in np.unique(region):  # a loop over regions
        rows = np.flatnonzero(region == r)
        candidates = np.flatnonzero(places.city_region == r)
        weights = places.city_weight[candidates]
        city[rows] = rng.choice(candidates, size=len(rows), p=weights / weights.sum())
    return city


def draw_addresses(
    n: int, profile: Profile, vocab: Vocabulary, rng: np.random.Generator
) -> Addresses:
    region = draw_regions(n, profile, rng)
    places = vocab.places
    return Addresses(
        region=region,
        city=draw_cities(region, vocab, rng),
        street=rng.integers(0, len(places.streets), size=n),
        # Low house numbers are more common than high ones on any street.
        house=1 + (rng.pareto(1.2, size=n) * 8).astype(np.int64) % 150,
        flat=rng.integers(1, 250, size=n),
        style=rng.choice(len(places.address_formats), size=n, p=places.address_shares),
    )


def draw_in_groups(
    group: np.ndarray, ranges: list[tuple[int, int, np.ndarray]], rng: np.random.Generator
) -> np.ndarray:
    """One pool entry per row, from the row's name group, common entries more often."""
    out = np.zeros(len(group), dtype=np.int64)
    for g, (start, stop, weights) in enumerate(ranges):  # a loop over name groups
        rows = np.flatnonzero(group == g)
        out[rows] = start + rng.choice(stop - start, size=len(rows), p=weights)
    return out


def draw_given(
    group: np.ndarray, sex: np.ndarray, names: NamePools, rng: np.random.Generator
) -> np.ndarray:
    male = draw_in_groups(group, names.male_groups, rng)
    female = names.n_male + draw_in_groups(group, names.female_groups, rng)
    return np.where(sex == 0, male, female)


def draw_middle(
    group: np.ndarray,
    sex: np.ndarray,
    given: np.ndarray,
    names: NamePools,
    rng: np.random.Generator,
) -> np.ndarray:
    if names.middle_mode == "patronymic":
        father = draw_in_groups(group, names.male_groups, rng)
        middle = father + sex.astype(np.int64) * names.n_male  # son's or daughter's form
    else:
        middle = draw_given(group, sex, names, rng)
        middle = np.where(middle == given, -1, middle)  # nobody is "Marco Marco"
    has_middle = rng.random(len(group)) < names.middle_share
    return np.where(has_middle, middle, -1)


def render_addresses(addresses: Addresses, vocab: Vocabulary) -> pa.Array:
    places = vocab.places
    values = {
        "city": pick(places.cities, addresses.city),
        "street": pick(places.streets, addresses.street),
        "house": format_integers(addresses.house),
        "flat": format_integers(addresses.flat),
    }
    out = None
    for style, template in enumerate(places.address_formats):  # a loop over templates
        rendered = render_template(template, values)
        out = rendered if out is None else pc.if_else(addresses.style == style, rendered, out)
    return out


def render_text(pop: Population, vocab: Vocabulary) -> None:
    """Text every extract shares: person ids, addresses, birth places."""
    width = max(7, len(str(pop.n)))
    pop.text["person_id"] = pc.binary_join_element_wise(
        "P", pad_zeros(np.arange(1, pop.n + 1), width), ""
    )
    home = render_addresses(pop.home, vocab)
    previous = render_addresses(pop.previous, vocab)
    moved = pa.array(~np.isnat(pop.moved_on))
    previous = pc.if_else(moved, previous, pa.nulls(len(previous), pa.string()))
    index = pa.array(pop.household)
    pop.text["address"] = home.take(index)
    pop.text["previous_address"] = previous.take(index)
    pop.text["birth_place"] = render_template(
        vocab.places.birth_place_format, {"city": pick(vocab.places.cities, pop.birth_city)}
    )
