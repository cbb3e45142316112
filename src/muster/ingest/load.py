"""Write one normalised batch into the store, all or nothing.

A record_id already in the register with the same content is unchanged (nothing
written); with different content it is an update: the earlier version moves to
record_versions, so history is kept. Records absent from a later batch stay:
extracts are often partial, and absence is not evidence of anything.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from muster.ingest.declaration import SourceDeclaration
from muster.ingest.normalise import Normalised
from muster.store import Store
from muster.store.bulk import BulkConnection, bulk_transaction
from muster.store.locks import lock_register

# Fault-injection point for the atomicity tests: pause (seconds) just before commit,
# so a test can kill a real ingest process with its writes still uncommitted.
PAUSE_ENV = "MUSTER_INGEST_PAUSE_BEFORE_COMMIT"


@dataclass(frozen=True)
class FileInfo:
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Changes:
    new: int
    updated: int
    unchanged: int
    flagged: int


def _split_changes(existing: pa.Table, records: pa.Table) -> tuple[pa.Table, pa.Table, Changes]:
    """(rows to write with first_batch_id, ids of changed records, counts) in DuckDB."""
    # SQLite reports no column types for an empty result: state them.
    existing = existing.cast(pa.schema([("record_id", pa.string()), ("row_hash", pa.string()),
                                        ("first_batch_id", pa.int64())]))
    if existing.num_rows == 0:  # the source's first batch: every record is new, no copy
        first = pa.nulls(records.num_rows, pa.int64())
        flagged = int(pc.sum(pc.greater(records.column("flags"), 0)).as_py() or 0)
        changed = pa.table({"record_id": pa.array([], pa.string())})
        return (records.append_column("_previous_first", first), changed,
                Changes(records.num_rows, 0, 0, flagged))
    con = duckdb.connect()
    con.register("existing", existing)
    con.register("incoming", records)
    to_write = con.sql("""
        SELECT i.*, e.first_batch_id AS _previous_first
        FROM incoming i LEFT JOIN existing e USING (record_id)
        WHERE e.record_id IS NULL OR e.row_hash <> i.row_hash
    """).to_arrow_table()
    counts = con.execute("""
        SELECT count(*) FILTER (WHERE e.record_id IS NULL),
               count(*) FILTER (WHERE e.row_hash <> i.row_hash),
               count(*) FILTER (WHERE e.row_hash = i.row_hash),
               count(*) FILTER (WHERE i.flags > 0)
        FROM incoming i LEFT JOIN existing e USING (record_id)
    """).fetchone()
    con.close()
    changed = to_write.filter(pc.is_valid(to_write.column("_previous_first"))).select(["record_id"])
    assert counts is not None
    return to_write, changed, Changes(*(int(c) for c in counts))


def write_batch(
    store: Store,
    decl: SourceDeclaration,
    normalised: Normalised,
    file: FileInfo,
    archive_dir: Path | None,
    started_at: datetime,
) -> tuple[int, Changes]:
    """Write everything in one transaction; returns (batch id, change counts)."""
    with bulk_transaction(store) as db:
        lock_register(db)
        existing = db.fetch_arrow(
            "SELECT record_id, row_hash, first_batch_id FROM source_records WHERE source = ?",
            (decl.name,),
        )
        to_write, changed, changes = _split_changes(existing, normalised.records)
        batch_id = db.next_id("batches")
        archived = _archive(file, decl.name, batch_id, archive_dir)
        try:
            _retire_changed(db, decl.name, changed, batch_id)
            _append_records(db, decl.name, batch_id, to_write)
            everything = to_write.num_rows == normalised.records.num_rows
            _append_flags(db, decl.name, normalised.flags, to_write, everything)
            _append_quarantine(db, decl.name, batch_id, file, normalised.quarantine)
            final = _final_name(archived) if archived else None
            _append_batch(db, decl, batch_id, file, final, started_at, normalised, changes)
            _upsert_source(db, decl)
            if pause := os.environ.get(PAUSE_ENV):
                time.sleep(float(pause))
            db.commit()
            if archived is not None and final is not None:
                archived.replace(final)
        except BaseException:
            if archived is not None:
                archived.unlink(missing_ok=True)
            raise
    return batch_id, changes


def _archive(file: FileInfo, source: str, batch_id: int, archive_dir: Path | None) -> Path | None:
    """Copy the extract as received (hard link where possible) under a .partial name;
    it takes its final name only after the batch commits."""
    if archive_dir is None:
        return None
    folder = archive_dir / source
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.partial"):  # from an attempt that never committed
        leftover.unlink()
    partial = folder / f"{batch_id:06d}-{file.path.name}.partial"
    try:
        os.link(file.path, partial)
    except OSError:
        shutil.copyfile(file.path, partial)
    return partial


def _final_name(partial: Path) -> Path:
    return partial.with_name(partial.name.removesuffix(".partial"))


def _retire_changed(db: BulkConnection, source: str, changed: pa.Table, batch_id: int) -> None:
    if changed.num_rows == 0:
        return
    with db.temporary("changed_ids", changed):
        db.execute(
            "INSERT INTO record_versions (source, record_id, batch_id, superseded_by_batch_id, "
            "line, row_hash, raw) SELECT source, record_id, batch_id, ?, line, row_hash, raw "
            "FROM source_records WHERE source = ? "
            "AND record_id IN (SELECT record_id FROM changed_ids)",
            (batch_id, source),
        )
        for table in ("record_flags", "source_records"):
            db.execute(
                f"DELETE FROM {table} WHERE source = ? "
                "AND record_id IN (SELECT record_id FROM changed_ids)",
                (source,),
            )


def _append_records(db: BulkConnection, source: str, batch_id: int, rows: pa.Table) -> None:
    n = rows.num_rows
    first = pc.coalesce(rows.column("_previous_first"), pa.scalar(batch_id, pa.int64()))
    rows = rows.drop_columns(["_previous_first"])
    rows = rows.append_column("source", pa.repeat(pa.scalar(source), n))
    rows = rows.append_column("batch_id", pa.repeat(pa.scalar(batch_id, pa.int32()), n))
    rows = rows.append_column("first_batch_id", first)
    db.append("source_records", rows)


def _append_flags(db: BulkConnection, source: str, flags: pa.Table, written: pa.Table,
                  everything: bool) -> None:
    if not everything:  # only the written (new and changed) records' flags
        ids = written.column("record_id")
        flags = flags.filter(pc.is_in(flags.column("record_id"), value_set=ids))
    flags = flags.append_column("source", pa.repeat(pa.scalar(source), flags.num_rows))
    db.append("record_flags", flags)


def _append_quarantine(
    db: BulkConnection, source: str, batch_id: int, file: FileInfo, rows: pa.Table
) -> None:
    n = rows.num_rows
    rows = rows.append_column("source", pa.repeat(pa.scalar(source), n))
    rows = rows.append_column("batch_id", pa.repeat(pa.scalar(batch_id), n))
    rows = rows.append_column("file", pa.repeat(pa.scalar(str(file.path)), n))
    db.append("quarantine", rows)


def _append_batch(
    db: BulkConnection, decl: SourceDeclaration, batch_id: int, file: FileInfo,
    archived: Path | None, started_at: datetime, normalised: Normalised, changes: Changes,
) -> None:
    accepted = changes.new + changes.updated + changes.unchanged
    row = {
        "id": batch_id, "source": decl.name, "file_name": str(file.path),
        "file_sha256": file.sha256, "file_size": file.size,
        "archived_as": str(archived) if archived else None,
        "started_at": started_at, "finished_at": datetime.now(UTC),
        "rows_read": normalised.rows_read, "accepted": accepted,
        "repeated": normalised.repeated, "quarantined": normalised.quarantine.num_rows,
        "flagged": changes.flagged, "new": changes.new, "updated": changes.updated,
        "unchanged": changes.unchanged,
    }
    db.append("batches", pa.Table.from_pylist([row]))


def _upsert_source(db: BulkConnection, decl: SourceDeclaration) -> None:
    declaration = json.dumps(decl.as_toml(), ensure_ascii=False, sort_keys=True)
    db.execute("DELETE FROM sources WHERE name = ?", (decl.name,))
    db.append("sources", pa.Table.from_pylist([{
        "name": decl.name, "agency": decl.agency, "declaration": declaration,
        "added_at": datetime.now(UTC),
    }]))
