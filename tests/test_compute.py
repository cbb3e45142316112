"""DuckDB's memory bound: a fifth of the memory the process may use, unless
MUSTER_DUCKDB_MEMORY says otherwise; a value that is no amount of memory is refused."""

from __future__ import annotations

import re

import duckdb
import pytest

from muster.compute import MEMORY_ENV, available_memory, duckdb_connection
from muster.errors import ConfigError

UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _bound(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory_limit in bytes, read back from its text ("5.8 GiB")."""
    text = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    number, unit = re.fullmatch(r"([\d.]+) (\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * UNITS[unit]


def test_by_default_duckdb_may_take_a_fifth_of_the_memory(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    con = duckdb_connection()
    try:
        # DuckDB shows the bound to a tenth of its unit
        assert _bound(con) == pytest.approx(available_memory() / 5, rel=0.03)
    finally:
        con.close()


def test_the_environment_sets_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "800MB")
    con = duckdb_connection()
    try:
        assert _bound(con) == pytest.approx(800e6, rel=0.01)
    finally:
        con.close()


def test_a_bound_that_is_no_amount_of_memory_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "plenty")
    with pytest.raises(ConfigError) as caught:
        duckdb_connection()
    assert "MUSTER_DUCKDB_MEMORY='plenty' is not an amount of memory" in str(caught.value)
    assert "800MB" in (caught.value.hint or "")
