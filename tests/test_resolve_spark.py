"""The Spark engine: the same records resolved by DuckDB and by Spark give the same persons.

One Spark session (local mode) serves every test of the process: starting the JVM is
the slow part. Without pyspark or a Java 17+ runtime the Spark tests are skipped, or
fail under MUSTER_REQUIRE_SPARK=1 (set by `make test`, which installs Java first).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Register
from helpers import declare, read_csv
from muster.errors import ConfigError, MusterError
from muster.profile import load_profile
from muster.resolve import model
from muster.resolve.config import ResolutionConfig, SparkSettings, resolution_config
from muster.resolve.spark import in_dialect, require_java, stop_session
from test_resolve import CASES, FIELDS, _cases_file

PERSONS = 300
REQUIRE_SPARK = os.environ.get("MUSTER_REQUIRE_SPARK") == "1"

Pair = tuple[tuple[str, str], tuple[str, str]]


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    try:
        require_java()
    except MusterError as exc:
        return exc.message
    return None


@pytest.fixture(scope="module")
def spark_engine() -> Iterator[None]:
    missing = _spark_missing()
    if missing:
        if REQUIRE_SPARK:
            pytest.fail(f"MUSTER_REQUIRE_SPARK=1 but Spark cannot run: {missing}")
        pytest.skip(f"Spark cannot run here: {missing}")
    yield
    stop_session()


def _links(register: Register, path: Path) -> dict[tuple[str, str], str]:
    register.ok("export", "links", "--out", path)
    return {(r["source"], r["record_id"]): r["person_id"] for r in read_csv(path)}


def _pairs(links: dict[tuple[str, str], str]) -> set[Pair]:
    """Every pair of records that the partition puts in one person."""
    by_person: dict[str, list[tuple[str, str]]] = {}
    for record, person in links.items():
        by_person.setdefault(person, []).append(record)
    return {pair for records in by_person.values()
            for pair in itertools.combinations(sorted(records), 2)}


def test_spark_and_duckdb_reach_the_same_partition(spark_engine: None, register: Register,
                                                   tmp_path: Path) -> None:
    extracts = tmp_path / "extracts"
    register.ok("synth", extracts, "--persons", PERSONS, "--seed", 3)
    register.ok("sources", "add", extracts / "sources.toml")
    declare(tmp_path / "cases.toml", cases={
        "agency": "Test office", "format": "csv", "record_id": "id",
        "fields": {f: f for f in FIELDS},
    })
    register.ok("ingest", "--all")
    register.ok("sources", "add", tmp_path / "cases.toml")
    register.ok("ingest", "cases", _cases_file(tmp_path, CASES))

    assert "duckdb" in register.ok("resolve")
    duck = _links(register, tmp_path / "duckdb.csv")
    out = register.ok("resolve", "--engine", "spark", "--full")
    assert "full" in out and "spark" in out
    spark = _links(register, tmp_path / "spark.csv")

    assert spark.keys() == duck.keys()
    duck_pairs, spark_pairs = _pairs(duck), _pairs(spark)
    assert duck_pairs
    agreement = len(duck_pairs & spark_pairs) / len(duck_pairs | spark_pairs)
    only_duck, only_spark = sorted(duck_pairs - spark_pairs), sorted(spark_pairs - duck_pairs)
    assert agreement >= 0.999, (f"Spark and DuckDB agree on {agreement:.4%} of linked pairs; "
                                f"only DuckDB: {only_duck[:5]}, only Spark: {only_spark[:5]}")

    # The guards hold on Spark too.
    person = {rid: spark[("cases", rid)] for rid, *_ in CASES}
    assert person["twin-a"] != person["twin-b"]
    assert person["father"] != person["son"]
    assert person["own-id"] != person["borrowed"]
    assert person["cyr"] == person["lat"] == person["icao"]
    assert person["dm-1"] == person["dm-2"]
    assert person["typo-1"] == person["typo-2"]

    # The model Spark trained is kept in a form the explanations (DuckDB) can use.
    explained = register.ok("person", "explain", "cases:cyr", "cases:lat")
    assert "the same person" in explained and "family_name" in explained
    shown = register.ok("person", "show", person["dm-1"])
    assert "birth_date" in shown


def test_a_trained_model_moves_between_engines_unchanged() -> None:
    config = ResolutionConfig()
    duck = model.settings(config).create_settings_dict("duckdb")
    for comparison in duck["comparisons"]:
        for i, level in enumerate(comparison["comparison_levels"]):
            level["m_probability"], level["u_probability"] = 0.5 + i / 100, 0.01 * (i + 1)
    spark = in_dialect(duck, config, "spark")
    text = str(spark)
    assert "jaro_winkler(" in text and "jaro_winkler_similarity" not in text
    assert "list_intersect" not in text and "ARRAY_INTERSECT" in text
    assert spark["comparisons"][0]["comparison_levels"][3]["m_probability"] == 0.53
    back = in_dialect(spark, config, "duckdb")
    assert [c["comparison_levels"] for c in back["comparisons"]] == \
        [c["comparison_levels"] for c in duck["comparisons"]]
    broken = dict(duck, comparisons=duck["comparisons"][:-1])
    with pytest.raises(MusterError, match="does not match"):
        in_dialect(broken, config, "spark")


def test_spark_settings_come_from_the_profile() -> None:
    default = load_profile("default")
    assert resolution_config(default).spark == SparkSettings()
    data = dict(default.data)
    data["resolution"] = dict(data["resolution"], spark={
        "master": "spark://spark-master:7077", "driver_memory": "4g",
        "shuffle_partitions": 64, "work_dir": "/shared/muster",
        "conf": {"spark.executor.memory": "8g", "spark.dynamicAllocation.enabled": True},
    })
    spark = resolution_config(dataclasses.replace(default, data=data)).spark
    assert spark.master == "spark://spark-master:7077"
    assert spark.shuffle_partitions == 64 and spark.work_dir == "/shared/muster"
    assert spark.conf == {"spark.executor.memory": "8g",
                          "spark.dynamicAllocation.enabled": "true"}
    data["resolution"] = dict(data["resolution"], spark={"mastr": "local[4]"})
    with pytest.raises(ConfigError, match="mastr"):
        resolution_config(dataclasses.replace(default, data=data))
    data["resolution"] = dict(data["resolution"], spark={"shuffle_partitions": 0})
    with pytest.raises(ConfigError, match="shuffle_partitions"):
        resolution_config(dataclasses.replace(default, data=data))


def test_without_java_17_the_spark_engine_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    with pytest.raises(MusterError, match="needs a Java runtime") as missing:
        require_java()
    assert "scripts/java.sh ensure" in (missing.value.hint or "")
    old = tmp_path / "java8"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "java").write_text(
        '#!/bin/sh\necho \'java version "1.8.0_392"\' >&2\n', encoding="utf-8")
    (old / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(old))
    with pytest.raises(MusterError, match=r"needs Java 17\+.*Java 8"):
        require_java()
