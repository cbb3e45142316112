"""What the benchmarks share: measured child processes, workspaces, PostgreSQL databases.

Every measured step runs as its own process, so its wall time and peak memory (max RSS)
are its own and are what an operator would see.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
MUSTER = [sys.executable, "-m", "muster"]


def _turns(seconds: float) -> int:
    end, turns = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        turns += 1
    return turns


def machine_speed(seconds: float = 2.0) -> float:
    """How fast this machine runs right now: millions of loop turns a second per core,
    with every core busy at once. On a shared virtual machine it read 7.8 idle and 4.2
    right after a run, and wall times moved with it: compare figures measured at
    similar speeds."""
    cores = os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        turns = pool.map(_turns, [seconds] * cores)
    return sum(turns) / cores / seconds / 1e6


class ChildFailed(RuntimeError):
    """A measured child process failed; ``last_line`` is the last line of its stderr."""

    def __init__(self, args: list[str], stdout: str, stderr: str) -> None:
        super().__init__(f"failed: {' '.join(args)}\n{stdout}\n{stderr}")
        lines = [line for line in stderr.splitlines() if line.strip()]
        self.last_line = lines[-1] if lines else "(no message)"


def run_measured(args: list[str], env: dict[str, str] | None = None,
                 check: bool = True) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, stdout) of one child process. When it fails: exit, or
    with ``check=False`` raise ChildFailed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env if env is not None else dict(os.environ),
                                stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        failure = ChildFailed(args, stdout, stderr)
        if check:
            sys.exit(str(failure))
        raise failure
    return wall, usage.ru_maxrss / 1024, stdout


@contextmanager
def private_postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL server (scripts/postgres.sh); yields its URL."""
    data = workdir / "pg"
    port = os.environ.get("MUSTER_BENCH_PG_PORT", "55433")
    script = ROOT / "scripts" / "postgres.sh"
    subprocess.run(["bash", str(script), "ensure"], check=True)
    subprocess.run(["bash", str(script), "start", str(data), port], check=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(["bash", str(script), "stop", str(data)], check=False)


@contextmanager
def postgres_server(workdir: Path, url: str | None) -> Iterator[str]:
    """The server at ``url`` (a database URL on it) or, without one, a private one."""
    if url:
        yield url
    else:
        with private_postgres(workdir) as server:
            yield server


def settle(database_url: str | None) -> None:
    """Let the previous step's writes finish before the next is timed: the page cache
    flushed to disk and, on PostgreSQL, a checkpoint. Otherwise a step pays for the
    write-back of the one before it."""
    os.sync()
    if not database_url:
        return
    import sqlalchemy as sa

    try:
        _server(database_url, "CHECKPOINT")
    except sa.exc.DBAPIError as error:  # CHECKPOINT needs a superuser or pg_checkpoint
        print(f"  (no checkpoint before the step: {error.orig})", file=sys.stderr)


def _server(database_url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL server outside a transaction."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def drop_database(database_url: str | None, name: str) -> None:
    """Drop a benchmark's database once its figures are taken, so that its autovacuum
    does not run beside the next timed step."""
    if database_url:
        _server(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(database_url: str | None, name: str) -> str | None:
    """A new, empty PostgreSQL database on the same server (SQLite: the workspace's file)."""
    if not database_url:
        return None
    import sqlalchemy as sa

    _server(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}"')
    return str(sa.engine.make_url(database_url).set(database=name).render_as_string(
        hide_password=False))


Result = TypeVar("Result")


def on_each_backend(workdir: Path, postgres_url: str | None, skip_postgres: bool,
                    database: str, bench: Callable[[str, str | None], Result]
                    ) -> list[tuple[str, Result]]:
    """``bench(label, database_url)`` on SQLite (no URL: the workspace's file), then,
    unless skipped, on a fresh PostgreSQL database ``database`` (on the server at
    ``postgres_url``, or a private one), dropped once its figures are taken."""
    results = [("sqlite", bench("sqlite", None))]
    if not skip_postgres:
        with postgres_server(workdir, postgres_url) as server:
            url = fresh_database(server, database)
            results.append(("postgresql", bench("postgresql", url)))
            drop_database(server, database)
    return results


def new_workspace(ws: Path, sources_toml: Path | None, database_url: str | None,
                  profile: str | None = None) -> dict[str, str]:
    """Create workspace ``ws`` afresh (its sources declared); returns the env to run it in."""
    env = dict(os.environ)
    env.pop("MUSTER_DATABASE_URL", None)
    if database_url:
        env["MUSTER_DATABASE_URL"] = database_url
    if ws.exists():
        shutil.rmtree(ws)
    init = [*MUSTER, "init", str(ws)] + (["--profile", profile] if profile else [])
    subprocess.run(init, env=env, check=True, capture_output=True)
    if sources_toml is not None:
        subprocess.run([*MUSTER, "-w", str(ws), "sources", "add", str(sources_toml)],
                       env=env, check=True, capture_output=True)
    return env
