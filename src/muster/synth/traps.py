"""Traps: pairs of different people who look alike, planted to tempt a false merge.

A false merge calls up the wrong person, so the register must keep these pairs
apart; traps.csv names both people of every pair. Person-level traps change the
population before facts are derived, so every source sees them consistently. Each
person takes part in at most one trap.
"""

from __future__ import annotations

import numpy as np

from muster.synth.population import DAY, YEAR, Population
from muster.synth.vocab import NamePools

TRAP_RATE = 0.003  # pairs per person, for each kind: hundreds per 100,000 people
PERSON_TRAPS = ("twins", "father_son", "namesakes_other_region", "namesakes_day_apart")
TRAP_KINDS = (*PERSON_TRAPS, "borrowed_identifier")  # the last is planted in extracts

Pairs = dict[str, tuple[np.ndarray, np.ndarray]]


def plant_traps(pop: Population, names: NamePools, rng: np.random.Generator) -> Pairs:
    n_pairs = round(pop.n * TRAP_RATE)
    order = rng.permutation(pop.n)
    used = np.zeros(pop.n, dtype=bool)

    def take(eligible: np.ndarray | None = None) -> np.ndarray:
        """The next ``n_pairs`` unused people (so no one is in two traps)."""
        free = ~used[order] if eligible is None else ~used[order] & eligible[order]
        chosen = order[free][:n_pairs]
        used[chosen] = True
        return chosen

    pairs: Pairs = {}
    pairs["twins"] = plant_twins(pop, names, take(), take(), rng)
    fathers = take((pop.sex == 0) & (pop.age >= 45))
    pairs["father_son"] = plant_father_son(pop, names, fathers, take(), rng)
    pairs["namesakes_other_region"] = plant_namesakes(pop, take(), take(), rng, 0)
    pairs["namesakes_day_apart"] = plant_namesakes(pop, take(), take(), rng, 1)
    return pairs


def copy_identity(pop: Population, a: np.ndarray, b: np.ndarray) -> None:
    """Give ``b`` the name, sex and birth date of ``a``."""
    for column in (pop.sex, pop.birth, pop.group, pop.family, pop.given, pop.middle):
        column[b] = column[a]


def plant_twins(
    pop: Population, names: NamePools, a: np.ndarray, b: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Same family name, patronymic, birth date and home; different given names."""
    b = b[: len(a)]
    a = a[: len(b)]
    copy_identity(pop, a, b)
    pop.household[b] = pop.household[a]
    pop.given[b] = draw_other_given(pop.given[a], pop.group[a], pop.sex[a], names, rng)
    return a, b


def draw_other_given(
    given: np.ndarray,
    group: np.ndarray,
    sex: np.ndarray,
    names: NamePools,
    rng: np.random.Generator,
) -> np.ndarray:
    """A different given name of the same sex and name group."""
    start = np.zeros(len(given), dtype=np.int64)
    size = np.zeros(len(given), dtype=np.int64)
    for g in range(len(names.male_groups)):  # a loop over name groups
        m_start, m_stop, _ = names.male_groups[g]
        f_start, f_stop, _ = names.female_groups[g]
        male, female = (group == g) & (sex == 0), (group == g) & (sex == 1)
        start[male], size[male] = m_start, m_stop - m_start
        start[female], size[female] = names.n_male + f_start, f_stop - f_start
    step = 1 + (rng.random(len(given)) * np.maximum(size - 1, 1)).astype(np.int64)
    return start + (given - start + step) % np.maximum(size, 1)


def plant_father_son(
    pop: Population,
    names: NamePools,
    fathers: np.ndarray,
    sons: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A son named exactly like his father (and grandfather), living with him."""
    sons = sons[: len(fathers)]
    fathers = fathers[: len(sons)]
    copy_identity(pop, fathers, sons)
    pop.household[sons] = pop.household[fathers]
    father_age = (pop.age[fathers] - 1) * YEAR
    gap_days = (
        20 * YEAR + rng.random(len(sons)) * (np.minimum(35 * YEAR, father_age) - 20 * YEAR)
    ).astype(np.int64)
    pop.birth[sons] = pop.birth[fathers] + gap_days * DAY
    if names.middle_mode == "patronymic":
        # Father and son are both "Ivan Ivanovich": the grandfather was an Ivan too.
        pop.middle[fathers] = pop.given[fathers]
        pop.middle[sons] = pop.given[fathers]
    return fathers, sons


def plant_namesakes(
    pop: Population, a: np.ndarray, b: np.ndarray, rng: np.random.Generator, days_apart: int
) -> tuple[np.ndarray, np.ndarray]:
    """Same full name; born the same day in another region, or a day apart nearby.

    ``b`` moves to another household: in another region, or in ``a``'s region.
    """
    b = b[: len(a)]
    a = a[: len(b)]
    home = pop.household[a]
    if days_apart:
        target = find_household_in_region(pop, pop.home.region[home], home, rng)
    else:
        target = find_household_elsewhere(pop, pop.home.region[home], rng)
    keep = target >= 0
    a, b, target = a[keep], b[keep], target[keep]
    copy_identity(pop, a, b)
    pop.household[b] = target
    if days_apart:
        sign = np.where(rng.random(len(b)) < 0.5, -1, 1)
        pop.birth[b] = pop.birth[a] + sign * days_apart * DAY
    return a, b


def find_household_in_region(
    pop: Population, region: np.ndarray, avoid: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A random household of each given region other than ``avoid`` (-1 if none)."""
    by_region = np.argsort(pop.home.region, kind="stable")
    sorted_regions = pop.home.region[by_region]
    start = np.searchsorted(sorted_regions, region, side="left")
    count = np.searchsorted(sorted_regions, region, side="right") - start
    offset = (rng.random(len(region)) * count).astype(np.int64)
    pick = by_region[start + offset]
    # Never the same household: take the region's next one instead.
    again = by_region[start + (offset + 1) % np.maximum(count, 1)]
    pick = np.where(pick == avoid, again, pick)
    found: np.ndarray = np.where((pick == avoid) | (count == 0), -1, pick)
    return found


def find_household_elsewhere(
    pop: Population, region: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A random household outside each given region (-1 if none after many tries)."""
    target = np.full(len(region), -1, dtype=np.int64)
    n_households = len(pop.home.region)
    for _ in range(50):  # a loop over attempts; each one fills most remaining pairs
        todo = np.flatnonzero(target < 0)
        if len(todo) == 0:
            break
        guess = rng.integers(0, n_households, size=len(todo))
        fits = pop.home.region[guess] != region[todo]
        target[todo[fits]] = guess[fits]
    return target
