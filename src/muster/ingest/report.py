"""What ingest left in the store: per-source status, field flags and quarantine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from muster.store import Store
from muster.store.bulk import bulk_transaction
from muster.store.schema import batches, quarantine, record_flags, source_records

QUARANTINE_COLUMNS = ("source", "file", "line", "record_id", "reason")


@dataclass(frozen=True)
class SourceStatus:
    source: str
    batches: int
    last_ingest: str
    records: int
    flagged_records: int
    quarantined: int
    flags_by_problem: dict[str, int]


def source_statuses(store: Store) -> list[SourceStatus]:
    with store.engine.connect() as conn:
        batch_rows = conn.execute(
            sa.select(batches.c.source, sa.func.count(), sa.func.max(batches.c.finished_at))
            .group_by(batches.c.source)
        ).all()
        records: dict[str, int] = {s: n for s, n in conn.execute(
            sa.select(source_records.c.source, sa.func.count()).group_by(source_records.c.source)
        )}
        flagged: dict[str, int] = {s: n for s, n in conn.execute(
            sa.select(source_records.c.source, sa.func.count())
            .where(source_records.c.flags > 0).group_by(source_records.c.source)
        )}
        quarantined: dict[str, int] = {s: n for s, n in conn.execute(
            sa.select(quarantine.c.source, sa.func.count()).group_by(quarantine.c.source)
        )}
        problems = conn.execute(
            sa.select(record_flags.c.source, record_flags.c.field, record_flags.c.problem,
                      sa.func.count())
            .group_by(record_flags.c.source, record_flags.c.field, record_flags.c.problem)
        ).all()
    by_source: dict[str, dict[str, int]] = {}
    for source, field, problem, count in problems:
        by_source.setdefault(source, {})[f"{field}:{problem}"] = count
    return [
        SourceStatus(
            source=source, batches=n, last_ingest=str(last)[:19],
            records=int(records.get(source, 0)), flagged_records=int(flagged.get(source, 0)),
            quarantined=int(quarantined.get(source, 0)),
            flags_by_problem=by_source.get(source, {}),
        )
        for source, n, last in sorted(batch_rows)
    ]


def quarantine_table(store: Store, source: str | None = None) -> pa.Table:
    """Quarantined rows in file order: source, file, line, record_id, reason, raw."""
    where, params = ("WHERE source = ?", (source,)) if source else ("", ())
    with bulk_transaction(store) as db:
        table = db.fetch_arrow(
            f"SELECT source, file, line, record_id, reason, raw FROM quarantine {where} "
            "ORDER BY source, batch_id, line",
            params,
        )
    schema = pa.schema([("source", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                        ("record_id", pa.string()), ("reason", pa.string()),
                        ("raw", pa.string())])
    return table.cast(schema)


def export_quarantine(store: Store, out: Path) -> int:
    """Write `source,file,line,record_id,reason` (the contract's columns); returns rows."""
    table = quarantine_table(store).select(list(QUARANTINE_COLUMNS))
    pacsv.write_csv(table, out, write_options=pacsv.WriteOptions(quoting_style="needed"))
    return int(table.num_rows)
