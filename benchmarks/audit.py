"""Audit benchmark: `muster audit verify` over a log of 1,000,000 entries, on SQLite and
on PostgreSQL.

The log grows by an entry for every read of a person's data, so a national register
holds tens of millions a year. The log is built as the service writes it (the same
canonical text and hash chain; times a millisecond apart), then `muster audit verify`
runs as its own process per backend; its wall time and peak memory (max RSS) are
printed.

    python benchmarks/audit.py                                  # 1,000,000 entries
    python benchmarks/audit.py --entries 100000 --postgres-url postgresql+psycopg://...

With --postgres-url a database `muster_bench_audit` is (re)created on that server;
without it a private PostgreSQL server is started with scripts/postgres.sh.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from _common import (
    MUSTER,
    new_workspace,
    on_each_backend,
    run_measured,
    settle,
)

ACTIONS = ["person.read", "person.search", "case.open", "notice.read", "clarification.record"]
PURPOSES = [None, "casework", "clarification", "callup", "citizen_request"]
BATCH = 200_000


def build(url: str, n: int, seed: int) -> None:
    """The log, hashed entry by entry as ``audit.record`` does: each hash is part of
    the next entry's text, so building it is the one sequential step here."""
    import sqlalchemy as sa

    from muster.service.audit import GENESIS, entry_hash
    from muster.store import open_store
    from muster.store.bulk import bulk_transaction
    from muster.store.schema import audit_head

    started = time.perf_counter()
    rng = random.Random(seed)
    store = open_store(url)
    first = datetime(2026, 1, 1, tzinfo=UTC)
    prev = GENESIS
    with bulk_transaction(store) as db:
        for start in range(1, n + 1, BATCH):
            rows = []
            for seq in range(start, min(start + BATCH, n + 1)):
                at = first + timedelta(milliseconds=seq)
                actor = f"officer{rng.randrange(500)}"
                action = rng.choice(ACTIONS)
                person = f"P{rng.randrange(1_000_000):09d}"
                purpose = rng.choice(PURPOSES)
                detail = '{"via": "web"}' if seq % 3 else '{"query": "Иванов 1990-01-01"}'
                digest = entry_hash(seq, at, actor, "officer", action, person, purpose,
                                    detail, prev)
                rows.append({"seq": seq, "at": at, "actor": actor, "role": "officer",
                             "action": action, "person_id": person, "purpose": purpose,
                             "detail": detail, "prev_hash": prev, "hash": digest})
                prev = digest
            db.append("audit_log", pa.Table.from_pylist(rows))
        db.commit()
    with store.engine.begin() as conn:
        conn.execute(audit_head.update().where(audit_head.c.id == 1).values(seq=n, hash=prev))
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE audit_log"))
    store.close()
    print(f"  built {n:,} chained entries in {time.perf_counter() - started:.1f} s", flush=True)


def bench(label: str, workdir: Path, url: str | None, n: int, seed: int) -> tuple[float, float]:
    root = workdir / label
    env = new_workspace(root, None, url)
    print(f"{label}:", flush=True)
    # Built in a child process, so that this one stays small: a child's peak RSS on
    # Linux starts from its parent's size at fork.
    subprocess.run([sys.executable, __file__, "--build", url or f"sqlite:///{root / 'muster.db'}",
                    "--entries", str(n), "--seed", str(seed)], env=env, check=True)
    settle(url)
    wall, peak, out = run_measured([*MUSTER, "--workspace", str(root), "audit", "verify"], env)
    print(f"  {out.strip().splitlines()[-1]}")
    print(f"  verify {n:,} entries: {wall:.1f} s wall, peak {peak:.0f} MiB, "
          f"{n / wall:,.0f} entries/s", flush=True)
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL"))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--build", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.entries, args.seed)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="muster-bench-audit-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"muster audit benchmark: {args.entries:,} entries, in {workdir}")
    results = on_each_backend(
        workdir, args.postgres_url, args.skip_postgres, "muster_bench_audit",
        lambda label, url: bench(label, workdir, url, args.entries, args.seed))
    print("\nbackend      entries    wall s   peak MiB   entries/s")
    for label, (wall, peak) in results:
        rate = args.entries / wall
        print(f"{label:<10} {args.entries:>9,} {wall:9.1f} {peak:10.0f} {rate:11,.0f}")


if __name__ == "__main__":
    main()
