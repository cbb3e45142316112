"""What a test or a demo needs to check an ingest and a resolution against the truth:
population.parquet, sources.toml, truth.csv, defects.csv, traps.csv, manifest.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from muster.synth.facts import FITNESS
from muster.synth.population import AS_OF, Population
from muster.synth.rows import ACCEPTED, QUARANTINE_REASONS, REPEAT, DefectLog
from muster.synth.sources import SourceSpec
from muster.synth.text import format_csv_fields, join_lines, pick, render_template
from muster.synth.vocab import Vocabulary
from muster.synth.writers import Written


@dataclass
class SourceOutcome:
    spec: SourceSpec
    status: np.ndarray  # per row (row index, not file position)
    person: np.ndarray
    log: DefectLog
    written: Written
    borrowed: tuple[np.ndarray, np.ndarray]

    def summarise(self) -> dict[str, object]:
        quarantined = {
            reason: int((self.status == code).sum()) for code, reason in QUARANTINE_REASONS.items()
        }
        return {
            "file": self.spec.file,
            "format": self.spec.format,
            "rows_written": len(self.status),
            "expected_accepted": int((self.status == ACCEPTED).sum()),
            "expected_identical_repeats": int((self.status == REPEAT).sum()),
            "expected_quarantined": quarantined,
            "defects": self.log.counts(),
        }


def write_csv_table(path: Path, columns: dict[str, pa.Array]) -> None:
    fields = [format_csv_fields(values, ",") for values in columns.values()]
    body = join_lines(pc.binary_join_element_wise(*fields, ","))
    path.write_bytes((",".join(columns) + "\n").encode() + body)


def build_population_table(
    pop: Population, vocab: Vocabulary, profile_codes: list[str]
) -> pa.Table:
    names, f = vocab.names, pop.facts
    codes = pa.array(profile_codes, pa.string())
    household = pop.household
    moved = pop.moved_on[household]
    fitness = pa.array(list("ABCDE")[: len(FITNESS)])
    return pa.table(
        {
            "person_id": pop.text["person_id"],
            "family_name": pick(
                names.family, pop.family + pop.sex.astype(np.int64) * names.n_family
            ),
            "given_name": pick(names.given, pop.given),
            "middle_name": pick(names.middle, pop.middle),
            "sex": pc.if_else(pa.array(pop.sex == 0), "M", "F"),
            "birth_date": pa.array(pop.birth, pa.date32()),
            "birth_place": pop.text["birth_place"],
            "region": pick(codes, pop.home.region[household]),
            "address": pop.text["address"],
            "previous_region": pick(
                codes, np.where(np.isnat(moved), -1, pop.previous.region[household])
            ),
            "previous_address": pop.text["previous_address"],
            "moved_on": pa.array(moved, pa.date32()),
            **{
                key: pop.ids[key]
                for key in (
                    "national_id",
                    "tax_id",
                    "passport_no",
                    "previous_passport_no",
                    "phone",
                    "email",
                )
            },
            "death_date": pa.array(f["death"], pa.date32()),
            "dependents": pa.array(f["dependents"], pa.int64()),
            "student_until": pa.array(f["student_until"], pa.date32()),
            "occupation": pick(vocab.work.codes, f["occupation"]),
            "employer": pick(vocab.work.employers, f["employer"]),
            "fitness_category": pick(fitness, f["fitness"]),
            "fitness_date": pa.array(f["fitness_date"], pa.date32()),
            "military_rank": pick(vocab.ranks, f["rank"]),
            "military_specialty": pick(vocab.specialties, f["specialty"]),
            "service_end": pa.array(f["service_end"], pa.date32()),
            "household_id": pa.array(household, pa.int64()),
        }
    )


def write_population(path: Path, pop: Population, vocab: Vocabulary, codes: list[str]) -> None:
    pq.write_table(build_population_table(pop, vocab, codes), path, compression="zstd")


def write_truth(path: Path, outcomes: list[SourceOutcome], person_id: pa.Array) -> int:
    tables = []
    for o in outcomes:
        rows = np.flatnonzero(o.status == ACCEPTED)
        rows = rows[np.argsort(o.written.line[rows], kind="stable")]
        tables.append(
            pa.table(
                {
                    "source": pa.array(np.full(len(rows), o.spec.name)),
                    "record_id": o.written.record_id.take(pa.array(rows)),
                    "person_id": person_id.take(pa.array(o.person[rows])),
                }
            )
        )
    truth = pa.concat_tables(tables)
    write_csv_table(
        path, {name: truth.column(name).combine_chunks() for name in truth.column_names}
    )
    return int(truth.num_rows)


def write_defects(path: Path, outcomes: list[SourceOutcome]) -> None:
    tables = []
    for o in outcomes:
        parts = []
        for entry in o.log.entries:  # a loop over log entries (kinds of defect)
            rows, detail = entry.rows, entry.detail
            if entry.other is not None:
                detail = render_template(
                    entry.template,
                    {
                        "record": pc.fill_null(o.written.record_id.take(pa.array(entry.other)), ""),
                        "line": pc.cast(pa.array(o.written.line[entry.other]), pa.string()),
                    },
                )
            parts.append(
                pa.table(
                    {
                        "source": pa.array(np.full(len(rows), o.spec.name)),
                        "record_id": o.written.record_id.take(pa.array(rows)),
                        "line": pa.array(o.written.line[rows], pa.int64()),
                        "defect": pa.array(np.full(len(rows), entry.defect)),
                        "field": pa.array(np.full(len(rows), entry.field)),
                        "detail": detail
                        if detail is not None
                        else pa.nulls(len(rows), pa.string()),
                    }
                )
            )
        if parts:
            table = pa.concat_tables(parts).combine_chunks()
            by_line = np.argsort(table.column("line").to_numpy(), kind="stable")
            tables.append(table.take(pa.array(by_line)))
    if not tables:  # only possible for a handful of persons
        path.write_bytes(b"source,record_id,line,defect,field,detail\n")
        return
    defects = pa.concat_tables(tables).combine_chunks()
    write_csv_table(
        path, {name: defects.column(name).combine_chunks() for name in defects.column_names}
    )


def collect_trap_pairs(
    person_traps: dict[str, tuple[np.ndarray, np.ndarray]], outcomes: list[SourceOutcome]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    pairs = dict(person_traps)
    pairs["borrowed_identifier"] = (
        np.concatenate([o.borrowed[0] for o in outcomes]),
        np.concatenate([o.borrowed[1] for o in outcomes]),
    )
    return pairs


def write_traps(
    path: Path, pairs: dict[str, tuple[np.ndarray, np.ndarray]], person_id: pa.Array
) -> None:
    kinds = np.concatenate([np.full(len(a), kind) for kind, (a, _) in pairs.items()])
    a = np.concatenate([a for a, _ in pairs.values()]).astype(np.int64)
    b = np.concatenate([b for _, b in pairs.values()]).astype(np.int64)
    write_csv_table(
        path,
        {
            "trap": pa.array(kinds, pa.string()),
            "person_a": person_id.take(pa.array(a)),
            "person_b": person_id.take(pa.array(b)),
        },
    )


def build_value_maps(spec: SourceSpec, vocab: Vocabulary) -> dict[str, dict[str, str]]:
    maps: dict[str, dict[str, str]] = {}
    fields = {key for key, _ in spec.columns}
    if "sex" in fields:
        male, female = vocab.codes[spec.sex_codes]
        if spec.sex_upper:
            male, female = male.upper(), female.upper()
        maps["sex"] = {k: v for k, v in ((male, "M"), (female, "F")) if k != v}
    if "occupation" in fields:
        labels, codes = vocab.work.labels.to_pylist(), vocab.work.codes.to_pylist()
        maps["occupation"] = {k: v for k, v in zip(labels, codes, strict=True) if k != v}
    return {field: mapping for field, mapping in maps.items() if mapping}


def render_sources_toml(
    specs: tuple[SourceSpec, ...], vocab: Vocabulary, persons: int, seed: int, profile: str
) -> str:
    lines = [
        f"# Source declarations for the synthetic extracts of `muster synth` "
        f"(profile {profile}, {persons} persons, seed {seed}).",
        "# `file` is relative to this file.",
    ]
    for spec in specs:
        settings = {"agency": spec.agency, "file": spec.file, "format": spec.format}
        if spec.text_format:
            settings["encoding"] = spec.encoding
        if spec.format == "csv":
            settings["delimiter"] = spec.delimiter
        settings["record_id"] = spec.column_of["record_id"]
        settings["date_format"] = spec.date_format
        if spec.name_order:
            settings["name_order"] = spec.name_order
        lines += ["", f"[sources.{spec.name}]"]
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in settings.items()]
        lines += ["", f"[sources.{spec.name}.fields]"]
        lines += [
            f"{k} = {json.dumps(c, ensure_ascii=False)}"
            for k, c in spec.columns
            if k in spec.fields
        ]
        for field, mapping in build_value_maps(spec, vocab).items():
            lines += ["", f"[sources.{spec.name}.values.{field}]"]
            # Source values are always quoted keys: "1" stays text, "М" stays readable.
            lines += [
                f"{json.dumps(k, ensure_ascii=False)} = {json.dumps(v, ensure_ascii=False)}"
                for k, v in mapping.items()
            ]
    return "\n".join(lines) + "\n"


def count_defects(outcomes: list[SourceOutcome]) -> dict[str, int]:
    defects: dict[str, int] = {}
    for o in outcomes:
        for kind, count in o.log.counts().items():
            defects[kind] = defects.get(kind, 0) + count
    return dict(sorted(defects.items()))


def build_manifest(
    outcomes: list[SourceOutcome],
    defects: dict[str, int],
    traps: dict[str, int],
    persons: int,
    seed: int,
    profile: str,
) -> dict[str, object]:
    return {
        "generator": "muster synth",
        "profile": profile,
        "persons": persons,
        "seed": seed,
        "as_of": str(AS_OF),
        "rows_written": sum(len(o.status) for o in outcomes),
        "expected_accepted": sum(int((o.status == ACCEPTED).sum()) for o in outcomes),
        "defects": defects,
        "traps": traps,
        "sources": {o.spec.name: o.summarise() for o in outcomes},
    }
