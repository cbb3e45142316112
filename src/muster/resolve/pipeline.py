"""The resolution pipeline: from the accepted source records to persons, in one run
(full or incremental) and one transaction. See the package's docstring for the steps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from muster.compute import duckdb_connection
from muster.errors import MusterError
from muster.profile import Profile
from muster.resolve import model
from muster.resolve.cluster import cluster_records
from muster.resolve.config import resolution_config
from muster.resolve.decisions import (
    add_decided_pairs,
    load_decisions,
    mark_applied,
    pending_count,
)
from muster.resolve.deterministic import (
    Placeholder,
    clear_placeholders,
    find_placeholders,
    identifier_pairs,
    mark_disputed,
)
from muster.resolve.golden import build_golden
from muster.resolve.identity import ID_PREFIX, assign_ids
from muster.resolve.incremental import count_written, load_scope
from muster.resolve.outcomes import add_review_persons, build_outcomes
from muster.resolve.pins import add_pin_pairs, load_pins
from muster.resolve.probabilistic import model_json, score_duckdb, training_alongside
from muster.resolve.records import MATCHING_COLUMNS, load_records
from muster.resolve.spark import check_spark, score_spark
from muster.resolve.write import write_results
from muster.store import Store
from muster.store.bulk import BulkConnection, bulk_transaction
from muster.store.locks import lock_register

__all__ = ["ENGINES", "ResolveReport", "resolve"]

ENGINES = ("duckdb", "spark")


# More new or changed records than this share of the register: a full run (which
# also retrains the model) costs little more than an incremental one.
FULL_RUN_SHARE = 0.25


@dataclass(frozen=True)
class ResolveReport:
    run_id: int | None  # None: nothing new since the last run, nothing written
    engine: str
    mode: str  # full | incremental | up to date
    records: int  # in the register
    decided: int  # records this run looked at again (all of them in a full run)
    new: int  # new or changed records since the previous run
    persons: int
    links: int
    review: int
    collisions: int
    created: int
    merged: int
    split: int
    seconds: float
    steps: tuple[tuple[str, float], ...] = ()  # each step and its seconds
    # values too many records share to be anyone's, left out of resolution
    placeholders: tuple[Placeholder, ...] = ()


# Linkage work that the writing and the golden records no longer read (they read
# records, members, assigned, created, edge_out and review_out). Dropped, they leave
# DuckDB's memory to the last steps instead of being pushed out to disk by them.
WORK_TABLES = ("scored", "id_pairs", "edges", "labels", "clusters", "previous",
               "overlap", "kept", "conflicted", "apart")


def _drop(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> None:
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _next_person_number(db: BulkConnection) -> int:
    last = db.scalar("SELECT max(person_id) FROM persons")
    return int(str(last).removeprefix(ID_PREFIX)) + 1 if last else 1


def _last_run(db: BulkConnection) -> dict[str, Any] | None:
    runs = db.fetch_arrow("SELECT * FROM resolve_runs WHERE id = "
                          "(SELECT max(id) FROM resolve_runs)").to_pylist()
    return runs[0] if runs else None


def resolve(store: Store, profile: Profile, engine: str = "duckdb",
            progress: Callable[[str], None] | None = None, full: bool = False) -> ResolveReport:
    """Resolve the register; existing person ids are kept where they still hold.

    After a first run, only new and changed records and their neighbourhood are
    re-decided (incremental), unless ``full`` or most of the register is new.
    """
    if engine not in ENGINES:
        raise MusterError(f"Unknown engine {engine!r}.", hint=f"Engines: {', '.join(ENGINES)}.")
    if engine == "spark":
        check_spark()  # no pyspark or Java: say so before any work
    timer = _StepTimer(progress)
    step = timer.step
    config = resolution_config(profile)
    started = datetime.now(UTC)
    con = duckdb_connection()
    try:
        with bulk_transaction(store) as db:
            lock_register(db)  # no ingest commits while this run reads and writes
            step("looking for new records")
            total = int(db.scalar("SELECT count(*) FROM source_records") or 0)
            if total == 0:
                raise MusterError("There are no records to resolve.",
                                  hint="Ingest extracts first: muster ingest SOURCE FILE.")
            last = None if full else _last_run(db)
            last_batch = int(last["last_batch"]) if last else 0
            written = count_written(db, last_batch) if last else total
            if last is not None and written == 0 and pending_count(db) == 0:
                return _up_to_date(last, total, started)
            stored: dict[str, Any] | None = (json.loads(last["model"])
                                                if last and last["model"] else None)
            # A model stored by another version, or without some comparisons (the
            # failed-EM defect of earlier versions), is trained again, in a full run.
            incremental = (stored is not None and written <= FULL_RUN_SHARE * total
                           and not model.outdated_comparisons(stored))
            if incremental:
                assert stored is not None
                step("loading new records and their neighbourhood")
                trained: dict[str, Any] = stored
                scope = load_scope(db, con, config, last_batch, trained)
                decided, new = scope.records, scope.new
            else:
                step("loading records")
                decided = load_records(db, con, config)
                new = _count(con, f"SELECT count(*) FROM records WHERE batch_id > {last_batch}")
                con.register("previous_arrow", db.fetch_arrow(
                    "SELECT source, record_id, person_id FROM person_records"))
                con.execute("CREATE TABLE previous AS SELECT CAST(source AS VARCHAR) AS source, "
                            "CAST(record_id AS VARCHAR) AS record_id, "
                            "CAST(person_id AS VARCHAR) AS person_id FROM previous_arrow")
                step("linking on identifiers")
                find_placeholders(con, config)
                clear_placeholders(con, config)
                with (training_alongside(con, config) if engine == "duckdb"
                      else nullcontext()) as training:
                    identifier_pairs(con, config)
                    mark_disputed(con, config)
                    load_pins(db, con)
                    add_pin_pairs(con)
                    load_decisions(db, con)
                    add_decided_pairs(con)
                    step("scoring candidate pairs (Splink)")
                    trained = (score_spark(con, config) if training is None
                               else score_duckdb(con, config, training))
            step("clustering")
            cluster_records(con, config)
            changes = assign_ids(con, _next_person_number(db))
            con.execute("CREATE TABLE members AS SELECT c.rid, c.cluster, a.person_id "
                        "FROM clusters c JOIN assigned a USING (cluster)")

            def decide_links() -> None:
                build_outcomes(con, config)
                _drop(con, WORK_TABLES)

            def golden() -> None:
                # What only matching read, and then what only the golden records read:
                # at a million persons DuckDB held 3.5 GB of tables here, 1.4 GB on disk.
                for column in MATCHING_COLUMNS:
                    con.execute(f"ALTER TABLE records DROP COLUMN {column}")
                build_golden(con, config)
                add_review_persons(con)
                _drop(con, ("records", "members"))

            step("deciding links")
            run_id = db.next_id("resolve_runs")
            linked = write_results(db, con, run_id, decided, changes, decide_links, golden,
                                   scoped=incremental, step=step)
            step("finishing")
            mark_applied(db, run_id)
            links = (int(last["links"]) if incremental and last else 0) + linked
            report = _report(db, con, run_id, "duckdb" if incremental else engine,
                             "incremental" if incremental else "full", total, decided, new,
                             links, changes.events)
            db.append("resolve_runs", pa.Table.from_pylist([{
                "id": run_id, "engine": report.engine, "mode": report.mode,
                "started_at": started, "finished_at": datetime.now(UTC),
                "last_batch": db.scalar("SELECT coalesce(max(id), 0) FROM batches"),
                "records": total, "persons": report.persons, "links": report.links,
                "review": report.review, "collisions": report.collisions,
                "model": model_json(trained),
            }]))
            db.commit()
    finally:
        con.close()
    # The run's time and its last step cover the commit, in which SQLite also copies
    # the write-ahead log into the database, and closing the connections: at a
    # million persons about 10 s, which the report used to leave out.
    return replace(report, steps=timer.done(),
                   seconds=(datetime.now(UTC) - started).total_seconds())


class _StepTimer:
    """Passes each step's name to the progress display and keeps how long it took."""

    def __init__(self, progress: Callable[[str], None] | None) -> None:
        self._progress = progress or (lambda _msg: None)
        self._steps: list[tuple[str, float]] = []
        self._current: tuple[str, float] | None = None

    def step(self, name: str) -> None:
        self.done()
        self._current = (name, time.perf_counter())
        self._progress(name)

    def done(self) -> tuple[tuple[str, float], ...]:
        if self._current is not None:
            name, began = self._current
            self._steps.append((name, round(time.perf_counter() - began, 1)))
            self._current = None
        return tuple(self._steps)


