"""The in-process compute engine (DuckDB), bounded so that a big run spills to disk
instead of taking the machine's memory (DuckDB's own default is 80% of it).

MUSTER_DUCKDB_MEMORY sets the bound (DuckDB's syntax: "4GB", "800MB"); by default it
is a fifth of the memory the process may use (MEMORY_SHARE).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import duckdb

from muster.errors import ConfigError

MEMORY_ENV = "MUSTER_DUCKDB_MEMORY"
# A full resolution of 1,000,000 persons on 24 GiB: with a 4 GB bound DuckDB spilled
# up to 4.3 GB and the run took 153-167 s at a peak of 5.3 GiB of process memory; with
# 5 GB, 136-144 s at 6.0-6.3 GiB; with 6 GB no faster, at 6.8-6.9 GiB. The rest of the
# process (Python, Arrow, SQLite's cache) needs 1.2-1.6 GiB beside the bound.
MEMORY_SHARE = 5
# Where a container's memory limit is written (cgroup v2, v1): the machine's memory
# is not what a container may use.
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def available_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its container's if less."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in CGROUP_LIMITS:
        try:
            limit = Path(path).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():  # "max": no limit
            total = min(total, int(limit))
    return total


def default_memory() -> str:
    return f"{available_memory() // MEMORY_SHARE // 2**20}MiB"


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    limit = os.environ.get(MEMORY_ENV, "").strip() or default_memory()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", limit, re.IGNORECASE):
        raise ConfigError(f"{MEMORY_ENV}={limit!r} is not an amount of memory.",
                          hint=f"For example {MEMORY_ENV}=4GB or {MEMORY_ENV}=800MB.")
    spill = Path(tempfile.gettempdir()) / "muster-duckdb-spill"
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    # DuckDB (1.4 and later) checkpoints an in-memory database too, on one core, once a
    # transaction changed more than checkpoint_threshold (16 MiB). Raising it to 1 TB
    # saved 0.6-1.5 s of a full resolve at 100,000 persons, but at 1,000,000 each step
    # after the linkage took 1-5 s longer (190 s in all against 168-181 s, rebuilds of
    # the same register): the default stays.
    return con
