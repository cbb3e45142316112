"""The trained model depends on the records, not on how a run happens to number them.

Every run numbers the register in (source, record_id) order, so a batch of new
records renumbers most of the others. Splink samples the pairs it estimates u from
by a hash of the unique id: when that id was the run's number, a full run after a
small batch drew a different sample, trained a visibly different model, and
disagreed with the incremental run on pairs neither had reason to change."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest
from splink import DuckDBAPI, Linker

from conftest import Register
from muster.compute import duckdb_connection
from muster.errors import MusterError
from muster.resolve import model
from muster.resolve.config import ResolutionConfig
from muster.resolve.deterministic import (
    clear_placeholders,
    find_placeholders,
    identifier_pairs,
    mark_disputed,
)
from muster.resolve.probabilistic import (
    _train_on_sample,
    collect_scores,
    estimate_u_from_value_pairs,
    score_duckdb,
    training_alongside,
)
from muster.resolve.records import load_records
from muster.resolve.saved_model import COMPARISONS, prior_weight
from muster.store.bulk import bulk_transaction


def _parameters(trained: dict[str, Any]) -> list[tuple[str, str, float, float]]:
    return [(c["output_column_name"], level.get("label_for_charts", ""),
             level.get("m_probability", 0.0), level.get("u_probability", 0.0))
            for c in trained["comparisons"] for level in c["comparison_levels"]
            if not level.get("is_null_level")]


def _synthetic_records(register: Register, tmp_path: Path, persons: int,
                       config: ResolutionConfig) -> duckdb.DuckDBPyConnection:
    """A synthetic register of ``persons`` ingested, its records loaded into DuckDB as
    resolution loads them. Training happens in DuckDB whatever the store: SQLite only."""
    if register.database_url.startswith("postgresql"):
        pytest.skip("training happens in DuckDB whatever the store; SQLite covers it")
    extracts = tmp_path / "extracts"
    register.ok("synth", extracts, "--persons", str(persons), "--seed", "4")
    register.ok("sources", "add", extracts / "sources.toml")
    register.ok("ingest", "--all")
    con = duckdb_connection()
    with bulk_transaction(register.store()) as db:
        load_records(db, con, config)
    return con


def test_renumbering_the_records_trains_the_same_model(register: Register,
                                                       tmp_path: Path) -> None:
    # u from a sample of about 100 of the ~1,300 records: sampling is in play.
    config = dataclasses.replace(ResolutionConfig(), u_sample_pairs=5_000)
    con = _synthetic_records(register, tmp_path, 300, config)
    columns = ", ".join(model.MODEL_COLUMNS)
    models = []
    for shift in (0, 1_000):  # as if 1,000 records had been added before all of these
        con.execute(f"CREATE OR REPLACE TABLE model_input AS "
                    f"SELECT * REPLACE (rid + {shift} AS rid) FROM (SELECT {columns} FROM records)")
        models.append(_train_on_sample(con, config))
    first, second = (_parameters(m) for m in models)
    assert [p[:2] for p in first] == [p[:2] for p in second]
    for (name, level, m1, u1), (_, _, m2, u2) in zip(first, second, strict=True):
        assert u2 == pytest.approx(u1, rel=1e-9), f"{name} {level}: u {u1} then {u2}"
        assert m2 == pytest.approx(m1, rel=1e-6), f"{name} {level}: m {m1} then {m2}"
    assert models[0]["probability_two_random_records_match"] == pytest.approx(
        models[1]["probability_two_random_records_match"], rel=1e-9)


def test_no_level_outweighs_the_agreement_it_approximates(register: Register,
                                                          tmp_path: Path) -> None:
    """Swapped names or a patronymic one letter off are rare among chance pairs, so
    training alone weighs them above the same names in place; a swapped namesake then
    outweighed a person's own records."""
    config = ResolutionConfig()
    con = _synthetic_records(register, tmp_path, 2000, config)
    con.execute(f"CREATE TABLE model_input AS SELECT {', '.join(model.MODEL_COLUMNS)} "
                "FROM records")
    trained = _train_on_sample(con, config)
    weights = {}
    for name, level, m, u in _parameters(trained):
        # a level no chance pair reached has no u: Splink weighs it by a default
        weights.setdefault(name, []).append((level, m / u if u else math.inf))
    for name, levels in weights.items():
        (_, agreement), *others = levels
        for level, weight in others:
            assert weight <= agreement * (1 + 1e-9), f"{name}: {level}"
    swap = "family and given names swapped"
    family, given = dict(weights["family_name"]), dict(weights["given_name"])
    assert (family[swap] * given[swap] <= family["Exact match on family_key"]
            * given["Exact match on given_key"] * (1 + 1e-9))


