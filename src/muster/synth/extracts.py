"""Who appears in each agency's extract, with which record date, and the clean rows.

Coverage follows age and sex the way agencies do: voters are adults, fitness boards
see men of 16-60, the tax service sees people in work (and their past jobs), the
civil registry holds births, deaths and family records, service records hold men who
served. A row shows the address its record date implies: a record older than the
household's move shows the previous address (a stale address).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.profile import Profile
from muster.synth.facts import draw_employers
from muster.synth.population import AS_OF, DAY, YEAR, Population
from muster.synth.rows import Rows
from muster.synth.sources import SourceSpec
from muster.synth.spelling import spell_row_regions
from muster.synth.text import format_integers, pick
from muster.synth.vocab import Vocabulary

FITNESS_LETTERS = pa.array(list("ABCDE"))
Builder = Callable[[Population, Vocabulary, np.random.Generator], Rows]


def draw_dates(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform dates in [lo, hi] (lo where the interval is empty)."""
    span = np.maximum((hi - lo).astype(np.int64), 0)
    dates: np.ndarray = lo + (rng.random(len(lo)) * (span + 1)).astype(np.int64) * DAY
    return dates


def settle(
    dates: np.ndarray, pop: Population, persons: np.ndarray, min_age: float = 0
) -> np.ndarray:
    """Keep record dates inside a life: after ``min_age`` and before death or AS_OF."""
    lo = pop.birth[persons] + int(min_age * YEAR) * DAY
    death = pop.facts["death"][persons]
    hi = np.where(np.isnat(death), AS_OF, death - DAY)
    settled: np.ndarray = np.maximum(np.minimum(dates, hi), np.minimum(lo, hi))
    return settled


def draw_dates_before(n: int, years: float, rng: np.random.Generator) -> np.ndarray:
    return AS_OF - (rng.random(n) * years * YEAR).astype(np.int64) * DAY


def keep_share(values: pa.Array, share: float, rng: np.random.Generator) -> pa.Array:
    """Keep a value on ``share`` of rows (the rest never had it: not a defect)."""
    return pc.if_else(pa.array(rng.random(len(values)) < share), values, None)


def make_identity_rows(
    pop: Population, vocab: Vocabulary, persons: np.ndarray, record_date: np.ndarray
) -> Rows:
    names = vocab.names
    sex = pop.sex[persons]
    family = pop.family[persons] + sex.astype(np.int64) * names.n_family
    given, middle = pop.given[persons], pop.middle[persons]
    household = pop.household[persons]
    moved_on = pop.moved_on[household]
    stale = ~np.isnat(moved_on) & (record_date < moved_on)
    index = pa.array(persons)
    rows = Rows(
        person=persons,
        hidden={
            "stale": stale,
            "region": np.where(stale, pop.previous.region[household], pop.home.region[household]),
        },
    )
    rows.cols = {
        "family_name": pick(names.family, family),
        "given_name": pick(names.given, given),
        "middle_name": pick(names.middle, middle),
        "birth_date": pa.array(pop.birth[persons], pa.date32()),
        "sex": pc.if_else(pa.array(sex == 0), "M", "F"),
        "address": pc.if_else(
            pa.array(stale),
            pop.text["previous_address"].take(index),
            pop.text["address"].take(index),
        ),
        "birth_place": pop.text["birth_place"].take(index),
        "national_id": pop.ids["national_id"].take(index),
        "tax_id": pop.ids["tax_id"].take(index),
        "record_date": pa.array(record_date, pa.date32()),
    }
    return rows


