"""The lottery: a public, reproducible order of the candidates in each region.

Within a region the candidates are ordered by the SHA-256 hex digest of the UTF-8
string ``<seed>:<person_id>``, ascending; the first ``quota`` are selected. Anyone
with the seed and the published candidate list can recompute it, e.g. in Python::

    ranked = sorted(ids, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())

Here it runs set-based in DuckDB (``sha256()`` and a window), never as a Python loop
over people: a million candidates order in a couple of seconds.
"""

from __future__ import annotations

import re
import secrets

import duckdb
import pyarrow as pa

from muster.errors import MusterError

SEED_BYTES = 32
_HEX = re.compile(r"[0-9a-f]+")


def new_seed() -> str:
    """32 random bytes from the operating system, as lowercase hex."""
    return secrets.token_hex(SEED_BYTES)


def check_seed(seed: str) -> str:
    """A given seed, as lowercase hex."""
    text = seed.strip().lower()
    if not _HEX.fullmatch(text):
        raise MusterError(f"The seed {seed!r} is not hexadecimal.",
                          hint="Give hex digits (0-9, a-f), e.g. the output of "
                          "`python -c 'import secrets; print(secrets.token_hex(32))'`, or "
                          "leave --seed out and one is drawn.")
    return text


def ticket(seed: str, person_id: str) -> str:
    """One candidate's place in the order (for explanations and tests)."""
    import hashlib

    return hashlib.sha256(f"{seed}:{person_id}".encode()).hexdigest()


def draw(candidates: pa.Table, quotas: dict[str, int], seed: str,
         con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """``region, rank, person_id`` of the selected, from ``region, person_id`` candidates.

    Ties between digests cannot happen for distinct ids short of a SHA-256
    collision; person_id breaks them anyway so the order is total.
    """
    own = con is None
    con = con or duckdb.connect()
    try:
        con.register("lottery_candidates", candidates.select(["region", "person_id"]))
        con.register("lottery_quotas", pa.table({
            "region": pa.array(list(quotas), pa.string()),
            "quota": pa.array(list(quotas.values()), pa.int64())}))
        # The seed is checked hex (check_seed), so it is safe as a literal.
        literal = "'" + seed.replace("'", "''") + "'"
        return con.sql(f"""
            SELECT region, CAST(rank AS INTEGER) AS rank, person_id FROM (
              SELECT c.region, c.person_id, q.quota,
                     row_number() OVER (PARTITION BY c.region
                       ORDER BY sha256({literal} || ':' || c.person_id), c.person_id) AS rank
              FROM lottery_candidates c JOIN lottery_quotas q USING (region))
            WHERE rank <= quota ORDER BY region, rank
        """).to_arrow_table()
    finally:
        con.unregister("lottery_candidates")
        con.unregister("lottery_quotas")
        if own:
            con.close()
