"""Call-up benchmark: a plan over 1,000,000 eligible persons, and notices rendered.

1. The tables a plan reads (golden records, one evaluation run with every person
   eligible_conscript) are built synthetically at full size, set-based (NumPy ->
   Arrow -> the database). Then `muster callup plan --as-of DATE --quotas FILE` runs
   as its own process; its wall time is printed. Target: <= 15 s for 1,000,000.
2. Notices: N notices rendered to PDF through the profile's template, on every core
   (as `muster notices issue` does). Target: 10,000 in <= 5 min; with --notices
   smaller than 10,000 the time for 10,000 is extrapolated, and says so.

    python benchmarks/callup.py                                  # SQLite, 1,000,000
    python benchmarks/callup.py --persons 100000 --notices 500
    python benchmarks/callup.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:55499/postgres
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from _common import fresh_database

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2024, 6, 1)
PLAN_TARGET = 15.0
NOTICE_TARGET = 300.0


def build(url: str, n: int, seed: int) -> list[str]:
    """Golden records and one current evaluation with everyone eligible; the regions."""
    from muster.profile import load_profile
    from muster.store import open_store
    from muster.store.bulk import bulk_transaction

    regions = [r.code for r in load_profile("default").regions.regions]
    rng = np.random.default_rng(seed)
    ids = pa.array(np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 9)))
    region = pa.array(np.array(regions)[rng.integers(0, len(regions), n)])
    now = datetime.now(UTC)
    store = open_store(url)
    try:
        with bulk_transaction(store) as db:
            for table in ("callup_selection", "callup_candidates", "callup_plans",
                          "eligibility_results", "eligibility_runs", "golden_records",
                          "resolve_runs"):
                db.execute(f"DELETE FROM {table}")
            db.append("resolve_runs", pa.Table.from_pylist([{
                "id": 1, "engine": "bench", "mode": "full", "started_at": now,
                "finished_at": now, "last_batch": 0, "records": n, "persons": n, "links": 0,
                "review": 0, "collisions": 0, "model": "{}"}]))
            db.append("golden_records", pa.table({
                "person_id": ids, "records": pa.repeat(pa.scalar(1, pa.int32()), n),
                "conflicts": pa.repeat(pa.scalar(0, pa.int32()), n), "region": region}))
            db.append("eligibility_runs", pa.Table.from_pylist([{
                "id": 1, "as_of": AS_OF, "law_name": "reference", "law_version": "2024-01-01",
                "law_sha256": "0" * 64, "law_text": "", "profile": "default", "resolve_run": 1,
                "started_at": now, "finished_at": now, "persons": n}]))
            db.append("eligibility_results", pa.table({
                "run_id": pa.repeat(pa.scalar(1, pa.int32()), n), "person_id": ids,
                "region": region, "status": pa.repeat(pa.scalar("eligible_conscript"), n),
                "ground": pa.repeat(pa.scalar("conscription"), n),
                "grounds": pa.repeat(pa.scalar("conscription"), n)}))
            db.commit()
        if store.dialect == "postgresql":
            with store.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
    finally:
        store.close()
    return regions


def bench_plan(label: str, workdir: Path, url: str | None, n: int, seed: int) -> float:
    muster = str(ROOT / ".venv" / "bin" / "muster")
    ws = workdir / label
    env = {**os.environ}
    env.pop("MUSTER_DATABASE_URL", None)
    if url:
        env["MUSTER_DATABASE_URL"] = url
    subprocess.run([muster, "init", str(ws)], check=True, env=env, capture_output=True)
    db_url = url or f"sqlite:///{ws / 'muster.db'}"
    started = time.perf_counter()
    regions = build(db_url, n, seed)
    print(f"[{label}] built {n:,} eligible persons in {time.perf_counter() - started:.1f} s")
    quotas = workdir / "quotas.csv"
    quotas.write_text("region,quota\n" + "".join(f"{r},{n // 200}\n" for r in regions),
                      encoding="utf-8")
    started = time.perf_counter()
    out = subprocess.run([muster, "-w", str(ws), "callup", "plan", "--as-of", str(AS_OF),
                          "--quotas", str(quotas), "--seed", "5eed"], env=env,
                         capture_output=True, text=True)
    wall = time.perf_counter() - started
    if out.returncode:
        sys.exit(f"plan failed:\n{out.stdout}\n{out.stderr}")
    print(out.stdout.strip().splitlines()[-1])
    started = time.perf_counter()
    check = subprocess.run([muster, "-w", str(ws), "callup", "verify", "1"], env=env,
                           capture_output=True, text=True)
    verify = time.perf_counter() - started
    verdict = "PASS" if wall <= PLAN_TARGET else "FAIL"
    print(f"[{label}] callup plan over {n:,} candidates: {wall:.1f} s wall "
          f"(target <= {PLAN_TARGET:.0f} s: {verdict}); verify {verify:.1f} s "
          f"(exit {check.returncode})")
    return wall


def bench_notices(workdir: Path, count: int) -> float:
    from muster.notices.issue import render_all
    from muster.notices.render import NoticeContext, notice_settings
    from muster.profile import load_profile

    settings = notice_settings(load_profile("default"))
    out = workdir / "notices"
    out.mkdir(exist_ok=True)
    jobs = []
    for i in range(count):
        ctx = NoticeContext(
            jurisdiction="Example Federation (fictional)", reference=f"1/TVE/{i + 1}",
            issued_on="2024-06-02", person_id=f"P{i:09d}", full_name=f"Иванов{i} Иван Иванович",
            birth_date="1999-03-10", region="TVE", region_name="Тверская область",
            office_name="Military registration office of Тверская область",
            office_address="1 Registry Street, Тверская область", report_on="2024-07-02",
            report_days=30, law_title="Reference military registration law (example)",
            law_name="reference", law_version="2024-01-01", as_of="2024-06-01",
            status_text="eligible for conscription", plan_id=1, seed="5eed" * 16,
            seed_short="5eed5eed5eed", ticket="ab" * 32, rank=i + 1, candidates=count,
            quota=count, appeal_days=15,
            deferment_grounds="dependents, protected occupation, student, temporarily unfit")
        jobs.append((ctx, str(out / f"notice-{i}.pdf")))
    started = time.perf_counter()
    render_all(settings, jobs)
    wall = time.perf_counter() - started
    per_10k = wall / count * 10_000
    sizes = sum(Path(p).stat().st_size for _, p in jobs) / count
    scaled = "" if count >= 10_000 else f" (extrapolated from {count:,})"
    verdict = "PASS" if per_10k <= NOTICE_TARGET else "FAIL"
    print(f"notices: {count:,} rendered in {wall:.1f} s on {os.cpu_count()} cores "
          f"({wall / count * 1000:.0f} ms each, {sizes / 1024:.0f} KiB each); 10,000 in "
          f"{per_10k:.0f} s{scaled} (target <= {NOTICE_TARGET:.0f} s: {verdict})")
    return per_10k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--notices", type=int, default=10_000)
    parser.add_argument("--postgres-url", help="also run on this server (a database "
                        "muster_bench_callup is (re)created on it)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory(prefix="muster-bench-callup-") as tmp:
        work = Path(tmp)
        bench_plan("sqlite", work, None, args.persons, args.seed)
        if args.postgres_url:
            url = fresh_database(args.postgres_url, "muster_bench_callup")
            assert url is not None
            bench_plan("postgresql", work, url, args.persons, args.seed)
        if args.notices:
            bench_notices(work, args.notices)


if __name__ == "__main__":
    main()
