"""Bulk movement between Arrow and the database through ADBC, in one transaction.

ADBC moves Arrow tables in and out without a Python loop over rows (SQLite's
driver binds column buffers; PostgreSQL's uses binary COPY). This module is the
only place that knows the two drivers' differences: parameter markers, the
Arrow types each expects, and how to reserve an id.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from muster.store.database import Store
from muster.store.schema import metadata
from muster.store.sqlite_gate import adbc_connection

# The format SQLAlchemy reads back on SQLite (Arrow's %S carries the microseconds).
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S"
_SQLITE_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
# PostgreSQL's driver encodes a whole batch before it sends any of it, and the server
# waits meanwhile: batches of this size let the two overlap (a million-row COPY
# took 16% less time than with DuckDB's ~100k-row batches).
_COPY_BATCH_ROWS = 16_384
# PostgreSQL's planner works from statistics that autovacuum refreshes once a tenth of
# a table changed, minutes later: commit() refreshes them at once for a table this
# transaction appended at least that share to (see BulkConnection.commit).
_ANALYZE_SHARE = 0.1

log = logging.getLogger("muster.store")


class BulkConnection:
    """An ADBC connection with autocommit off: nothing is visible until commit()."""

    def __init__(self, store: Store, conn: Any) -> None:
        self.store = store
        self.dialect = store.dialect
        self._conn = conn
        self._appended: dict[str, int] = {}  # table -> rows appended since the last commit

    def _sql(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        parts = sql.split("?")
        return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, 1))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._conn.cursor() as cur:
            cur.execute(self._sql(sql), parameters=tuple(params) if params else None)

    def fetch_arrow(self, sql: str, params: Sequence[Any] = ()) -> pa.Table:
        with self._conn.cursor() as cur:
            if self.dialect == "sqlite":
                # The SQLite driver infers each column's type from its first batch (a
                # column NULL throughout it becomes int64 and fails on a later string):
                # one batch lets it see every value.
                cur.adbc_statement.set_options(**{_SQLITE_BATCH_ROWS: str(2**30)})
            cur.execute(self._sql(sql), parameters=tuple(params) if params else None)
            # One batch is scanned by one DuckDB thread. Sliced into batches of 65,536
            # rows, the records' derived columns took 0.9 s instead of 1.4 s at 100,000
            # persons, but loading took 19-20 s instead of 14-15 s at 1,000,000.
            return cur.fetch_arrow_table()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        table = self.fetch_arrow(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def next_id(self, table: str) -> int:
        if self.dialect == "postgresql":
            return int(self.scalar(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"))
        # SQLite serialises writers, so max+1 inside the write transaction is safe.
        return int(self.scalar(f"SELECT coalesce(max(id), 0) + 1 FROM {table}"))

    def append(self, table: str, data: pa.Table | pa.RecordBatchReader) -> None:
        """Append rows to a muster table, cast to the types that table's columns take.

        A stream (RecordBatchReader) is written batch by batch, never held whole.
        """
        if isinstance(data, pa.RecordBatchReader):
            schema = self.conform(table, data.schema.empty_table()).schema
            data = pa.RecordBatchReader.from_batches(
                schema, self._counted(table, (
                    b for batch in data
                    for b in self.conform(table, pa.Table.from_batches([batch]))
                    .to_batches(max_chunksize=_COPY_BATCH_ROWS))))
        elif data.num_rows == 0:
            return
        else:
            conformed = self.conform(table, data)
            data = pa.RecordBatchReader.from_batches(
                conformed.schema,
                self._counted(table, conformed.to_batches(max_chunksize=_COPY_BATCH_ROWS)))
        with self._conn.cursor() as cur:
            cur.adbc_ingest(table, data, mode="append")

    def _counted(self, table: str, batches: Iterable[pa.RecordBatch]
                 ) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            self._appended[table] = self._appended.get(table, 0) + batch.num_rows
            yield batch

    def create_temp(self, name: str, data: pa.Table) -> None:
        with self._conn.cursor() as cur:
            cur.adbc_ingest(name, data, mode="replace", temporary=True)

    @contextmanager
    def temporary(self, name: str, data: pa.Table) -> Iterator[None]:
        """Temporary table ``name`` of ``data`` for the block's statements, dropped after
        it. Not on an error: the transaction is rolled back then (PostgreSQL refuses
        any statement in a failed transaction, so a DROP would hide the error)."""
        self.create_temp(name, data)
        yield
        self.execute(f"DROP TABLE {name}")

    def conform(self, table: str, data: pa.Table) -> pa.Table:
        columns = metadata.tables[table].columns
        arrays, fields = [], []
        for column in columns:
            if column.name not in data.column_names:
                continue
            arrow_type = self._arrow_type(column.type)
            values = data.column(column.name)
            if self.dialect == "sqlite" and pa.types.is_timestamp(arrow_type):
                values = pc.strftime(values.cast(pa.timestamp("us")),
                                             format=_SQLITE_DATETIME)
                arrow_type = pa.string()
            arrays.append(values.cast(arrow_type))
            fields.append(pa.field(column.name, arrow_type))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    @staticmethod
    def _arrow_type(sql_type: sa.types.TypeEngine[Any]) -> pa.DataType:
        if isinstance(sql_type, sa.BigInteger):
            return pa.int64()
        if isinstance(sql_type, sa.Integer):
            return pa.int32()
        if isinstance(sql_type, sa.DateTime):
            return pa.timestamp("us", tz="UTC")
        if isinstance(sql_type, sa.Date):
            return pa.date32()
        if isinstance(sql_type, sa.Float):
            return pa.float64()
        return pa.string()

    def commit(self) -> None:
        self._conn.commit()
        appended, self._appended = self._appended, {}
        if self.dialect == "postgresql":
            self._refresh_statistics(appended)
        if self.store.checkpoints is not None:
            self.store.checkpoints.request()

    def rollback(self) -> None:
        self._conn.rollback()
        self._appended = {}

    def _refresh_statistics(self, appended: dict[str, int]) -> None:
        """ANALYZE each table the committed transaction appended a large share to.

        Without it the planner went on with statistics of the table before a bulk load,
        or none: right after a first resolve of a million persons, a person read in the
        service cost PostgreSQL 656 ms of CPU instead of 1.3 ms, until autovacuum came by.
        The work is committed already: a failure here is only logged.
        """
        for table, rows in sorted(appended.items()):
            try:
                # reltuples: the rows at the last ANALYZE; -1 (or 0) when never analysed.
                before = float(self.scalar(
                    "SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)", (table,)) or 0)
                if before > 0 and rows < _ANALYZE_SHARE * before:
                    continue
                self.execute(f'ANALYZE "{table}"')
                self._conn.commit()
            except Exception as exc:  # the data is committed: the plans can wait
                with suppress(Exception):
                    self._conn.rollback()
                log.warning("Could not refresh the planner statistics of %s (%s); "
                            "autovacuum will.", table, exc)


def _connect(store: Store) -> Any:
    if store.dialect == "sqlite":
        import adbc_driver_sqlite.dbapi as driver

        conn = driver.connect(store.adbc_uri())
        # The driver opens the transaction at once, and SQLite changes the safety level
        # only outside one: step out, set it, step back in. In WAL mode NORMAL is
        # crash-safe (a commit may be lost on power loss, never half-applied) and
        # halves the fsyncs of a bulk load; it is what the store's own connections use.
        # The wait comes first: setting the safety level reads the schema, and the
        # database can be locked for a moment (a connection closing elsewhere copies
        # the WAL into it), which without a wait failed an ingest on the spot.
        conn.adbc_connection.set_autocommit(True)
        with conn.cursor() as cur:
            cur.execute("PRAGMA busy_timeout=30000")  # wait for a concurrent writer
            cur.execute("PRAGMA synchronous=NORMAL")
        conn.adbc_connection.set_autocommit(False)
        with conn.cursor() as cur:
            # A large page cache keeps primary-key inserts of a million rows in memory.
            cur.execute("PRAGMA cache_size=-524288")
            cur.execute("PRAGMA temp_store=MEMORY")
            # Helper threads for the sorts that build an index after a bulk load
            # (resolve.write): the link index of 9.3 million rows at 1,000,000 persons
            # took 4.3 s instead of 7.1 s. SQLite takes at most 8.
            cur.execute(f"PRAGMA threads={os.cpu_count() or 1}")
            if store.checkpoints is not None:  # copied into the database by that thread
                cur.execute("PRAGMA wal_autocheckpoint=0")
        return conn
    import adbc_driver_postgresql.dbapi as pg_driver

    return pg_driver.connect(store.adbc_uri())


@contextmanager
def bulk_transaction(store: Store, alongside: bool = False) -> Iterator[BulkConnection]:
    """One transaction: committed by the caller, rolled back on any error or interrupt.

    ``alongside``: opened on behalf of a bulk connection of another thread that is
    open and waits for this one (store.sqlite_gate).
    """
    with ExitStack() as stack:
        if store.dialect == "sqlite":
            stack.enter_context(adbc_connection(store.adbc_uri(), alongside))
        conn = _connect(store)
        stack.callback(conn.close)
        try:
            yield BulkConnection(store, conn)
        except BaseException:
            conn.rollback()
            raise


def fetch_concurrently(store: Store,
                       queries: Sequence[tuple[str, Sequence[Any]]]) -> list[pa.Table]:
    """Each query on a connection of its own, all at once: the drivers read without
    holding the GIL, so on two cores two large reads take about the time of one.

    Each connection sees the database as committed when its read starts. The caller
    has a bulk connection open and holds the register (locks.lock_register), so that
    is the same for all of them; on SQLite, where nothing holds the register, a write
    committed meanwhile by another process makes the caller's own write fail later
    instead of going unnoticed (its transaction has read already and is stale).
    """
    def fetch(sql: str, params: Sequence[Any]) -> pa.Table:
        with bulk_transaction(store, alongside=True) as db:
            return db.fetch_arrow(sql, params)

    with ThreadPoolExecutor(max_workers=len(queries), thread_name_prefix="muster-read") as pool:
        futures = [pool.submit(fetch, sql, params) for sql, params in queries]
        return [future.result() for future in futures]