def test_a_register_without_middle_names_trains_every_comparison(register: Register,
                                                                 tmp_path: Path) -> None:
    """Where a blocking pairs no records (here: no middle names), Splink's failed EM
    session had already taken its comparisons out of the model and set its own prior:
    the model kept region, sex and address, and a prior near 1."""
    config = ResolutionConfig()
    con = _synthetic_records(register, tmp_path, 300, config)
    columns = ", ".join(model.MODEL_COLUMNS)
    con.execute(f"CREATE TABLE model_input AS SELECT {columns} FROM records")
    with_middle = _train_on_sample(con, config)
    con.execute(f"CREATE OR REPLACE TABLE model_input AS SELECT * REPLACE "
                f"(NULL AS middle_key) FROM (SELECT {columns} FROM records)")
    trained = _train_on_sample(con, config)

    assert (trained["probability_two_random_records_match"]
            == with_middle["probability_two_random_records_match"])
    names = [c["output_column_name"] for c in trained["comparisons"]]
    assert names == list(COMPARISONS)
    by_name = {c["output_column_name"]: c["comparison_levels"] for c in trained["comparisons"]}
    for name in ("family_name", "given_name", "birth_date"):
        exact = by_name[name][1]  # the first level after the null level
        assert isinstance(exact.get("m_probability"), float), name
        assert exact["m_probability"] / exact["u_probability"] > 2**5, name

    # What the old training returned is refused, not resolved with.
    lost = copy.deepcopy(trained)
    lost["comparisons"] = [c for c in lost["comparisons"]
                           if c["output_column_name"] != "birth_date"]
    with pytest.raises(MusterError, match=re.escape("without the comparison(s) birth_date")):
        model._check_complete(lost)


@pytest.mark.parametrize("u_sample_pairs", [2e6, 20_000], ids=["every-record", "sampled"])
def test_u_counted_by_values_is_splinks_u(register: Register, tmp_path: Path,
                                          u_sample_pairs: float) -> None:
    """A full run counts u's pairs of sampled records by their distinct values, not one
    by one as Splink does; the model must not notice, whether the sample is every
    record (300 persons against two million pairs) or Splink's hashed sample of them."""
    config = dataclasses.replace(ResolutionConfig(), u_sample_pairs=u_sample_pairs)
    con = _synthetic_records(register, tmp_path, 300, config)
    con.execute(f"CREATE TABLE model_train AS SELECT {', '.join(model.MODEL_COLUMNS)} "
                "FROM records")
    models = []
    for by_values in (False, True):
        api = DuckDBAPI(connection=con)
        linker = Linker(api.register("model_train"), model.settings(config), log_level=None)
        estimate = (partial(estimate_u_from_value_pairs, con, api, "model_train")
                    if by_values else None)
        models.append(model.train(linker, config, estimate_u=estimate))
    by_splink, by_values_ = (_parameters(m) for m in models)
    assert [p[:2] for p in by_splink] == [p[:2] for p in by_values_]
    # Every comparison's u was estimated (a rarer level may have no chance pair here).
    assert {name for name, _, _, u in by_splink if u} == set(COMPARISONS)
    for (name, level, m1, u1), (_, _, m2, u2) in zip(by_splink, by_values_, strict=True):
        assert u2 == pytest.approx(u1, rel=1e-12), f"{name} {level}: u {u1} then {u2}"
        assert m2 == pytest.approx(m1, rel=1e-9), f"{name} {level}: m {m1} then {m2}"


def test_a_training_sample_of_one_record_is_a_clear_error(register: Register,
                                                          tmp_path: Path) -> None:
    # resolution.train_records = 1 failed the run with "ZeroDivisionError: float
    # division by zero" inside Splink's estimate of the prior.
    config = dataclasses.replace(ResolutionConfig(), train_records=1)
    con = _synthetic_records(register, tmp_path, 100, config)
    con.execute(f"CREATE TABLE model_input AS SELECT {', '.join(model.MODEL_COLUMNS)} "
                "FROM records")
    with pytest.raises(MusterError, match="Too few records agree") as error:
        _train_on_sample(con, config)
    assert "resolution.train_records" in (error.value.hint or "")


