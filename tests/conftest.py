"""Fixtures shared by the suite: every store-touching test runs on SQLite and PostgreSQL.

PostgreSQL comes from MUSTER_TEST_POSTGRES_URL (set by `make test`, which starts a
private server). Without it the PostgreSQL half is skipped, unless
MUSTER_REQUIRE_POSTGRES=1 (CI), where its absence is an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from muster.cli import main
from muster.store import Store, open_store
from muster.workspace import DATABASE_ENV, Workspace, create_workspace

PG_URL = os.environ.get("MUSTER_TEST_POSTGRES_URL")
REQUIRE_PG = os.environ.get("MUSTER_REQUIRE_POSTGRES") == "1"


def _postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("MUSTER_REQUIRE_POSTGRES=1 but MUSTER_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured (run `make test` to test on PostgreSQL)")
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"muster_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