def _up_to_date(last: dict[str, Any], total: int, started: datetime) -> ResolveReport:
    return ResolveReport(
        run_id=None, engine=str(last["engine"]), mode="up to date", records=total, decided=0,
        new=0, persons=int(last["persons"]), links=int(last["links"]),
        review=int(last["review"]), collisions=int(last["collisions"]), created=0, merged=0,
        split=0, seconds=(datetime.now(UTC) - started).total_seconds(),
    )


def _report(db: BulkConnection, con: duckdb.DuckDBPyConnection, run_id: int, engine: str,
            mode: str, records: int, decided: int, new: int, links: int,
            events: list[dict[str, str]]) -> ResolveReport:
    """Counts over the whole register, as stored after this run's write. Its time and
    steps are the run's, set when the run ends (after the commit)."""
    kinds = [e["kind"] for e in events]
    return ResolveReport(
        run_id=run_id, engine=engine, mode=mode, records=records, decided=decided, new=new,
        persons=int(db.scalar("SELECT count(DISTINCT person_id) FROM person_records")),
        links=links,
        review=int(db.scalar("SELECT count(*) FROM review_pairs WHERE status = 'open'")),
        collisions=int(db.scalar("SELECT count(*) FROM review_pairs WHERE status = 'open' "
                                 "AND kind = 'identifier_collision'")),
        created=_count(con, "SELECT count(*) FROM created"),
        merged=kinds.count("merged"),
        split=len({json.dumps(e["old_ids"]) for e in events if e["kind"] == "split"}),
        seconds=0.0,
        placeholders=tuple(Placeholder(*row) for row in con.execute(
            "SELECT field, value, records, source FROM placeholders "
            "ORDER BY source NULLS FIRST, records DESC, field, value").fetchall()),
    )
