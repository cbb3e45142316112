"""Engines, migrations and the dialect seam between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Engine, make_url

from muster.errors import BadRequest, StoreError
from muster.store.sqlite_gate import GatedConnection


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("muster.store") / "migrations")
    )
    return config


class Checkpointer(Protocol):
    def request(self) -> None: ...


@dataclass
class Store:
    url: URL
    engine: Engine
    # Set while bulk commits are checkpointed by a second thread (store.checkpoints).
    checkpoints: Checkpointer | None = None

    @property
    def dialect(self) -> str:
        return "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> tuple[str | None, str | None]:
        """Apply pending migrations; returns (revision before, revision after)."""
        before = self.current_revision()
        if before != self.head_revision():
            config = _alembic_config()
            with self.engine.begin() as conn:
                if self.dialect == "sqlite":
                    # Python's sqlite3 runs DDL outside any transaction: a migration
                    # failing after its first ALTER TABLE kept that column, and every
                    # later upgrade failed on it. One explicit transaction makes the
                    # upgrade all or nothing, as on PostgreSQL.
                    conn.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        return before, self.current_revision()

    def read_connection(self) -> sa.Connection:
        """A connection for reads that need no transaction (use it in a ``with``).

        On PostgreSQL it is in autocommit: each query is one round trip, with no BEGIN
        before it and no ROLLBACK when the connection goes back to the pool, and the
        server keeps the statements it has prepared. SQLite reads as ever.
        """
        conn = self.engine.connect()
        if self.dialect == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def adbc_uri(self) -> str:
        """The same database, addressed for an ADBC driver."""
        if self.dialect == "sqlite":
            return str(self.url.database)
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def close(self) -> None:
        self.engine.dispose()


# What a read function accepts: the store (it opens a connection of its own) or a
# connection the caller already reads with, so one request can make do with one.
Reader = Store | sa.Connection


@contextmanager
def reading(db: Reader) -> Iterator[sa.Connection]:
    """The caller's connection as it is, or a new reading connection of the store."""
    if isinstance(db, sa.Connection):
        yield db
    else:
        with db.read_connection() as conn:
            yield conn


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First, so that the pragmas below, which read the database, wait for a lock as
    # long as every later statement does (not the driver's default of 5 s).
    cursor.execute("PRAGMA busy_timeout=30000")
    # Larger pages write bulk batches with fewer page splits; only takes effect while
    # the database file is still empty, so it is harmless on every later connection.
    cursor.execute("PRAGMA page_size=16384")
    # WAL lets readers work while an ingest writes; NORMAL sync is safe with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                executemany: bool) -> None:
    """Text with a NUL character is refused on its way in, on either database:
    PostgreSQL cannot hold it, and a person id, a search or an officer's note holding
    one failed there with an unexpected error."""
    rows = parameters if executemany else (parameters,)
    for row in rows:
        values = row.values() if isinstance(row, dict) else row or ()
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise BadRequest("Text with a NUL character (\\0) cannot be stored or looked up.",
                             hint="Remove the character and send the text again.")


def open_store(url: str, *, upgrade: bool = True, pool_size: int | None = None) -> Store:
    """Connect to the register's database and bring its schema up to date.

    ``pool_size``: connections kept open to PostgreSQL (a server: one per request it
    works on at a time), instead of SQLAlchemy's default of 5.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"{url!r} is not a database URL.",
            hint="Use sqlite:///path/to/muster.db or postgresql+psycopg://user@host/db.",
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"Database {parsed.get_backend_name()!r} is not supported.",
            hint="muster runs on SQLite (default) or PostgreSQL.",
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # SQLite: no pooling. A pooled pysqlite connection can keep a read snapshot open
    # across uses, hiding what the ADBC bulk connection has since committed.
    pool: dict[str, Any] = {"poolclass": sa.pool.NullPool}
    if parsed.get_backend_name() == "postgresql":
        pool = {"pool_size": pool_size} if pool_size else {}
    if parsed.get_backend_name() == "sqlite":
        pool["connect_args"] = {"factory": GatedConnection}
    engine = sa.create_engine(parsed, **pool)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    sa.event.listen(engine, "before_cursor_execute", _refuse_nul)
    store = Store(parsed, engine)
    try:
        if upgrade:
            store.upgrade()
        else:
            store.current_revision()
    except sa.exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(
            f"Cannot open the database at {parsed.render_as_string(hide_password=True)}: "
            f"{exc.orig}",
            hint="Check MUSTER_DATABASE_URL (or the workspace's sqlite file) and that the "
            "server is running.",
        ) from None
    return store
