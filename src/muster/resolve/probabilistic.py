"""The probabilistic pass: Splink scores candidate pairs the identifiers did not settle.

The result is DuckDB table ``scored(rid_l, rid_r, match_weight, contributions,
conflict, alone)`` holding every pair at or above the review weight (``alone``:
nothing but the names agrees, rules.names_alone); ``contributions`` is
Splink's waterfall for the pair ([level, weight] per comparison, a JSON array read by
``saved_model.contributions_by_name``), kept as the explanation of the link.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import partial
from typing import Any

import duckdb
from splink import DuckDBAPI, Linker
from splink.internals.comparison_vector_values import (
    compute_comparison_vector_values_from_id_pairs_sqls,
)
from splink.internals.dialects import DuckDBDialect
from splink.internals.input_column import InputColumn
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.splink_dataframe import SplinkDataFrame
from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

from muster.resolve import model
from muster.resolve.config import ResolutionConfig
from muster.resolve.rules import conflict_sql, names_alone
from muster.resolve.saved_model import COMPARISONS, prior_weight


def score_duckdb(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
                 trained: dict[str, Any] | Future[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """Train (unless a trained model is given, or is being trained: training_alongside)
    and score; returns the model as a dict."""
    _create_model_input(con)
    # An API of its own: Splink caches its tables per API, and scoring with the
    # training's would take the term frequencies of the training sample, not the
    # register's (which incremental runs score with).
    api = DuckDBAPI(connection=con)
    # The candidate pairs follow from the blocking rules alone: blocked while the
    # model trains, when it trains alongside.
    blocked = model.linker(api.register("model_input"), model.settings(config)
                           ).inference.compute_blocked_pairs_for_predict()
    if trained is None:
        trained = _train_on_sample(con, config)
    elif isinstance(trained, Future):
        trained = trained.result()
    linker = model.linker(api.register("model_input"), trained)
    saved: dict[str, Any] = linker.misc.save_model_to_json()
    prior = prior_weight(saved)
    _score_in_one_query(con, linker, blocked, config, prior)
    _drop_splink_tables(con, api)
    con.execute("DROP VIEW model_input")
    return saved


@contextmanager
def training_alongside(con: duckdb.DuckDBPyConnection, config: ResolutionConfig
                       ) -> Iterator[Future[dict[str, Any]]]:
    """Train on a sample of the records as they are now, in a second thread, while the
    block runs; the model comes with the future (for score_duckdb).

    The sample is copied here, so the block can go on with the identifier pass, which
    changes ``records`` but none of the model's columns. Training keeps about 1.5 of
    the two cores busy (EM iterates in Python between its queries); the identifier
    pass and the blocking of candidate pairs take the rest. Should the block fail (or
    be interrupted), the training is stopped, not waited for: at a million persons it
    runs for half a minute."""
    _create_model_input(con)
    _copy_training_sample(con, config)
    # The training thread's own connection to the same database.
    with con.cursor() as cursor, ThreadPoolExecutor(max_workers=1) as pool:
        training = pool.submit(_train, cursor, config)
        try:
            yield training
        except BaseException:
            # DuckDB stops the query running at the time, if any: between two of EM's
            # queries there is none, so ask until the training has stopped.
            while not training.done():
                cursor.interrupt()
                wait([training], timeout=0.05)
            raise


def _create_model_input(con: duckdb.DuckDBPyConnection) -> None:
    # A view: a copy of these columns was 4.3 million rows that DuckDB held, and
    # spilled, while Splink scored at a million persons.
    columns = ", ".join(model.MODEL_COLUMNS)
    con.execute(f"CREATE OR REPLACE VIEW model_input AS SELECT {columns} FROM records")


def _drop_splink_tables(con: duckdb.DuckDBPyConnection, api: DuckDBAPI, *inputs: str) -> None:
    """Free what Splink kept (predictions with every intermediate column, blocked
    pairs, comparison vectors) and its inputs: at 4.5M records that is several GB,
    which the later steps would otherwise push out to disk and read back."""
    api.delete_tables_created_by_splink_from_db()  # type: ignore[no-untyped-call]
    for table in inputs:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _train_on_sample(con: duckdb.DuckDBPyConnection, config: ResolutionConfig
                     ) -> dict[str, Any]:
    """Train on at most ``config.train_records`` records, a fixed sample of them.

    The pairs EM reads grow with the square of the records: on 4.5M records they
    took most of a run. A uniform sample of records keeps every kind of pair in its
    proportion, so m and u come out the same within sampling error, and the prior is
    estimated on the same sample the weights are. Smaller registers train on all.
    What training leaves (the pairs of each EM session, their comparisons) is dropped.
    """
    _copy_training_sample(con, config)
    return _train(con, config)


def _copy_training_sample(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> None:
    con.execute(f"CREATE OR REPLACE TABLE model_train AS {training_records_sql(con, config)}")


def _train(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> dict[str, Any]:
    """Train on ``model_train`` (_train_on_sample), and drop it."""
    api = DuckDBAPI(connection=con)
    linker = model.linker(api.register("model_train"), model.settings(config))
    trained = model.train(linker, config,
                          estimate_u=partial(estimate_u_from_value_pairs, con, api, "model_train"))
    _drop_splink_tables(con, api, "model_train")
    return trained


def estimate_u_from_value_pairs(con: duckdb.DuckDBPyConnection, api: DuckDBAPI, table: str,
                                linker: Any, config: ResolutionConfig) -> Linker:
    """u of every comparison, counted over the pairs of distinct values; returns a linker
    of ``table`` with the model of ``linker`` and those u.

    Splink estimates u on a sample of some 2,000 records, comparing every pair of them:
    two million pairs, and string similarities on most. A comparison reads one or two
    columns, and the sample holds far fewer distinct values of them than records (184
    patronymics among 1,962 records at 100,000 persons). Comparing each pair of distinct
    values once, weighted by how many pairs of records hold it, counts exactly the pairs
    Splink counts, on the sample Splink draws: u comes out the same, bit for bit
    (tests/test_resolve_training.py). At 100,000 persons it took 1.8 s where Splink
    took 3.2-3.4 s (its comparisons split over two threads, as here), and at 2,000
    persons 0.8 s instead of 4.2 s: half of a small register's resolution. Every
    comparison of the model is symmetric, so each unordered pair of values is compared
    once.

    The name comparisons read both names, for their swap level alone: counted on
    the pairs of distinct family and given names together they took 1.4-1.8 s of the
    1.8 s. Each is now counted on its own name, and the few pairs of swapped names
    are moved to the swap level afterwards (_count_swapped): 0.7 s in all.
    """
    trained: dict[str, Any] = copy.deepcopy(linker.misc.save_model_to_json())
    total = _count(con, table)
    # Splink's sample: the records a deterministic hash of the id keeps (estimate_u.py).
    wanted = 0.5 * ((8 * config.u_sample_pairs + 1) ** 0.5 + 1)  # records of that many pairs
    rid = InputColumn("rid", sqlglot_dialect_str="duckdb")
    sample = DuckDBDialect().proportion_sample_sql(  # type: ignore[no-untyped-call]
        wanted / max(total, 1), [rid], seed=model.U_SEED)
    con.execute(f"CREATE OR REPLACE TABLE u_sample AS SELECT * FROM {table} WHERE 1=1 {sample}")
    comparisons = trained["comparisons"]
    # Each comparison by the columns its levels read, the swap level aside: at
    # 100,000 persons the sample's 475 family names make 113,000 pairs of values, and
    # its 1,780 pairs of family and given name 1.6 million.
    by_columns: dict[tuple[str, ...], list[int]] = {}
    for k, comparison in enumerate(comparisons):
        conditions = " ".join(lv["sql_condition"] for lv in comparison["comparison_levels"]
                              if lv["sql_condition"] != model.SWAP_CONDITION)
        by_columns.setdefault(_columns_read(conditions), []).append(k)
    pairs: list[list[int]] = [[] for _ in comparisons]

    def count(group: tuple[tuple[str, ...], list[int]]) -> None:
        used, members = group
        with con.cursor() as cursor:  # this thread's own connection to the same database
            counted = _level_pairs(cursor, used, [comparisons[k] for k in members])
        for k, level_pairs in zip(members, counted, strict=True):
            pairs[k] = level_pairs

    # DuckDB joins a table this small on one thread: two groups at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(count, by_columns.items()))
    _count_swapped(con, comparisons, pairs)
    for comparison, level_pairs in zip(comparisons, pairs, strict=True):
        _set_u(comparison["comparison_levels"], level_pairs)
    con.execute("DROP TABLE u_sample")
    return model.linker(api.register(table), trained)


def _columns_read(sql: str) -> tuple[str, ...]:
    return tuple(c for c in model.MODEL_COLUMNS if re.search(rf"\b{c}_[lr]\b", sql))


def _level_pairs(con: duckdb.DuckDBPyConnection, used: tuple[str, ...],
                 comparisons: list[dict[str, Any]], join: str = "true") -> list[list[int]]:
    """For each of ``comparisons`` (of a saved model), the pairs of ``u_sample``'s
    records at each of its levels, counted over the pairs of distinct values of the
    columns ``used``: all of them, or those the condition ``join`` (on ``l`` and
    ``r``) keeps. The swap level is counted as never met (_count_swapped)."""
    columns = ", ".join(used)
    values = (f"SELECT {columns}, count(*) AS n, row_number() OVER () AS g "
              f"FROM u_sample GROUP BY ALL")
    sides = ", ".join(f"{s}.{c} AS {c}_{s}" for s in "lr" for c in used)
    cases = [f"CASE {' '.join(_when(i, lv) for i, lv in enumerate(c['comparison_levels']))} "
             f"END AS level_{k}" for k, c in enumerate(comparisons)]
    counts = con.execute(f"""
        WITH v AS ({values})
        SELECT {', '.join(cases)},
               sum(CASE WHEN g_l = g_r THEN n_l * (n_l - 1) // 2 ELSE n_l * n_r END) AS pairs
        FROM (SELECT {sides}, l.n AS n_l, r.n AS n_r, l.g AS g_l, r.g AS g_r
              FROM v l JOIN v r ON l.g <= r.g AND {join})
        GROUP BY ALL""").fetchall()
    result = []
    for k, comparison in enumerate(comparisons):
        level_pairs = [0] * len(comparison["comparison_levels"])
        for row in counts:
            level_pairs[row[k]] += row[-1]
        result.append(level_pairs)
    return result


def _count_swapped(con: duckdb.DuckDBPyConnection, comparisons: list[dict[str, Any]],
                   pairs: list[list[int]]) -> None:
    """Move into the swap level the pairs that reach it: those whose names are
    swapped and that no level before it takes. Counted without it (_level_pairs),
    each fell to the level after it that it meets, which this finds again."""
    swaps = {k: i for k, c in enumerate(comparisons)
             for i, lv in enumerate(c["comparison_levels"])
             if lv["sql_condition"] == model.SWAP_CONDITION}
    if not swaps:
        return
    family, given = model.SWAPPED_NAMES
    conditions = " ".join(lv["sql_condition"] for k in swaps
                          for lv in comparisons[k]["comparison_levels"])
    moved = _level_pairs(con, _columns_read(conditions), [comparisons[k] for k in swaps],
                         join=f"l.{family} = r.{given} AND l.{given} = r.{family}")
    for (k, swap), level_pairs in zip(swaps.items(), moved, strict=True):
        for level, n in enumerate(level_pairs):
            if level > swap:
                pairs[k][level] -= n
                pairs[k][swap] += n


def _set_u(levels: list[dict[str, Any]], pairs: list[int]) -> None:
    """Set the u of a comparison's ``levels`` from the random pairs at each."""
    chance = sum(n for n, level in zip(pairs, levels, strict=True)
                 if not level.get("is_null_level"))
    for n, level in zip(pairs, levels, strict=True):
        level.pop("u_probability", None)
        if n and not level.get("is_null_level"):  # Splink: "level not observed"
            level["u_probability"] = n / chance


def _when(index: int, level: dict[str, Any]) -> str:
    condition = level["sql_condition"]
    if condition == model.SWAP_CONDITION:
        condition = "false"  # _count_swapped
    return f"ELSE {index}" if condition == "ELSE" else f"WHEN {condition} THEN {index}"


def training_records_sql(con: duckdb.DuckDBPyConnection, config: ResolutionConfig) -> str:
    """The records of ``model_input`` the model trains on, each under an id of its own.

    Splink samples the pairs it estimates u from by a hash of the unique id. ``rid``
    numbers the register in (source, record_id) order, so a batch of new records
    renumbers most of the rest, and the sample, and the rarer levels' u, moved with
    it: two full runs a batch of 10,000 apart gave the middle name's near level
    weights 0.7 bits apart, and 0.15% of the linked pairs differed. An id hashed from
    the record's own key keeps the sample (and the sample of records when the
    register is large) the same but for the records the batch added.
    """
    total = int(con.execute("SELECT count(*) FROM model_input").fetchall()[0][0])
    key = "hash(source || ':' || record_id)"
    sample = ""
    if total > config.train_records:
        keep = config.train_records / total
        sample = f"WHERE {key} % 1000000 < {int(keep * 1e6)}"
    # Shifted to fit a signed BIGINT; two records of one training set sharing an id
    # (about 1 in 10 million at a million records) would only drop their own pair.
    return (f"SELECT CAST({key} >> 1 AS BIGINT) AS rid, * EXCLUDE (rid) "
            f"FROM model_input {sample}")


def score_new(con: duckdb.DuckDBPyConnection, config: ResolutionConfig,
              trained: dict[str, Any], tf_tables: dict[str, str]) -> None:
    """Score new records (DuckDB table ``delta(rid)``) against the rest of ``records``
    and among themselves with an already trained model; creates ``scored``.

    Term frequencies come from ``tf_tables`` (column -> table), computed over the
    whole register, so a pair scores as it would in a full run with the same model.
    """
    columns = ", ".join(model.MODEL_COLUMNS)
    con.execute(f"CREATE OR REPLACE TABLE model_new AS SELECT {columns} FROM records "
                "WHERE rid IN (SELECT rid FROM delta)")
    con.execute(f"CREATE OR REPLACE TABLE model_existing AS SELECT {columns} FROM records "
                "WHERE rid NOT IN (SELECT rid FROM delta)")
    api = DuckDBAPI(connection=con)
    new, existing = api.register("model_new"), api.register("model_existing")
    # The pairs this version's blocking rules make (incremental._candidates loaded
    # their records), whichever version trained the stored model: a rule added since
    # then pairs the new records it was added for.
    rules = model.settings(config).create_settings_dict("duckdb")[
        "blocking_rules_to_generate_predictions"]
    linker = model.linker(new, {**trained, "blocking_rules_to_generate_predictions": rules})
    prior = prior_weight(trained)
    for column, table in tf_tables.items():
        linker.table_management.register_term_frequency_lookup(api.register(table), column)
    within = linker.inference.predict_within(
        new, threshold_match_weight=config.review_weight + prior, warning_mode="never")
    parts = [f"SELECT * FROM {within.physical_name}"]
    if _count(con, "model_existing"):
        between = linker.inference.predict_between(
            existing, new, threshold_match_weight=config.review_weight + prior,
            warning_mode="never")
        # Stored pairs are oriented rid_l < rid_r; every comparison is symmetric.
        parts.append(f"SELECT * REPLACE (least(rid_l, rid_r) AS rid_l, "
                     f"greatest(rid_l, rid_r) AS rid_r) FROM {between.physical_name}")
    con.execute("CREATE OR REPLACE TABLE new_predictions AS "
                + " UNION ALL BY NAME ".join(parts))
    collect_scores(con, "new_predictions", config, prior)
    _drop_splink_tables(con, api, "new_predictions", "model_new", "model_existing")


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _score_in_one_query(con: duckdb.DuckDBPyConnection, linker: Linker,
                        blocked: SplinkDataFrame, config: ResolutionConfig,
                        prior: float) -> None:
    """``scored`` straight from the query ``linker.inference.predict`` runs on the
    ``blocked`` pairs, built here from the same Splink functions in the same order
    (its ``_predict_chunk``).

    ``predict`` stores every pair above the threshold with each comparison's columns,
    levels and weights, and ``collect_scores`` read a few of them back: at 1,000,000
    persons that table was 9.6 million wide rows, written, spilled and read again.
    Reading the query instead took the Splink step from 54 s to 39 s (CPU 104 s to
    74 s), with the same links to the last digit (tests/test_resolve_training.py).
    """
    settings = linker._settings_obj
    pipeline = CTEPipeline([blocked])
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(compute_comparison_vector_values_from_id_pairs_sqls(
        settings._columns_to_select_for_blocking,
        settings._columns_to_select_for_comparison_vector_values,
        input_tablename_l="__splink__df_concat_with_tf",
        input_tablename_r="__splink__df_concat_with_tf",
        source_dataset_input_column=settings.column_info_settings.source_dataset_input_column,
        unique_id_input_column=settings.column_info_settings.unique_id_input_column,
        link_type=settings._link_type,
        sql_dialect_str=linker._sql_dialect_str,
    ))
    pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(
        settings, threshold_match_weight=config.review_weight + prior))
    collect_scores(con, f"({pipeline.generate_cte_pipeline_sql()})", config, prior)


