"""Fixtures shared by the suite: every store-touching test runs on SQLite and PostgreSQL.
Registers that many tests start from are built once and copied (``Snapshots``).

PostgreSQL comes from MUSTER_TEST_POSTGRES_URL (set by `make test`, which starts a
private server). Without it the PostgreSQL half is skipped, unless
MUSTER_REQUIRE_POSTGRES=1 (CI), where its absence is an error.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from muster.cli import main
from muster.store import Store, open_store
from muster.workspace import DATABASE_ENV, Workspace, create_workspace

PG_URL = os.environ.get("MUSTER_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("MUSTER_REQUIRE_POSTGRES") == "1"


@contextmanager
def _pg_admin() -> Iterator[sa.Connection]:
    """A connection to the server's maintenance database, to create and drop others."""
    assert PG_URL is not None
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            yield conn
    finally:
        admin.dispose()


def _postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("MUSTER_REQUIRE_POSTGRES=1 but MUSTER_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured (run `make test` to test on PostgreSQL)")
    name = f"muster_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with _pg_admin() as admin:
            admin.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


@dataclass
class CliResult:
    exit_code: int
    out: str
    err: str


@dataclass
class Register:
    """A workspace on one backend, and a way to run `muster` commands in it."""

    root: Path
    database_url: str
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch
    _store: Store | None = None

    def run(self, *args: str | Path) -> CliResult:
        self.capsys.readouterr()
        try:
            main(["--workspace", str(self.root), *(str(a) for a in args)])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    def ok(self, *args: str | Path) -> str:
        result = self.run(*args)
        assert result.exit_code == 0, f"muster {' '.join(map(str, args))} failed:\n{result.err}"
        return result.out

    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def workspace(self) -> Workspace:
        from muster.workspace import open_workspace

        return open_workspace(self.root)


@pytest.fixture
def register(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Register]:
    root = tmp_path / "ws"
    if database_url.startswith("postgresql"):
        monkeypatch.setenv(DATABASE_ENV, database_url)
    else:
        monkeypatch.delenv(DATABASE_ENV, raising=False)
        database_url = f"sqlite:///{root / 'muster.db'}"
    create_workspace(root)
    reg = Register(root, database_url, capsys, monkeypatch)
    yield reg
    reg.close()


# --- Snapshots: a register built once per session, copied into each test --------------


def _copy_pg_database(admin: sa.Connection, source: str, target: str) -> None:
    """``target`` as a copy of ``source``. PostgreSQL copies a database only while no one
    is connected to it; the CLI's pooled connections may still be."""
    admin.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :name AND pid <> pg_backend_pid()"),
                  {"name": source})
    admin.execute(sa.text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))


@dataclass(frozen=True)
class _Snapshot:
    files: Path  # the test's tmp_path as it was: workspace, extracts, input files
    origin: Path  # that tmp_path: muster.toml names source files by absolute path
    database: str | None  # PostgreSQL: the database it was copied to


class Snapshots:
    """Registers built once per session (per xdist worker) and backend, then copied into
    each test that asks for one. Building a resolved register takes 10-20 s and dozens
    of tests start from the same one; copying its files and its database takes well
    under a second. The copy is the register as its build left it, so each test still
    changes a register of its own."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._taken: dict[tuple[str, str], _Snapshot] = {}

    def register(self, name: str, register: Register, tmp_path: Path,
                 build: Callable[[], object]) -> Register:
        """``register`` as ``build`` leaves it: built the first time, copied after."""
        backend = "postgresql" if register.database_url.startswith("postgresql") else "sqlite"
        key = (name, backend)
        if key not in self._taken:
            build()
            self._taken[key] = self._take(f"{name}-{backend}", register, tmp_path)
        else:
            self._put_back(self._taken[key], register, tmp_path)
        return register

    def _take(self, name: str, register: Register, tmp_path: Path) -> _Snapshot:
        register.close()
        files = self._folder / name
        shutil.copytree(tmp_path, files, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
        if register.database_url.startswith("postgresql"):
            database = f"muster_snapshot_{uuid.uuid4().hex[:12]}"
            with _pg_admin() as admin:
                _copy_pg_database(admin, sa.make_url(register.database_url).database or "",
                                  database)
            return _Snapshot(files, tmp_path, database)
        # The backup API writes one consistent file, whatever the WAL still holds.
        with closing(sqlite3.connect(register.root / "muster.db")) as src, \
                closing(sqlite3.connect(
                    files / register.root.relative_to(tmp_path) / "muster.db")) as dst:
            src.backup(dst)
        return _Snapshot(files, tmp_path, None)

    def _put_back(self, snapshot: _Snapshot, register: Register, tmp_path: Path) -> None:
        register.close()
        shutil.rmtree(register.root)
        shutil.copytree(snapshot.files, tmp_path, dirs_exist_ok=True)
        config = register.root / "muster.toml"
        config.write_text(config.read_text(encoding="utf-8").replace(
            str(snapshot.origin), str(tmp_path)), encoding="utf-8")
        if snapshot.database is not None:
            name = sa.make_url(register.database_url).database or ""
            with _pg_admin() as admin:
                admin.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                _copy_pg_database(admin, snapshot.database, name)

    def drop(self) -> None:
        databases = [s.database for s in self._taken.values() if s.database]
        if databases:
            with _pg_admin() as admin:
                for database in databases:
                    admin.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshots]:
    taken = Snapshots(tmp_path_factory.mktemp("snapshots"))
    yield taken
    taken.drop()
