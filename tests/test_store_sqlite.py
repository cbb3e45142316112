"""SQLite, embedded: the two copies of the SQLite library in one process (Python's,
under SQLAlchemy, and the one the ADBC bulk driver bundles) never have the register
open at the same time, because they cannot see each other's locks; and bulk commits
are checkpointed beside the work without losing or damaging anything.

These are properties of the embedded store; PostgreSQL has neither concern."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa

from muster.store import Store, checkpoints_in_background, open_store
from muster.store.bulk import bulk_transaction
from muster.store.checkpoints import BackgroundCheckpoints


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'register.db'}")
    yield store
    store.close()


def _rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM sources")).scalar_one())


def _source_rows(n: int, start: int = 0) -> pa.Table:
    return pa.table({
        "name": [f"s{i}" for i in range(start, start + n)],
        "agency": ["agency"] * n,
        "declaration": ["{}"] * n,
        "added_at": pa.array([0] * n, pa.timestamp("us", tz="UTC")),
    })


def test_a_standard_library_connection_waits_for_the_bulk_connection(
        sqlite_store: Store) -> None:
    opened = threading.Event()
    seen: list[int] = []

    def read() -> None:
        seen.append(_rows(sqlite_store))
        opened.set()

    with bulk_transaction(sqlite_store) as db:
        db.append("sources", _source_rows(3))
        reader = threading.Thread(target=read)
        reader.start()
        assert not opened.wait(0.5), "a second SQLite library opened the register meanwhile"
        db.commit()
    assert opened.wait(10)
    reader.join()
    assert seen == [3]


# Another process holds the register locked for a moment, as a closing connection
# does while it copies the write-ahead log into the database.
_HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA locking_mode=EXCLUSIVE")
conn.execute("BEGIN EXCLUSIVE")
conn.execute("SELECT count(*) FROM sources").fetchall()
print("locked", flush=True)
time.sleep(1.5)
conn.execute("COMMIT")
conn.close()
"""


def test_a_bulk_connection_waits_for_a_lock_held_elsewhere(sqlite_store: Store) -> None:
    with subprocess.Popen([sys.executable, "-c", _HOLD_LOCK,
                           str(sqlite_store.engine.url.database)],
                          stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        began = time.monotonic()
        with bulk_transaction(sqlite_store) as db:
            db.append("sources", _source_rows(2))
            db.commit()
        assert time.monotonic() - began > 0.5  # it waited for the lock, and then wrote
    assert holder.returncode == 0
    assert _rows(sqlite_store) == 2


def test_one_thread_mixing_the_two_libraries_is_an_error(sqlite_store: Store) -> None:
    with bulk_transaction(sqlite_store), pytest.raises(RuntimeError, match="close the first"):
        sqlite_store.engine.connect()
    with (sqlite_store.engine.connect(), pytest.raises(RuntimeError, match="close the first"),
          bulk_transaction(sqlite_store)):
        pass
    assert _rows(sqlite_store) == 0  # and both still work afterwards


def test_a_waiting_bulk_connection_is_not_starved_by_new_readers(sqlite_store: Store) -> None:
    order: list[str] = []
    bulk_waiting = threading.Event()

    def bulk() -> None:
        bulk_waiting.set()
        with bulk_transaction(sqlite_store) as db:
            order.append("bulk")
            db.fetch_arrow("SELECT count(*) FROM sources")

    def late_reader() -> None:
        _rows(sqlite_store)
        order.append("late reader")

    with sqlite_store.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        first = threading.Thread(target=bulk)
        first.start()
        assert bulk_waiting.wait(5)
        time.sleep(0.2)  # the bulk connection is now waiting for this reader
        second = threading.Thread(target=late_reader)
        second.start()
        time.sleep(0.2)
        assert order == []
    first.join(10)
    second.join(10)
    assert order == ["bulk", "late reader"]


def test_background_checkpoints_keep_every_commit(sqlite_store: Store) -> None:
    path = Path(str(sqlite_store.url.database))
    with checkpoints_in_background(sqlite_store):
        for batch in range(5):
            with bulk_transaction(sqlite_store) as db:
                db.append("sources", _source_rows(2_000, start=batch * 2_000))
                db.commit()
        # Each commit handed its pages to the checkpoint thread; the log grows no
        # further than what is not yet copied, and readers after the block see it all.
    assert _rows(sqlite_store) == 10_000
    sqlite_store.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("SELECT count(*) FROM sources").fetchone() == (10_000,)
    check.close()
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_failed_background_checkpoint_is_reported(tmp_path: Path) -> None:
    checkpoints = BackgroundCheckpoints(str(tmp_path / "missing" / "register.db"))
    checkpoints.request()
    with pytest.raises(Exception, match=r"(?i)open|unable|no such"):
        checkpoints.wait()
    checkpoints.wait()  # reported once, not again