def build_voters(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    age, death = pop.age, pop.facts["death"]
    recently_dead = death > AS_OF - int(2 * YEAR) * DAY  # the roll is cleaned with delay
    chance = np.where(np.isnat(death), 0.93, np.where(recently_dead, 0.5, 0))
    persons = np.flatnonzero((age >= 18) & (rng.random(pop.n) < chance))
    confirmed = settle(draw_dates_before(len(persons), 4, rng), pop, persons, 18)
    rows = make_identity_rows(pop, vocab, persons, confirmed)
    rows.cols["polling_station"] = format_integers(rng.integers(1, 3000, size=len(persons)))
    return rows


def build_passports(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    age, dead = pop.age, ~np.isnat(pop.facts["death"])
    current = np.flatnonzero((age >= 14) & (rng.random(pop.n) < np.where(dead, 0.6, 0.97)))
    milestone = np.select([age >= 45, age >= 20], [45, 20], 14)[current]
    issued = (
        pop.birth[current]
        + (milestone * YEAR + rng.random(len(current)) * 60).astype(np.int64) * DAY
    )
    # Registration at a new address is recorded on the passport file.
    moved_on = pop.moved_on[pop.household[current]]
    later = ~np.isnat(moved_on) & (moved_on > issued)
    issued = np.where(later, moved_on + rng.integers(0, 60, len(current)) * DAY, issued)
    rows = make_identity_rows(pop, vocab, current, settle(issued, pop, current, 14))
    rows.cols["passport_no"] = pop.ids["passport_no"].take(pa.array(current))
    old = np.flatnonzero((age >= 20) & (rng.random(pop.n) < 0.45))
    old_milestone = np.where(age[old] >= 45, 20, 14)
    old_issued = (
        pop.birth[old] + (old_milestone * YEAR + rng.random(len(old)) * 60).astype(np.int64) * DAY
    )
    history = make_identity_rows(pop, vocab, old, settle(old_issued, pop, old, 14))
    history.cols["passport_no"] = pop.ids["previous_passport_no"].take(pa.array(old))
    rows.append(history)
    rows.cols["national_id"] = keep_share(rows.cols["national_id"], 0.6, rng)
    return rows


def build_health(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    fitness = pop.facts["fitness"]
    persons = np.flatnonzero((fitness >= 0) & (rng.random(pop.n) < 0.95))
    exam = pop.facts["fitness_date"][persons]
    entered = settle(exam + rng.integers(0, 30, len(persons)) * DAY, pop, persons)
    rows = make_identity_rows(pop, vocab, persons, entered)
    rows.cols["fitness_category"] = FITNESS_LETTERS.take(pa.array(fitness[persons]))
    rows.cols["fitness_date"] = pa.array(exam, pa.date32())
    return rows


def build_tax(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    age, occupation, death = pop.age, pop.facts["occupation"], pop.facts["death"]
    works = occupation >= 0
    now = np.flatnonzero(works & (rng.random(pop.n) < 0.97))
    rows = make_job_rows(
        pop,
        vocab,
        now,
        draw_dates_before(len(now), 1.5, rng),
        occupation[now],
        pop.facts["employer"][now],
    )
    second = np.flatnonzero(works & (rng.random(pop.n) < 0.08))
    past = np.flatnonzero(
        (age >= 22) & (age <= 85) & (rng.random(pop.n) < np.where(works, 0.35, 0.3))
    )
    lo = np.maximum(pop.birth[past] + int(18 * YEAR) * DAY, AS_OF - int(10 * YEAR) * DAY)
    hi = np.minimum(
        AS_OF - int(1.5 * YEAR) * DAY, np.where(np.isnat(death[past]), AS_OF, death[past] - DAY)
    )
    past = past[lo <= hi]
    past_dates = draw_dates(lo[lo <= hi], hi[lo <= hi], rng)
    second_dates = draw_dates_before(len(second), 1.5, rng)
    for persons, dates in ((second, second_dates), (past, past_dates)):  # other jobs
        jobs = rng.choice(len(vocab.work.shares), size=len(persons), p=vocab.work.shares)
        employers = draw_employers(jobs, vocab, rng)
        rows.append(make_job_rows(pop, vocab, persons, dates, jobs, employers))
    rows.cols["phone"] = keep_share(rows.cols["phone"], 0.85, rng)
    return rows


def make_job_rows(
    pop: Population,
    vocab: Vocabulary,
    persons: np.ndarray,
    dates: np.ndarray,
    occupation: np.ndarray,
    employer: np.ndarray,
) -> Rows:
    rows = make_identity_rows(pop, vocab, persons, settle(dates, pop, persons, 16))
    rows.cols["occupation"] = pick(vocab.work.labels, occupation)
    rows.cols["employer"] = pick(vocab.work.employers, employer)
    rows.cols["phone"] = pop.ids["phone"].take(pa.array(persons))
    return rows


def build_education(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    enrolled = pop.facts["enrolled_on"]
    persons = np.flatnonzero(~np.isnat(enrolled) & (rng.random(pop.n) < 0.95))
    rows = make_identity_rows(pop, vocab, persons, enrolled[persons])
    rows.cols["student_until"] = pa.array(pop.facts["student_until"][persons], pa.date32())
    rows.cols["email"] = pop.ids["email"].take(pa.array(persons))
    faculties = pa.array(vocab.codes["faculties"], pa.string())
    rows.cols["faculty"] = pick(faculties, rng.integers(0, len(faculties), len(persons)))
    return rows


def build_civil(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    death, dependents = pop.facts["death"], pop.facts["dependents"]
    births = np.flatnonzero(rng.random(pop.n) < 0.85)
    registered = pop.birth[births] + rng.integers(1, 30, len(births)) * DAY
    rows = make_civil_rows(pop, vocab, births, np.minimum(registered, AS_OF), 0)
    # Personal numbers are given at birth only since 2012; older birth records lack them.
    recent = pa.array(pop.birth[births] >= np.datetime64("2012-01-01"))
    rows.cols["national_id"] = pc.if_else(recent, rows.cols["national_id"], None)
    deaths = np.flatnonzero(~np.isnat(death) & (rng.random(pop.n) < 0.97))
    reported = np.minimum(death[deaths] + rng.integers(1, 14, len(deaths)) * DAY, AS_OF)
    died = make_civil_rows(pop, vocab, deaths, reported, 1)
    died.cols["death_date"] = pa.array(death[deaths], pa.date32())
    age = pop.age
    chance = np.where(dependents > 0, 0.85, 0.1)
    families = np.flatnonzero(
        np.isnat(death) & (age >= 20) & (age <= 65) & (rng.random(pop.n) < chance)
    )
    family = make_civil_rows(
        pop, vocab, families, settle(draw_dates_before(len(families), 5, rng), pop, families, 18), 2
    )
    family.cols["dependents"] = pa.array(dependents[families], pa.int64())
    rows.append(died)
    rows.append(family)
    rows.cols["national_id"] = keep_share(rows.cols["national_id"], 0.93, rng)
    return rows


def make_civil_rows(
    pop: Population, vocab: Vocabulary, persons: np.ndarray, dates: np.ndarray, event: int
) -> Rows:
    rows = make_identity_rows(pop, vocab, persons, dates)
    events = pa.array(vocab.codes["civil_events"], pa.string())
    rows.cols["event"] = pick(events, np.full(len(persons), event))
    rows.cols["death_date"] = pa.nulls(len(persons), pa.date32())
    rows.cols["dependents"] = pa.nulls(len(persons), pa.int64())
    return rows


def build_military(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> Rows:
    rank, end = pop.facts["rank"], pop.facts["service_end"]
    persons = np.flatnonzero((rank >= 0) & (rng.random(pop.n) < 0.92))
    registered = end[persons] + rng.integers(0, 60, len(persons)) * DAY
    rows = make_identity_rows(pop, vocab, persons, settle(registered, pop, persons, 18))
    rows.cols["military_rank"] = pick(vocab.ranks, rank[persons])
    rows.cols["military_specialty"] = pick(vocab.specialties, pop.facts["specialty"][persons])
    rows.cols["service_end"] = pa.array(end[persons], pa.date32())
    return rows


BUILDERS: dict[str, Builder] = {
    "voters": build_voters,
    "passports": build_passports,
    "health": build_health,
    "tax": build_tax,
    "education": build_education,
    "civil": build_civil,
    "military": build_military,
}


def build_rows(
    spec: SourceSpec, pop: Population, vocab: Vocabulary, profile: Profile, rng: np.random.Generator
) -> Rows:
    rows = BUILDERS[spec.name](pop, vocab, rng)
    keys = {key for key, _ in spec.columns}
    if "full_name" in keys:  # composed from the parts once the name noise is in
        keys |= {"family_name", "given_name", "middle_name"}
    if "region" in keys:
        rows.cols["region"] = spell_row_regions(rows.hidden["region"], spec, profile, rng)
    rows.cols = {k: v for k, v in rows.cols.items() if k in keys}
    return rows
