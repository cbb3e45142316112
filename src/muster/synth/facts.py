"""Facts that follow from a person's age and sex: deaths, family, study, work, fitness,
military service, identifiers and contact details.

They are derived after the traps are planted, so that a son planted under his
father's name gets facts that fit his own age.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from muster.profile import Profile
from muster.profile.identifiers import IdentifierSpec
from muster.synth.population import AS_OF, DAY, YEAR, Population
from muster.synth.text import concat, ensure_array, pad_zeros, pick
from muster.synth.vocab import Vocabulary

NAT = np.datetime64("NaT", "D")
FITNESS = np.array([0.40, 0.33, 0.15, 0.04, 0.08])  # A..E among those examined
DEPENDENTS = np.array([0.42, 0.30, 0.20, 0.06, 0.02])  # 0..4 among adults of 20-65


def derive_facts(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> None:
    age = pop.age
    n = pop.n
    male = pop.sex == 0
    f = pop.facts
    # Mortality rises steeply after 45; deaths fall in the last ten years.
    p_dead = 0.004 + 0.5 * np.clip((age - 45) / 45, 0, None) ** 2
    dead = rng.random(n) < p_dead
    lived = (AS_OF - pop.birth).astype(np.int64)  # days
    ago = (1 + rng.random(n) * np.minimum(10 * YEAR, lived)).astype(np.int64)
    f["death"] = np.where(dead, np.maximum(AS_OF - ago * DAY, pop.birth), NAT)
    alive = ~dead

    adult = (age >= 20) & (age <= 65)
    f["dependents"] = np.where(adult, rng.choice(5, size=n, p=DEPENDENTS), 0)

    student = alive & (age >= 16) & (age <= 25) & (rng.random(n) < 0.5)
    enrolled_ago = rng.random(n) * np.clip(age - 15.5, 0.1, 4) * YEAR
    f["enrolled_on"] = np.where(student, AS_OF - enrolled_ago.astype(np.int64) * DAY, NAT)
    left = (60 + rng.random(n) * 5 * YEAR).astype(np.int64)
    f["student_until"] = np.where(student, AS_OF + left * DAY, NAT)

    p_work = np.where((age >= 18) & (age <= 65), 0.78, np.where((age > 65) & (age <= 75), 0.25, 0))
    works = alive & (rng.random(n) < np.where(student, 0.2, p_work))
    work = vocab.work
    occupation = rng.choice(len(work.shares), size=n, p=work.shares)
    f["occupation"] = np.where(works, occupation, -1)
    f["employer"] = np.where(works, draw_employers(occupation, vocab, rng), -1)

    examined = alive & (age >= 16) & (age <= 60) & (rng.random(n) < np.where(male, 0.93, 0.03))
    f["fitness"] = np.where(examined, rng.choice(5, size=n, p=FITNESS), -1)
    exam_ago = rng.random(n) * np.clip(age - 16, 0.05, 6) * YEAR
    f["fitness_date"] = np.where(examined, AS_OF - exam_ago.astype(np.int64) * DAY, NAT)
    derive_service(pop, vocab, rng)


def draw_employers(
    occupation: np.ndarray, vocab: Vocabulary, rng: np.random.Generator
) -> np.ndarray:
    starts = np.array([r[0] for r in vocab.work.employer_kinds])
    sizes = np.array([r[1] - r[0] for r in vocab.work.employer_kinds])
    kind = vocab.work.employer_of[occupation]
    employer: np.ndarray = starts[kind] + (rng.random(len(kind)) * sizes[kind]).astype(np.int64)
    return employer


def derive_service(pop: Population, vocab: Vocabulary, rng: np.random.Generator) -> None:
    """Men who served: conscripts leave at 19-20, career soldiers years later."""
    age = pop.age
    n = pop.n
    p_served = np.select([age < 20, age < 28, age < 46, age <= 75], [0, 0.3, 0.45, 0.6], 0.5)
    served = (pop.sex == 0) & (rng.random(n) < p_served)
    rank = rng.choice(len(vocab.rank_shares), size=n, p=vocab.rank_shares)
    career = rank >= vocab.career_from
    years = 19 + rng.random(n) * 1.5 + np.where(career, 3 + rng.random(n) * 22, 0)
    end = pop.birth + (years * YEAR).astype(np.int64) * DAY
    latest = AS_OF - 15 * DAY
    end = np.minimum(end, latest)
    dead_before = ~np.isnat(pop.facts["death"]) & (end >= pop.facts["death"])
    end = np.where(dead_before, pop.facts["death"] - 30 * DAY, end)
    served &= end > pop.birth + int(18 * YEAR) * DAY
    f = pop.facts
    f["rank"] = np.where(served, rank, -1)
    f["specialty"] = np.where(served, rng.integers(0, len(vocab.specialties), size=n), -1)
    f["service_end"] = np.where(served, end, NAT)


def generate_unique_ids(spec: IdentifierSpec, rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` distinct valid identifiers: generation is random, so collisions are removed
    (keeping each value's first occurrence, found by a hash aggregation)."""
    ids = pa.array([], pa.string())
    while len(ids) < n:  # one round, rarely two
        wanted = int((n - len(ids)) * 1.05) + 16
        fresh = ensure_array(pa.array(spec.generate(rng, wanted), pa.string()))
        merged = pa.concat_arrays([ids, fresh])
        table = pa.table({"id": merged, "i": np.arange(len(merged))})
        first = table.group_by("id").aggregate([("i", "min")]).column("i_min").to_numpy()
        ids = merged.take(pa.array(np.sort(first)))
    return ids.slice(0, n)


def assign_identifiers(
    pop: Population, profile: Profile, vocab: Vocabulary, rng: np.random.Generator
) -> None:
    n = pop.n
    age = pop.age
    ids = profile.identifiers
    pop.ids["national_id"] = generate_unique_ids(ids["national_id"], rng, n)
    pop.ids["tax_id"] = generate_unique_ids(ids["tax_id"], rng, n)
    passports = generate_unique_ids(ids["passport_no"], rng, 2 * n)
    # A first passport at 14, replaced at 20 (and at 45): the previous one is history.
    pop.ids["passport_no"] = pc.if_else(pa.array(age >= 14), passports.slice(0, n), None)
    pop.ids["previous_passport_no"] = pc.if_else(pa.array(age >= 20), passports.slice(n), None)
    codes = vocab.codes
    digits = pad_zeros(rng.integers(0, 10**9, size=n), 9)
    part = [pc.utf8_slice_codeunits(digits, a, b) for a, b in ((0, 2), (2, 5), (5, 7), (7, 9))]
    phone = concat(codes["phone_prefix"], part[0], " ", part[1], "-", part[2], "-", part[3])
    pop.ids["phone"] = pc.if_else(pa.array((age >= 16) & (rng.random(n) < 0.75)), phone, None)
    names = vocab.names
    family_code = pop.family + pop.sex.astype(np.int64) * names.n_family
    domains = pa.array(codes["email_domains"], pa.string())
    email = concat(
        pick(names.email_stems["given"], pop.given),
        ".",
        pick(names.email_stems["family"], family_code),
        pad_zeros(rng.integers(1, 100, size=n), 2),
        "@",
        pick(domains, rng.integers(0, len(domains), size=n)),
    )
    wants_email = (age >= 16) & (
        rng.random(n) < np.where(~np.isnat(pop.facts["enrolled_on"]), 0.8, 0.4)
    )
    pop.ids["email"] = pc.if_else(pa.array(wants_email), email, None)
