"""Eligibility benchmark: decide 1,000,000 persons on SQLite and on PostgreSQL.

The golden tables, the persons' source records and the review list are built
synthetically at full size, set-based (NumPy -> Arrow -> the database), instead of
running ingest and resolution: this measures the evaluation alone. Then
`muster eligibility evaluate --as-of DATE` runs as its own process per backend; its
wall time and peak memory (max RSS) are printed.
Target: <= 20 s per backend for 1,000,000 persons.

    python benchmarks/eligibility.py                       # 1,000,000 persons
    python benchmarks/eligibility.py --persons 100000 --postgres-url postgresql+psycopg://...

With --postgres-url a database `muster_bench_elig` is (re)created on that server;
without it a private PostgreSQL server is started with scripts/postgres.sh.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from _common import on_each_backend, run_measured

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 20.0
AS_OF = date(2024, 6, 1)
OCCUPATIONS = ["physician", "nurse", "teacher", "firefighter", "engineer", "driver",
               "programmer", "builder", "seller", "accountant", None, None, None]
SOURCES = ["passports", "civil", "health", "military", "tax", "voters", "education"]


def _days(d: np.ndarray) -> pa.Array:
    """int days since 1970 (NaT as -1) -> Arrow date32 with nulls."""
    mask = d < -40000
    return pa.array(np.where(mask, 0, d).astype(np.int32), pa.date32(), mask=mask)


def _name_keys(rng: np.random.Generator, n: int, pool: int) -> pa.Array:
    """Name keys drawn from ``pool`` random spellings, common ones far more often (Zipf),
    so the look for other files (eligibility.other_files) meets the namesakes a real
    register has."""
    letters = np.array(list("abcdefghiklmnoprstuvz"))
    names = np.array(["".join(rng.choice(letters, size=rng.integers(4, 10)))
                      for _ in range(pool)])
    weights = 1 / np.arange(1, pool + 1)
    return pa.array(names[rng.choice(pool, size=n, p=weights / weights.sum())])


def golden_tables(n: int, regions: list[str], seed: int) -> tuple[pa.Table, pa.Table]:
    """A register of ``n`` persons shaped like the synthetic population's golden records."""
    rng = np.random.default_rng(seed)
    as_of = (np.datetime64(AS_OF) - np.datetime64("1970-01-01")).astype(int)
    nat = -10**6
    ids = np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 9))
    age_days = (rng.random(n) * 90 * 365.25).astype(np.int64)
    birth = as_of - age_days
    age = age_days / 365.25
    birth = np.where(rng.random(n) < 0.003, nat, birth)
    sex = rng.choice(np.array(["M", "F"]), size=n)
    male = sex == "M"
    sex_arr = pa.array(sex, mask=rng.random(n) < 0.003)
    dead = rng.random(n) < 0.004 + 0.3 * np.clip((age - 50) / 40, 0, None) ** 2
    death = np.where(dead, as_of - (rng.random(n) * 3650).astype(np.int64), nat)
    examined = (age >= 16) & (age <= 60) & (rng.random(n) < np.where(male, 0.93, 0.03))
    fitness = rng.choice(np.array(list("ABCDE")), size=n, p=[0.40, 0.33, 0.15, 0.04, 0.08])
    fitness_date = np.where(examined, as_of - (rng.random(n) * 40 * 30.4).astype(np.int64), nat)
    dependents = np.where((age >= 20) & (age <= 65), rng.choice(5, size=n,
                                                                p=[.42, .30, .20, .06, .02]), 0)
    student = (age >= 16) & (age <= 25) & (rng.random(n) < 0.5)
    student_until = np.where(student, as_of + (rng.random(n) * 1500 - 200).astype(np.int64), nat)
    occupation = rng.choice(np.array(OCCUPATIONS, dtype=object), size=n)
    served = male & (age >= 20) & (rng.random(n) < 0.45)
    service_end = np.where(served, as_of - (rng.random(n) * np.maximum(age - 19, 0.1)
                                            * 365.25).astype(np.int64), nat)
    rank = np.where(served, rng.choice(np.array(["рядовой", "сержант", "лейтенант"]), size=n),
                    None)
    # Names spelt as their keys: the look for other files compares both.
    keys = {"family": _name_keys(rng, n, 5000), "given": _name_keys(rng, n, 300),
            "middle": _name_keys(rng, n, 300)}
    records = pa.table({
        "person_id": pa.array(ids),
        "records": pa.array(rng.integers(1, 7, size=n).astype(np.int32)),
        "conflicts": pa.array(np.zeros(n, np.int32)),
        **{f"{name}_name": pc.utf8_capitalize(key) for name, key in keys.items()},
        **{f"{name}_key": key for name, key in keys.items()},
        "sex": sex_arr,
        "birth_date": _days(birth),
        "region": pa.array(rng.choice(np.array(regions), size=n)),
        "fitness_category": pa.array(fitness, mask=~examined),
        "fitness_date": _days(fitness_date),
        "death_date": _days(death),
        "dependents": pa.array(dependents.astype(np.int32), mask=~((age >= 20) & (age <= 65))),
        "student_until": _days(student_until),
        "occupation": pa.array(occupation, pa.string()),
        "military_rank": pa.array(rank, pa.string()),
        "service_end": _days(service_end),
    })
    # golden_values: the identity and fact fields each person has, one chosen value per
    # field, and a disagreeing birth date for 1% of persons (half settled by an officer).
    parts = []
    for field in ("family_name", "given_name", "sex", "birth_date", "region",
                  "fitness_category"):
        column = records.column(field)
        keep = pc.invert(pc.is_null(column))
        sub = records.filter(keep)
        parts.append(pa.table({
            "person_id": sub.column("person_id"),
            "field": pa.array(np.full(sub.num_rows, field)),
            "value": sub.column(field).cast(pa.string()),
            "source": pa.array(rng.choice(np.array(SOURCES), size=sub.num_rows)),
            "record_id": sub.column("person_id"),
            "support": pa.array(np.ones(sub.num_rows, np.int32)),
            "chosen": pa.array(np.ones(sub.num_rows, np.int32)),
            "conflict": pa.array(np.zeros(sub.num_rows, np.int32)),
        }))
    k = n // 100
    pick = rng.choice(n, size=k, replace=False)
    officer = rng.random(k) < 0.5
    for chosen in (1, 0):
        parts.append(pa.table({
            "person_id": pa.array(ids[pick]),
            "field": pa.array(np.full(k, "birth_date")),
            "value": pa.array(np.full(k, "1990-01-01")),
            "source": pa.array(np.where(officer & (chosen == 1), "registration_office",
                                        "voters")),
            "record_id": pa.array(np.char.add(ids[pick], "-c")),
            "support": pa.array(np.ones(k, np.int32)),
            "chosen": pa.array(np.full(k, chosen, np.int32)),
            "conflict": pa.array(np.ones(k, np.int32)),
        }))
    return records, pa.concat_tables(parts)


