"""After a bulk load PostgreSQL plans with statistics of the table as loaded.

Autovacuum refreshes them only minutes later: right after a first resolve of a million
persons, a person read in the service cost PostgreSQL 656 ms of CPU instead of 1.3 ms.
Autovacuum is off for the table here, so only muster's own refresh can change them.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlalchemy as sa

from muster.store import Store
from muster.store.bulk import bulk_transaction


def _planned_rows(store: Store) -> float:
    """The rows PostgreSQL believes ``persons`` has: -1 before its first ANALYZE."""
    with store.engine.connect() as conn:
        return float(conn.execute(sa.text(
            "SELECT reltuples FROM pg_class WHERE oid = 'persons'::regclass")).scalar_one())


def _append(store: Store, first: int, count: int, commit: bool = True) -> None:
    ids = [f"P{n:09d}" for n in range(first, first + count)]
    with bulk_transaction(store) as db:
        db.append("persons", pa.table({"person_id": ids, "status": ["active"] * count,
                                       "created_run": [1] * count}))
        if commit:
            db.commit()
        else:
            db.rollback()


def test_a_large_append_refreshes_the_planners_statistics_and_a_small_one_does_not(
        store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics unless asked to keep them")
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE persons SET (autovacuum_enabled = false)"))
    assert _planned_rows(store) == -1  # never analysed

    _append(store, 0, 1000)
    assert _planned_rows(store) == 1000
    _append(store, 1000, 50)  # 5% more: left to autovacuum
    assert _planned_rows(store) == 1000
    _append(store, 2000, 500, commit=False)  # rolled back: nothing was loaded
    _append(store, 3000, 20)
    assert _planned_rows(store) == 1000
    _append(store, 4000, 130)  # 12.4% of what the statistics know
    assert _planned_rows(store) == 1200


def test_a_refresh_that_fails_is_logged_and_the_connection_goes_on(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """The work is committed before the refresh: its failure must not fail the command."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics unless asked to keep them")
    with bulk_transaction(store) as db:
        db._refresh_statistics({"no_such_table": 10})
        db.append("persons", pa.table({"person_id": ["P1"], "status": ["active"],
                                       "created_run": [1]}))
        db.commit()
    assert "Could not refresh the planner statistics of no_such_table" in caplog.text
    assert _planned_rows(store) == 1
