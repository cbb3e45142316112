"""Synthetic data: what a user of `muster synth` relies on.

The checks read the generated files independently of the generator (plain csv/json/
pyarrow, following the data contract), so a bug in the generator's bookkeeping
cannot hide behind the same bug in the check.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tomllib
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from muster.errors import ConfigError
from muster.profile import load_profile
from muster.synth import SynthResult, generate

PERSONS = 2000
# The contract's canonical fields and source settings (ARCHITECTURE.md, "Data contract").
CANONICAL = {
    "family_name",
    "given_name",
    "middle_name",
    "full_name",
    "birth_date",
    "birth_place",
    "sex",
    "national_id",
    "passport_no",
    "tax_id",
    "region",
    "address",
    "phone",
    "email",
    "record_date",
    "fitness_category",
    "fitness_date",
    "death_date",
    "dependents",
    "student_until",
    "employer",
    "occupation",
    "military_rank",
    "military_specialty",
    "service_end",
}
SETTINGS = {
    "agency",
    "format",
    "encoding",
    "delimiter",
    "record_id",
    "date_format",
    "name_order",
    "fields",
    "values",
    "file",
}
SEVEN = {"voters", "passports", "health", "tax", "education", "civil", "military"}


@pytest.fixture(scope="module")
def profile():
    return load_profile("default")


@pytest.fixture(scope="module")
def result(tmp_path_factory, profile) -> SynthResult:
    return generate(tmp_path_factory.mktemp("synth"), PERSONS, 1, profile)


@pytest.fixture(scope="module")
def declarations(result):
    with result.sources_toml.open("rb") as f:
        return tomllib.load(f)["sources"]


@pytest.fixture(scope="module")
def manifest(result):
    return json.loads(result.manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def read(result, declarations):
    """Every source read by the contract's rules: source -> list of row dicts."""
    return {name: read_source(result.outdir, decl) for name, decl in declarations.items()}


@pytest.fixture(scope="module")
def population(result):
    table = pq.read_table(result.population)
    return {row["person_id"]: row for row in table.to_pylist()}