def review_tables(records: pa.Table, seed: int) -> dict[str, pa.Table]:
    """Each person's source records (``records`` of them), and the review list and
    decisions the ``identity_in_review`` ground reads: open pairs, 6 per 100 persons
    (resolution left 5,727 for 98,141 persons of the synthetic 100,000), and decisions
    not yet applied, 2 per 1,000 persons. Field flags, which the ``unreadable_value``
    ground reads: an identifier that failed its check on 1 record in 100 (the synthetic
    extracts' rate), and a death date that could not be read on 1 in 10,000."""
    rng = np.random.default_rng(seed + 1)
    ids = np.asarray(records.column("person_id").to_numpy(zero_copy_only=False))
    counts = records.column("records").to_numpy()
    person = np.repeat(ids, counts)
    nth = np.arange(len(person)) - np.repeat(np.cumsum(counts) - counts, counts)
    sources = np.array(SOURCES)[nth % len(SOURCES)]
    record_ids = np.char.add(np.char.add(person.astype(str), "-"), nth.astype(str))
    members = pa.table({"source": sources, "record_id": record_ids, "person_id": person,
                        "run_id": np.ones(len(person), np.int32)})

    def pairs(share: float) -> dict[str, np.ndarray]:
        left = rng.choice(len(person), size=int(len(ids) * share), replace=False)
        right = rng.integers(0, len(person), size=len(left))
        return {"source_l": sources[left], "record_id_l": record_ids[left],
                "source_r": sources[right], "record_id_r": record_ids[right]}

    open_pairs = pairs(0.06)
    k = len(open_pairs["source_l"])
    review = pa.table({"id": np.arange(1, k + 1), "run_id": np.ones(k, np.int32),
                       "kind": np.full(k, "uncertain"), **open_pairs,
                       "match_weight": rng.uniform(20, 28, k), "detail": np.full(k, "bench"),
                       "status": np.full(k, "open")})
    pending = pairs(0.002)
    k = len(pending["source_l"])
    decided = pa.table({"id": np.arange(1, k + 1), **pending, "decision": np.full(k, "same"),
                        "actor": np.full(k, "bench"), "reason": np.full(k, "bench"),
                        "decided_at": pa.array(np.full(k, np.datetime64("2024-05-01", "us")),
                                               pa.timestamp("us", tz="UTC")),
                        "applied_run": pa.nulls(k, pa.int32())})
    flagged = rng.choice(len(person), size=len(person) // 100, replace=False)
    unread = np.arange(len(flagged)) % 100 == 0
    flags = pa.table({"source": sources[flagged], "record_id": record_ids[flagged],
                      "field": np.where(unread, "death_date", "tax_id"),
                      "problem": np.where(unread, "bad_date", "bad_check_digits"),
                      "raw_value": np.where(unread, "31.02.2024", "7700000000")})
    return {"person_records": members, "review_pairs": review, "review_decisions": decided,
            "record_flags": flags}


def build(url: str, n: int, seed: int) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from datetime import UTC, datetime

    from muster.profile import load_profile
    from muster.store import open_store
    from muster.store.bulk import bulk_transaction

    regions = [r.code for r in load_profile("default").regions.regions]
    started = time.perf_counter()
    records, values = golden_tables(n, regions, seed)
    store = open_store(url)
    with bulk_transaction(store) as db:
        now = datetime.now(UTC)
        db.append("resolve_runs", pa.Table.from_pylist([{
            "id": 1, "engine": "bench", "mode": "full", "started_at": now, "finished_at": now,
            "last_batch": 0, "records": n, "persons": n, "links": 0, "review": 0,
            "collisions": 0, "model": "{}"}]))
        db.append("golden_records", records)
        db.append("golden_values", values)
        review = review_tables(records, seed)
        for table, rows in review.items():
            db.append(table, rows)
        db.commit()
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("golden_records", "golden_values", *review):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
    store.close()
    print(f"  built {n:,} golden records, {values.num_rows:,} golden values, "
          f"{review['person_records'].num_rows:,} source records of persons, "
          f"{review['review_pairs'].num_rows:,} open review pairs and "
          f"{review['review_decisions'].num_rows:,} pending decisions, "
          f"{review['record_flags'].num_rows:,} field flags "
          f"in {time.perf_counter() - started:.1f} s")


def bench(label: str, workdir: Path, url: str | None, n: int, seed: int) -> tuple[float, float]:
    root = workdir / label
    env = dict(os.environ)
    env.pop("MUSTER_DATABASE_URL", None)
    muster = [sys.executable, "-m", "muster", "--workspace", str(root)]
    subprocess.run([sys.executable, "-m", "muster", "init", str(root)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    if url:
        env["MUSTER_DATABASE_URL"] = url
    print(f"{label}:", flush=True)
    # Built in a child process: a child's peak RSS on Linux starts from its parent's size
    # at fork, so this process stays small for the measured evaluate to be its own.
    subprocess.run([sys.executable, __file__, "--build", url or f"sqlite:///{root / 'muster.db'}",
                    "--persons", str(n), "--seed", str(seed)], env=env, check=True)
    wall, peak, out = run_measured([*muster, "eligibility", "evaluate", "--as-of",
                                    AS_OF.isoformat()], env)
    print(out.strip().splitlines()[-1])
    verdict = "within" if wall <= TARGET_SECONDS else "OVER"
    held, unread = _held(url or f"sqlite:///{root / 'muster.db'}")
    print(f"  evaluate {n:,} persons: {wall:.1f} s wall, peak {peak:.0f} MiB "
          f"({verdict} the {TARGET_SECONDS:.0f} s target); {held:,} held for another file "
          f"that may be theirs, {unread:,} for a value that could not be read")
    return wall, peak


def _held(url: str) -> tuple[int, int]:
    """Persons the evaluation held for another file (eligibility.other_files), and for
    a value about a ground that could not be read."""
    import sqlalchemy as sa

    from muster.eligibility.rules import OTHER_FILE_GROUND, UNREADABLE_GROUND
    from muster.store import open_store

    store = open_store(url, upgrade=False)
    try:
        with store.engine.connect() as conn:
            other, unread = (int(conn.execute(sa.text(
                "SELECT count(*) FROM eligibility_results WHERE ground = :g"),
                {"g": ground}).scalar() or 0) for ground in (OTHER_FILE_GROUND, UNREADABLE_GROUND))
            return other, unread
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL"))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--build", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build, args.persons, args.seed)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="muster-bench-elig-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"muster eligibility benchmark: {args.persons:,} persons, as of {AS_OF}, in {workdir}")
    results = on_each_backend(
        workdir, args.postgres_url, args.skip_postgres, "muster_bench_elig",
        lambda label, url: bench(label, workdir, url, args.persons, args.seed))
    print("\nbackend      persons    wall s   peak MiB")
    for label, (wall, peak) in results:
        print(f"{label:<10} {args.persons:>9,} {wall:9.1f} {peak:10.0f}")


if __name__ == "__main__":
    main()
