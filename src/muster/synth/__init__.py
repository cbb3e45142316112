"""Synthetic data: a true population and the noisy extracts seven agencies make of it.

``generate`` writes, into one folder, the population (the truth about every
person), seven extracts in their agencies' own formats, the source declarations
muster needs to ingest them (``sources.toml``), and the answers a test needs:
which accepted record belongs to whom (``truth.csv``), every defect injected
(``defects.csv``), every look-alike pair planted to tempt a false merge
(``traps.csv``) and the counts of all of it (``manifest.json``).

The same (persons, seed, profile) always gives byte-identical files: every step
draws from its own random stream derived from the seed and the step's name.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from muster.errors import ConfigError
from muster.profile import Profile
from muster.synth.badinput import add_bad_input, number_rows, order_rows
from muster.synth.extracts import build_rows
from muster.synth.facts import assign_identifiers, derive_facts
from muster.synth.manifests import (
    SourceOutcome,
    build_manifest,
    collect_trap_pairs,
    count_defects,
    render_sources_toml,
    write_defects,
    write_population,
    write_traps,
    write_truth,
)
from muster.synth.noise import add_noise, compose_full_name
from muster.synth.population import Population, draw_population, render_text
from muster.synth.rows import ACCEPTED, DefectLog
from muster.synth.sources import CANONICAL_FIELDS, SOURCES, SourceSpec
from muster.synth.traps import TRAP_KINDS, plant_traps
from muster.synth.vocab import Vocabulary, load_vocabulary
from muster.synth.writers import write_extract

__all__ = ["CANONICAL_FIELDS", "SOURCES", "STEPS", "TRAP_KINDS", "SynthResult", "generate"]

STEPS = ("population", *(spec.name for spec in SOURCES), "answers")
MAX_PERSONS = 50_000_000  # int64 record numbers and memory, not the algorithm, set this


@dataclass(frozen=True)
class SynthResult:
    outdir: Path
    persons: int
    seed: int
    profile: str
    population: Path
    sources_toml: Path
    truth: Path
    defects: Path
    traps: Path
    manifest: Path
    files: dict[str, Path]  # source name -> extract
    rows_written: dict[str, int]  # source name -> rows in the file (bad ones included)
    expected_accepted: dict[str, int]  # source name -> distinct records an ingest accepts
    defect_counts: dict[str, int]
    trap_counts: dict[str, int]

    @property
    def total_rows(self) -> int:
        return sum(self.rows_written.values())


def make_random_stream(seed: int, step: str) -> np.random.Generator:
    """An independent stream per step: changing one step leaves the others' draws alone."""
    return np.random.default_rng([seed, zlib.crc32(step.encode())])


def generate(
    outdir: Path,
    persons: int,
    seed: int,
    profile: Profile,
    on_step: Callable[[str], None] | None = None,
) -> SynthResult:
    """Write the population, seven extracts and their answers into ``outdir``.

    ``on_step`` is called with each name of ``STEPS`` when that step is done.
    """
    check_arguments(outdir, persons, seed)
    done = on_step or (lambda step: None)
    outdir.mkdir(parents=True, exist_ok=True)
    vocab = load_vocabulary(profile)
    pop = draw_population(persons, profile, vocab, make_random_stream(seed, "population"))
    person_traps = plant_traps(pop, vocab.names, make_random_stream(seed, "traps"))
    derive_facts(pop, vocab, make_random_stream(seed, "facts"))
    assign_identifiers(pop, profile, vocab, make_random_stream(seed, "identifiers"))
    render_text(pop, vocab)
    region_codes = [r.code for r in profile.regions.regions]
    write_population(outdir / "population.parquet", pop, vocab, region_codes)
    done("population")
    outcomes = []
    for spec in SOURCES:
        outcomes.append(
            make_extract(outdir, spec, pop, vocab, profile, make_random_stream(seed, spec.name))
        )
        done(spec.name)
    pairs = collect_trap_pairs(person_traps, outcomes)
    write_truth(outdir / "truth.csv", outcomes, pop.text["person_id"])
    write_defects(outdir / "defects.csv", outcomes)
    write_traps(outdir / "traps.csv", pairs, pop.text["person_id"])
    (outdir / "sources.toml").write_text(
        render_sources_toml(SOURCES, vocab, persons, seed, profile.name), encoding="utf-8"
    )
    defect_counts = count_defects(outcomes)
    trap_counts = {kind: len(a) for kind, (a, _) in pairs.items()}
    summary = build_manifest(outcomes, defect_counts, trap_counts, persons, seed, profile.name)
    (outdir / "manifest.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    done("answers")
    return SynthResult(
        outdir=outdir,
        persons=persons,
        seed=seed,
        profile=profile.name,
        population=outdir / "population.parquet",
        sources_toml=outdir / "sources.toml",
        truth=outdir / "truth.csv",
        defects=outdir / "defects.csv",
        traps=outdir / "traps.csv",
        manifest=outdir / "manifest.json",
        files={o.spec.name: o.written.path for o in outcomes},
        rows_written={o.spec.name: len(o.status) for o in outcomes},
        expected_accepted={o.spec.name: int((o.status == ACCEPTED).sum()) for o in outcomes},
        defect_counts=defect_counts,
        trap_counts=trap_counts,
    )


def check_arguments(outdir: Path, persons: int, seed: int) -> None:
    if not 1 <= persons <= MAX_PERSONS:
        raise ConfigError(
            f"--persons must be between 1 and {MAX_PERSONS:,}, not {persons:,}.",
            hint="Try --persons 10000 for a demo, 1000000 for a load test.",
        )
    if seed < 0:
        raise ConfigError(
            f"--seed must be zero or positive, not {seed}.",
            hint="Any non-negative integer works; the same seed gives the same files.",
        )
    if outdir.exists() and not outdir.is_dir():
        raise ConfigError(
            f"{outdir} exists and is not a folder.",
            hint="Name a new or existing folder for the synthetic files.",
        )


def make_extract(
    outdir: Path,
    spec: SourceSpec,
    pop: Population,
    vocab: Vocabulary,
    profile: Profile,
    rng: np.random.Generator,
) -> SourceOutcome:
    """Rows -> noise -> bad input -> file order and record ids -> file."""
    rows = build_rows(spec, pop, vocab, profile, rng)
    log = DefectLog()
    borrowed = add_noise(rows, log, spec, pop, profile, rng)
    if spec.name_order:
        compose_full_name(rows, log)
    add_bad_input(rows, log, spec, rng)
    order = order_rows(rows, rng)
    numbers = number_rows(rows, order, rng)
    written = write_extract(outdir, spec, rows, order, numbers, vocab, profile)
    return SourceOutcome(spec, rows.hidden["status"], rows.person, log, written, borrowed)