def collect_scores(con: duckdb.DuckDBPyConnection, predictions: str,
                   config: ResolutionConfig, prior: float) -> None:
    """From Splink's ``predictions`` (a table, or its query in parentheses), keep each
    pair's weight (the evidence: Splink's weight without the ``prior``), its
    per-comparison contributions and any conflict.

    Weights are rounded to 6 decimals: parallel sums differ in their last bits from
    run to run, and clustering orders and compares weights, so unrounded the same
    data could give a different review list (or tie order) on every run."""
    parts = []
    cols = {c[0] for c in con.execute(f"DESCRIBE {predictions}").fetchall()}
    for name in COMPARISONS:  # read back by saved_model.contributions_by_name
        if f"gamma_{name}" not in cols:  # Splink drops a comparison it has no data for
            parts.append("'null'")
            continue
        weight = f"p.mw_{name}"
        if f"mw_tf_adj_{name}" in cols:
            weight = f"({weight} + coalesce(p.mw_tf_adj_{name}, 0))"
        parts.append(f"'[', p.gamma_{name}, ',', {_json_hundredths(weight)}, ']'")
    con.execute(f"""
        CREATE OR REPLACE TABLE scored AS
        SELECT p.rid_l, p.rid_r, round(p.match_weight - {prior}, 6) AS match_weight,
               concat('[', {", ',', ".join(parts)}, ']') AS contributions,
               {conflict_sql(config)} AS conflict, {names_alone()} AS alone
        FROM {predictions} p
        JOIN records l ON l.rid = p.rid_l JOIN records r ON r.rid = p.rid_r
    """)


def _json_hundredths(number: str) -> str:
    """A JSON number of ``number`` rounded to hundredths ("7.26", "-0.50").

    Written through a decimal: DuckDB's shortest text of a double (json_array's, or
    a cast's) made the contributions of 9.6 million pairs at 1,000,000 persons cost
    7.9-8.2 s, the decimal's 5.4-6.0 s. A weight that is no finite number keeps the
    text json_array gave it (Infinity, NaN, null), which Python's json reads."""
    rounded = f"round({number}, 2)"
    return (f"coalesce(CASE WHEN isfinite({rounded}) THEN "
            f"CAST(CAST({rounded} AS DECIMAL(18, 2)) AS VARCHAR) END, "
            f"CAST(to_json({rounded}) AS VARCHAR), 'null')")


def model_json(trained: dict[str, Any]) -> str:
    return json.dumps(trained, ensure_ascii=False)