def test_a_register_trained_on_a_sample_is_scored_with_its_own_name_frequencies(
        register: Register, tmp_path: Path) -> None:
    """A register larger than ``train_records`` trains on a sample of its records but
    scores every pair with the whole register's name frequencies, as an incremental
    run scores new records. Splink kept the sample's frequencies and scored with them:
    a name missing from the sample lost the weight its rarity earns, and a full and an
    incremental run weighed the same pair differently."""
    config = dataclasses.replace(ResolutionConfig(), train_records=300)
    con = _synthetic_records(register, tmp_path, 300, config)
    assert con.execute("SELECT count(*) FROM records").fetchall()[0][0] > 1000
    trained = score_duckdb(con, config)
    family = next(c for c in trained["comparisons"] if c["output_column_name"] == "family_name")
    exact = family["comparison_levels"][1]
    assert exact["tf_adjustment_column"] == "family_key"
    # An exact match weighs log2(m / u) and is adjusted by log2(u / tf): log2(m / tf).
    pairs = con.execute("""
        SELECT CAST(json_extract(s.contributions, '$[0][1]') AS DOUBLE),
               n.records / t.named
        FROM scored s JOIN records l ON l.rid = s.rid_l JOIN records r ON r.rid = s.rid_r
        JOIN (SELECT family_key, count(*) AS records FROM records
              WHERE family_key IS NOT NULL GROUP BY family_key) n ON n.family_key = l.family_key
        CROSS JOIN (SELECT count(family_key) AS named FROM records) t
        WHERE l.family_key = r.family_key
    """).fetchall()
    assert len(pairs) > 100
    for weight, frequency in pairs:
        assert weight == pytest.approx(math.log2(exact["m_probability"] / frequency), abs=0.006)


def test_scoring_in_one_query_keeps_what_splinks_predict_gives(register: Register,
                                                               tmp_path: Path) -> None:
    """A full run scores through the query Splink's ``predict`` runs, rebuilt from
    Splink's internals, instead of the table ``predict`` creates. A Splink whose query
    differs must fail here, not change the register: the same pairs, weights,
    contributions, conflicts and names-alone flags as ``predict`` itself."""
    config = ResolutionConfig()
    con = _synthetic_records(register, tmp_path, 300, config)
    trained = score_duckdb(con, config)
    con.execute("ALTER TABLE scored RENAME TO scored_in_one_query")
    con.execute(f"CREATE VIEW model_input AS SELECT {', '.join(model.MODEL_COLUMNS)} "
                "FROM records")
    linker = Linker(DuckDBAPI(connection=con).register("model_input"), trained,
                    log_level=None)
    prior = prior_weight(trained)
    predictions = linker.inference.predict(
        threshold_match_weight=config.review_weight + prior, warning_mode="never")
    collect_scores(con, predictions.physical_name, config, prior)
    counts = con.execute("""
        SELECT (SELECT count(*) FROM scored),
               (SELECT count(*) FROM scored WHERE conflict IS NOT NULL),
               (SELECT count(*) FROM (SELECT * FROM scored
                                      EXCEPT ALL SELECT * FROM scored_in_one_query)),
               (SELECT count(*) FROM (SELECT * FROM scored_in_one_query
                                      EXCEPT ALL SELECT * FROM scored))
    """).fetchall()[0]
    pairs, conflicted, only_predict, only_one_query = counts
    assert pairs > 1000 and conflicted > 0
    assert (only_predict, only_one_query) == (0, 0)


def test_a_model_trained_alongside_the_identifier_pass_scores_as_one_trained_after_it(
        register: Register, tmp_path: Path) -> None:
    """A full run trains the model in a second thread while the identifier pass runs
    and the candidate pairs are blocked. The pass changes the records the model reads
    from (placeholder identifiers cleared, disputed identifiers marked): training must
    see them as a run that trains after the pass does, and score the same pairs the
    same. A tenth of the records carry a placeholder national id, which training must
    not take for the same person's number."""
    config = ResolutionConfig()
    placeholder = "UPDATE records SET national_id = '0000000000' WHERE rid % 10 = 0"
    after = _synthetic_records(register, tmp_path, 300, config)
    after.execute(placeholder)
    find_placeholders(after, config)
    clear_placeholders(after, config)
    identifier_pairs(after, config)
    mark_disputed(after, config)
    trained_after = score_duckdb(after, config)
    with bulk_transaction(register.store()) as db:
        alongside = duckdb_connection()
        load_records(db, alongside, config)
    alongside.execute(placeholder)
    find_placeholders(alongside, config)
    clear_placeholders(alongside, config)
    with training_alongside(alongside, config) as training:
        identifier_pairs(alongside, config)
        mark_disputed(alongside, config)
        trained_alongside = score_duckdb(alongside, config, training)
    for (name, label, m, u), (name_b, label_b, m_b, u_b) in zip(
            _parameters(trained_after), _parameters(trained_alongside), strict=True):
        assert (name, label) == (name_b, label_b)
        assert m == pytest.approx(m_b, rel=1e-9) and u == pytest.approx(u_b, rel=1e-9)
    alongside.register("scored_after", after.sql("SELECT * FROM scored").to_arrow_table())
    pairs, only_after, only_alongside = alongside.execute("""
        SELECT (SELECT count(*) FROM scored),
               (SELECT count(*) FROM (SELECT * FROM scored_after EXCEPT ALL
                                      SELECT * FROM scored)),
               (SELECT count(*) FROM (SELECT * FROM scored EXCEPT ALL
                                      SELECT * FROM scored_after))
    """).fetchall()[0]
    assert pairs > 1000
    assert (only_after, only_alongside) == (0, 0)
