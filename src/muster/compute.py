"""The in-process compute engine (DuckDB), bounded so that a big run spills to disk
instead of taking the machine's memory (DuckDB's own default is 80% of it).

MUSTER_DUCKDB_MEMORY sets the bound (DuckDB's syntax: "4GB", "800MB").
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import duckdb

from muster.errors import ConfigError

MEMORY_ENV = "MUSTER_DUCKDB_MEMORY"
DEFAULT_MEMORY = "4GB"


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    limit = os.environ.get(MEMORY_ENV, DEFAULT_MEMORY).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", limit, re.IGNORECASE):
        raise ConfigError(f"{MEMORY_ENV}={limit!r} is not an amount of memory.",
                          hint=f"For example {MEMORY_ENV}=4GB or {MEMORY_ENV}=800MB.")
    spill = Path(tempfile.gettempdir()) / "muster-duckdb-spill"
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    return con