def read_source(folder: Path, decl: dict) -> list[dict]:
    """Rows with their line, record id (as text), values and contract fate."""
    path = folder / decl["file"]
    if decl["format"] == "parquet":
        raw_rows = [(i + 1, row, row) for i, row in enumerate(pq.read_table(path).to_pylist())]
    else:
        data = path.read_bytes()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        lines = data.decode(decl.get("encoding", "utf-8")).split("\n")
        assert lines[-1] == "", "text files end with a newline"
        lines = lines[:-1]
        raw_rows = []
        if decl["format"] == "csv":
            header = next(csv.reader([lines[0]], delimiter=decl.get("delimiter", ",")))
            for number, line in enumerate(lines[1:], start=2):
                fields = next(csv.reader([line], delimiter=decl.get("delimiter", ",")))
                row = dict(zip(header, fields, strict=True)) if len(fields) == len(header) else None
                raw_rows.append((number, row, line))
        else:
            for number, line in enumerate(lines, start=1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    row = None
                raw_rows.append((number, row if isinstance(row, dict) else None, line))
    seen: dict[str, object] = {}
    out = []
    for line, row, raw in raw_rows:
        record_id = None if row is None else row.get(decl["record_id"])
        record_id = None if record_id in (None, "") else str(record_id)
        if row is None:
            fate = "malformed_row"
        elif record_id is None:
            fate = "missing_record_id"
        elif record_id in seen:
            fate = "identical_repeat" if seen[record_id] == raw else "conflicting_duplicate"
        else:
            seen[record_id] = raw
            fate = "accepted"
        out.append({"line": line, "record_id": record_id, "row": row, "fate": fate})
    return out


def field(decl: dict, row: dict, canonical: str):
    return row.get(decl["fields"][canonical])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- determinism -------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(result, tmp_path, profile):
    again = generate(tmp_path / "again", PERSONS, 1, profile)
    names = sorted(p.name for p in result.outdir.iterdir())
    assert names == sorted(p.name for p in again.outdir.iterdir())
    assert len(names) == 13
    for name in names:
        assert sha256(result.outdir / name) == sha256(again.outdir / name), name


def test_another_seed_gives_other_people(result, tmp_path, profile):
    other = generate(tmp_path / "other", PERSONS, 2, profile)
    assert sha256(other.population) != sha256(result.population)


# --- declarations and formats ---------------------------------------------------------


def test_sources_toml_declares_seven_sources_with_contract_settings(declarations):
    assert set(declarations) == SEVEN
    for name, decl in declarations.items():
        assert set(decl) <= SETTINGS, name
        assert {"agency", "format", "record_id", "fields", "file"} <= set(decl), name
        assert decl["format"] in ("csv", "jsonl", "parquet")
        assert set(decl["fields"]) <= CANONICAL, (name, set(decl["fields"]) - CANONICAL)
        assert set(decl.get("values", {})) <= CANONICAL, name
        datetime.strptime(
            date(2001, 2, 3).strftime(decl.get("date_format", "%Y-%m-%d")),
            decl.get("date_format", "%Y-%m-%d"),
        )
        if "full_name" in decl["fields"]:
            assert decl["name_order"] == "family given middle"


def test_every_declared_file_exists_in_its_format_and_encoding(result, declarations):
    for name, decl in declarations.items():
        path = result.outdir / decl["file"]
        assert path.exists(), name
        data = path.read_bytes()
        encoding = decl.get("encoding", "utf-8")
        if decl["format"] == "parquet":
            columns = pq.read_schema(path).names
        else:
            assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig"), name
            text = data.decode(encoding)
            if encoding == "cp1251":
                with pytest.raises(UnicodeDecodeError):
                    data.decode("utf-8")
                assert any("а" <= ch <= "я" for ch in text)
            if decl["format"] == "csv":
                columns = next(
                    csv.reader(
                        io.StringIO(text.lstrip("\ufeff")), delimiter=decl.get("delimiter", ",")
                    )
                )
            else:
                columns = list(json.loads(text.split("\n", 1)[0]))
        assert decl["record_id"] in columns, name
        assert set(decl["fields"].values()) <= set(columns), name


def test_parquet_record_ids_are_integers(result, declarations):
    decl = declarations["passports"]
    schema = pq.read_schema(result.outdir / decl["file"])
    assert str(schema.field(decl["record_id"]).type) == "int64"
    assert str(schema.field(decl["fields"]["birth_date"]).type).startswith("date32")


def test_voters_ids_keep_leading_zeros_and_sex_needs_the_value_map(read, declarations):
    decl = declarations["voters"]
    accepted = [r for r in read["voters"] if r["fate"] == "accepted"]
    assert all(r["record_id"].startswith("0") for r in accepted[:50])
    sexes = {field(decl, r["row"], "sex") for r in accepted} - {""}
    assert sexes == set(decl["values"]["sex"]) == {"М", "Ж"}


def test_coded_values_are_canonical_or_mapped(read, declarations):
    for name, decl in declarations.items():
        for coded, allowed in (("sex", {"M", "F"}), ("fitness_category", set("ABCDE"))):
            if coded not in decl["fields"]:
                continue
            mapped = set(decl.get("values", {}).get(coded, {}))
            values = {field(decl, r["row"], coded) for r in read[name] if r["row"]}
            assert values - {None, ""} <= allowed | mapped, (name, coded)


def test_region_spellings_resolve_to_the_person_s_region(
    read, declarations, population, result, profile
):
    truth = truth_rows(result)
    for name, decl in declarations.items():
        if "region" not in decl["fields"]:
            continue
        for r in read[name]:
            spelled = field(decl, r["row"], "region") if r["fate"] == "accepted" else None
            if not spelled:
                continue
            person = population[truth[(name, r["record_id"])]]
            code = profile.regions.code_for(spelled)
            assert code in (person["region"], person["previous_region"]), (name, spelled)


# --- truth and manifest ----------------------------------------------------------------


def truth_rows(result) -> dict[tuple[str, str], str]:
    with result.truth.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = {(r["source"], r["record_id"]): r["person_id"] for r in rows}
    assert len(pairs) == len(rows), "one truth line per distinct accepted record"
    return pairs


def test_truth_covers_exactly_the_records_a_correct_ingest_accepts(read, result, population):
    truth = truth_rows(result)
    accepted = {
        (name, r["record_id"])
        for name, rows in read.items()
        for r in rows
        if r["fate"] == "accepted"
    }
    assert set(truth) == accepted
    assert set(truth.values()) <= set(population)
    assert 4 * result.persons <= len(truth) <= 5 * result.persons


def test_manifest_counts_reconcile_with_the_files(read, manifest, result):
    for name, rows in read.items():
        summary = manifest["sources"][name]
        fates = Counter(r["fate"] for r in rows)
        assert summary["rows_written"] == len(rows)
        assert summary["expected_accepted"] == fates["accepted"]
        assert summary["expected_identical_repeats"] == fates["identical_repeat"]
        for reason, count in summary["expected_quarantined"].items():
            assert fates[reason] == count, (name, reason)
        quarantined = sum(summary["expected_quarantined"].values())
        assert summary["rows_written"] == (
            summary["expected_accepted"] + quarantined + summary["expected_identical_repeats"]
        )
        assert 1 <= summary["expected_quarantined"]["missing_record_id"] <= 25
        assert fates["conflicting_duplicate"] >= 1 and fates["identical_repeat"] >= 1
        if name != "passports":
            assert fates["malformed_row"] >= 1


def test_defect_and_trap_counts_match_their_csv_files(manifest, result, read):
    with result.defects.open(encoding="utf-8", newline="") as f:
        defects = list(csv.DictReader(f))
    with result.traps.open(encoding="utf-8", newline="") as f:
        traps = list(csv.DictReader(f))
    assert dict(Counter(d["defect"] for d in defects)) == manifest["defects"]
    assert dict(Counter(t["trap"] for t in traps)) == manifest["traps"]
    for name in SEVEN:
        per_source = Counter(d["defect"] for d in defects if d["source"] == name)
        assert dict(per_source) == manifest["sources"][name]["defects"], name
    expected = {
        "typo",
        "swapped_names",
        "day_month_swap",
        "transliterated",
        "stale_address",
        "broken_identifier",
        "missing_value",
        "within_source_duplicate",
        "borrowed_identifier",
        "missing_record_id",
        "conflicting_duplicate",
        "malformed_row",
        "identical_repeat",
    }
    assert set(manifest["defects"]) == expected
    # Bad input is logged on the line where the reader finds it, with the same fate.
    fate_at = {(name, r["line"]): r["fate"] for name, rows in read.items() for r in rows}
    for d in defects:
        if d["defect"] in (
            "missing_record_id",
            "conflicting_duplicate",
            "malformed_row",
            "identical_repeat",
        ):
            assert fate_at[(d["source"], int(d["line"]))] == d["defect"]


def test_traps_are_a_few_per_thousand_and_really_look_alike(manifest, population, result):
    for kind in ("twins", "father_son", "namesakes_other_region", "namesakes_day_apart"):
        assert 2 <= manifest["traps"][kind] <= 10 * manifest["persons"] // 1000, kind
    with result.traps.open(encoding="utf-8", newline="") as f:
        traps = list(csv.DictReader(f))
    for t in traps:
        a, b = population[t["person_a"]], population[t["person_b"]]
        assert a["person_id"] != b["person_id"]
        same_name = all(a[k] == b[k] for k in ("family_name", "given_name", "middle_name"))
        if t["trap"] == "twins":
            assert (a["family_name"], a["middle_name"], a["birth_date"], a["address"]) == (
                b["family_name"],
                b["middle_name"],
                b["birth_date"],
                b["address"],
            )
            assert a["given_name"] != b["given_name"] and a["national_id"] != b["national_id"]
        elif t["trap"] == "father_son":
            assert same_name and a["address"] == b["address"]
            assert 20 * 365 <= (b["birth_date"] - a["birth_date"]).days <= 35 * 366
        elif t["trap"] == "namesakes_other_region":
            assert same_name and a["birth_date"] == b["birth_date"]
            assert a["region"] != b["region"]
        elif t["trap"] == "namesakes_day_apart":
            assert same_name and a["region"] == b["region"] and a["address"] != b["address"]
            assert abs(a["birth_date"] - b["birth_date"]) == timedelta(days=1)


def test_broken_identifiers_fail_their_check_and_clean_ones_pass(
    read, declarations, result, profile, population
):
    with result.defects.open(encoding="utf-8", newline="") as f:
        defects = list(csv.DictReader(f))
    broken = {
        (d["source"], int(d["line"]), d["field"])
        for d in defects
        if d["defect"] == "broken_identifier"
    }
    borrowed = {
        (d["source"], int(d["line"]), d["field"])
        for d in defects
        if d["defect"] == "borrowed_identifier"
    }
    assert broken and borrowed
    truth = truth_rows(result)
    checked = Counter()
    for name, decl in declarations.items():
        for ident in ("national_id", "tax_id", "passport_no"):
            if ident not in decl["fields"]:
                continue
            spec = profile.identifiers[ident]
            for r in read[name]:
                value = field(decl, r["row"], ident) if r["fate"] == "accepted" else None
                if not value:
                    continue
                key = (name, r["line"], ident)
                assert spec.is_valid(value) == (key not in broken), (key, value)
                checked["broken" if key in broken else "valid"] += 1
                owner = population[truth[(name, r["record_id"])]]
                clean = spec.clean(value)
                if key not in broken and ident != "passport_no":
                    assert (clean == owner[ident]) == (key not in borrowed), key
    assert checked["broken"] == len(broken) and checked["valid"] > 10 * len(broken)


def test_logged_defects_are_visible_in_the_records(read, declarations, result, population):
    """A defect in defects.csv is really there: stale rows show the old address, swapped
    dates are swapped, missing values are empty, transliterated names are in Latin."""
    truth = truth_rows(result)
    rows_at = {(name, r["line"]): r for name, rows in read.items() for r in rows}
    with result.defects.open(encoding="utf-8", newline="") as f:
        defects = list(csv.DictReader(f))
    seen = Counter()
    for d in defects:
        r = rows_at[(d["source"], int(d["line"]))]
        if r["fate"] != "accepted":
            continue
        decl = declarations[d["source"]]
        person = population[truth[(d["source"], r["record_id"])]]
        value = field(decl, r["row"], d["field"]) if d["field"] else None
        if d["defect"] == "stale_address" and d["field"] == "address":
            assert value.replace("е", "ё") == person["previous_address"].replace("е", "ё")
        elif d["defect"] == "day_month_swap":
            fmt = decl.get("date_format", "%Y-%m-%d")
            shown = value if isinstance(value, date) else datetime.strptime(value, fmt).date()
            born = person["birth_date"]
            assert (shown.year, shown.month, shown.day) == (born.year, born.day, born.month)
        elif d["defect"] == "missing_value" and d["field"] == "full_name":
            assert d["detail"] == "middle_name" and len(value.split()) == 2
        elif d["defect"] == "missing_value":
            assert value in (None, "")
        elif d["defect"] == "transliterated" and d["field"] != "full_name":
            assert value is None or not any("а" <= ch <= "я" for ch in value.lower())
        seen[d["defect"]] += 1
    assert {"stale_address", "day_month_swap", "missing_value", "transliterated"} <= set(seen)


def test_clean_records_carry_their_person_s_names(read, declarations, result, population):
    """Rows with no logged defect show the person's own names (ё may be written е)."""
    with result.defects.open(encoding="utf-8", newline="") as f:
        touched = {(d["source"], int(d["line"])) for d in csv.DictReader(f)}
    truth = truth_rows(result)
    checked = 0
    for name in ("voters", "health", "civil"):
        decl = declarations[name]
        for r in read[name]:
            if r["fate"] != "accepted" or (name, r["line"]) in touched:
                continue
            person = population[truth[(name, r["record_id"])]]
            if "full_name" in decl["fields"]:
                words = field(decl, r["row"], "full_name").split()
                shown = [words[0], words[1], " ".join(words[2:]) or None]
            else:
                shown = [
                    field(decl, r["row"], f) or None
                    for f in ("family_name", "given_name", "middle_name")
                ]
            expected = [person["family_name"], person["given_name"], person["middle_name"]]
            same = [
                s == e or (s or "").replace("е", "ё") == (e or "").replace("е", "ё")
                for s, e in zip(shown, expected, strict=True)
            ]
            assert all(same), (name, r["line"], shown, expected)
            checked += 1
    assert checked > result.persons


def test_coverage_is_realistic_by_age_and_sex(read, declarations, result, population):
    truth = truth_rows(result)
    people = {
        name: [population[truth[(name, r["record_id"])]] for r in rows if r["fate"] == "accepted"]
        for name, rows in read.items()
    }
    as_of = date(2024, 7, 1)

    def age(p):
        return (as_of - p["birth_date"]).days // 365

    assert all(age(p) >= 18 for p in people["voters"])
    health_men = [p for p in people["health"] if p["sex"] == "M" and 16 <= age(p) <= 60]
    assert len(health_men) >= 0.9 * len(people["health"])
    assert all(p["sex"] == "M" and p["service_end"] for p in people["military"])
    assert all(15 <= age(p) <= 26 for p in people["education"])
    occupations = Counter(p["occupation"] for p in population.values() if p["occupation"])
    for protected in ("physician", "nurse", "teacher", "firefighter"):
        assert occupations[protected] >= 1, protected


@pytest.mark.slow
def test_bookkeeping_holds_for_a_larger_population(tmp_path, profile):
    """Rare coincidences (two defects on one value) only show up in bigger data sets."""
    big = generate(tmp_path, 20_000, 11, profile)
    with big.sources_toml.open("rb") as f:
        decls = tomllib.load(f)["sources"]
    rows = {name: read_source(big.outdir, decl) for name, decl in decls.items()}
    people = {r["person_id"]: r for r in pq.read_table(big.population).to_pylist()}
    summary = json.loads(big.manifest.read_text(encoding="utf-8"))
    test_truth_covers_exactly_the_records_a_correct_ingest_accepts(rows, big, people)
    test_manifest_counts_reconcile_with_the_files(rows, summary, big)
    test_defect_and_trap_counts_match_their_csv_files(summary, big, rows)
    test_traps_are_a_few_per_thousand_and_really_look_alike(summary, people, big)
    test_broken_identifiers_fail_their_check_and_clean_ones_pass(rows, decls, big, profile, people)
    test_logged_defects_are_visible_in_the_records(rows, decls, big, people)
    test_clean_records_carry_their_person_s_names(rows, decls, big, people)


# --- other profiles and the command line ----------------------------------------------


def test_latinia_profile_generates_without_transliteration(tmp_path):
    result = generate(tmp_path, 400, 3, load_profile("latinia"))
    manifest = json.loads(result.manifest.read_text(encoding="utf-8"))
    assert "transliterated" not in manifest["defects"]
    assert manifest["expected_accepted"] > 400
    voters = (tmp_path / "voters.csv").read_bytes().decode("cp1251")
    assert "Province" in voters or "District" in voters


def test_bad_arguments_raise_a_helpful_config_error(tmp_path, profile):
    with pytest.raises(ConfigError) as error:
        generate(tmp_path, 0, 1, profile)
    assert error.value.hint
    with pytest.raises(ConfigError):
        generate(tmp_path, 10, -1, profile)


def test_cli_synth_writes_the_folder_and_help_has_an_example(tmp_path):
    from typer.testing import CliRunner

    from muster.cli import app

    runner = CliRunner()
    help_text = runner.invoke(app, ["synth", "--help"]).output
    assert "Example" in help_text and "--persons" in help_text
    outcome = runner.invoke(
        app, ["synth", str(tmp_path / "out"), "--persons", "300", "--seed", "5"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "out" / "sources.toml").exists()
    assert "voters" in outcome.output
