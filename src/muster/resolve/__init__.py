"""Resolution: link every accepted source record into persons, precisely and explained.

The pipeline (each step a module): load records -> deterministic identifier pairs,
guarded -> Splink scores what identifiers leave open -> constrained clustering ->
stable ids with merge/split events -> golden records with provenance -> one
transaction into the store. See docs/resolution.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from muster.errors import MusterError
from muster.profile import Profile
from muster.resolve.cluster import cluster_records
from muster.resolve.config import resolution_config
from muster.resolve.deterministic import identifier_pairs
from muster.resolve.golden import build_golden
from muster.resolve.identity import ID_PREFIX, assign_ids
from muster.resolve.outcomes import build_outcomes
from muster.resolve.probabilistic import model_json, score_duckdb
from muster.resolve.records import load_records
from muster.resolve.write import write_results
from muster.store import Store
from muster.store.bulk import BulkConnection, bulk_transaction

__all__ = ["ENGINES", "ResolveReport", "resolve"]

ENGINES = ("duckdb", "spark")


@dataclass(frozen=True)
class ResolveReport:
    run_id: int
    engine: str
    mode: str
    records: int
    persons: int
    links: int
    review: int
    collisions: int
    created: int
    merged: int
    split: int
    seconds: float


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _next_person_number(db: BulkConnection) -> int:
    last = db.scalar("SELECT max(person_id) FROM persons")
    return int(str(last).removeprefix(ID_PREFIX)) + 1 if last else 1


def resolve(store: Store, profile: Profile, engine: str = "duckdb",
            progress: Callable[[str], None] | None = None) -> ResolveReport:
    """Resolve every accepted record; existing person ids are kept where they still hold."""
    if engine not in ENGINES:
        raise MusterError(f"Unknown engine {engine!r}.", hint=f"Engines: {', '.join(ENGINES)}.")
    if engine == "spark":
        raise MusterError("The Spark engine is not available in this version yet.",
                          hint="Use the default engine: muster resolve --engine duckdb.")
    step = progress or (lambda _msg: None)
    config = resolution_config(profile)
    started = datetime.now(UTC)
    con = duckdb.connect()
    try:
        with bulk_transaction(store) as db:
            step("loading records")
            records = load_records(db, con)
            if records == 0:
                raise MusterError("There are no records to resolve.",
                                  hint="Ingest extracts first: muster ingest SOURCE FILE.")
            con.register("previous_arrow", db.fetch_arrow(
                "SELECT source, record_id, person_id FROM person_records"))
            con.execute("CREATE TABLE previous AS SELECT CAST(source AS VARCHAR) AS source, "
                        "CAST(record_id AS VARCHAR) AS record_id, "
                        "CAST(person_id AS VARCHAR) AS person_id FROM previous_arrow")
            step("linking on identifiers")
            identifier_pairs(con, config)
            step("scoring candidate pairs (Splink)")
            trained = score_duckdb(con, config)
            step("clustering")
            cluster_records(con, config)
            changes = assign_ids(con, _next_person_number(db))
            con.execute("CREATE TABLE members AS SELECT c.rid, a.person_id "
                        "FROM clusters c JOIN assigned a USING (cluster)")
            step("building golden records")
            build_golden(con, config)
            build_outcomes(con, config)
            step("writing")
            run_id = db.next_id("resolve_runs")
            write_results(db, con, run_id, changes)
            report = _report(con, run_id, engine, records, changes.events, started)
            last_batch = db.scalar("SELECT coalesce(max(id), 0) FROM batches")
            db.append("resolve_runs", pa.Table.from_pylist([{
                "id": run_id, "engine": engine, "mode": report.mode, "started_at": started,
                "finished_at": datetime.now(UTC), "last_batch": last_batch,
                "records": records, "persons": report.persons, "links": report.links,
                "review": report.review, "collisions": report.collisions,
                "model": model_json(trained),
            }]))
            db.commit()
    finally:
        con.close()
    return report


def _report(con: duckdb.DuckDBPyConnection, run_id: int, engine: str, records: int,
            events: list[dict[str, str]], started: datetime) -> ResolveReport:
    kinds = [e["kind"] for e in events]
    return ResolveReport(
        run_id=run_id, engine=engine, mode="full", records=records,
        persons=_count(con, "SELECT count(DISTINCT person_id) FROM members"),
        links=_count(con, "SELECT count(*) FROM edge_out WHERE outcome = 'linked'"),
        review=_count(con, "SELECT count(*) FROM review_out"),
        collisions=_count(con, "SELECT count(*) FROM review_out "
                               "WHERE kind = 'identifier_collision'"),
        created=_count(con, "SELECT count(*) FROM created"),
        merged=kinds.count("merged"),
        split=len({json.dumps(e["old_ids"]) for e in events if e["kind"] == "split"}),
        seconds=(datetime.now(UTC) - started).total_seconds(),
    )
