"""Ingest benchmark: synthesise N persons, ingest every source into SQLite and PostgreSQL.

Prints rows/s, wall time and peak memory (max RSS of the ingest process) per source
and in total. Each ingest runs as its own `muster ingest` process, so its peak
memory is its own, and the figures are what an operator would see.

    python benchmarks/ingest.py --persons 1000000
    python benchmarks/ingest.py --persons 100000 --postgres-url postgresql+psycopg://...
    python benchmarks/ingest.py --extracts /tmp/ext1m --all   # reuse extracts; also time --all

Without --postgres-url a private PostgreSQL server is started with scripts/postgres.sh.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import tomllib
from pathlib import Path

from _common import (
    MUSTER,
    drop_database,
    fresh_database,
    new_workspace,
    postgres_server,
    run_measured,
    settle,
)

TARGET_ROWS_PER_SECOND = 100_000
TARGET_PEAK_MIB = 4096


def _workspace(label: str, extracts: Path, workdir: Path, database_url: str | None) -> tuple[
    Path, dict[str, str], list[str]
]:
    ws = workdir / f"ws-{label}"
    env = new_workspace(ws, extracts / "sources.toml", database_url)
    return ws, env, MUSTER


def bench_backend(label: str, extracts: Path, workdir: Path, database_url: str | None) -> list[
    tuple[str, int, float, float]
]:
    url = fresh_database(database_url, "muster_bench_sources")
    ws, env, muster = _workspace(label, extracts, workdir, url)
    sources = tomllib.loads((extracts / "sources.toml").read_text())["sources"]
    results = []
    for name, decl in sources.items():
        settle(database_url)
        wall, peak, out = run_measured(
            [*muster, "-w", str(ws), "ingest", name, str(extracts / decl["file"])], env)
        rows = int(out.split("read ")[1].split(" ")[0].replace(",", ""))
        results.append((name, rows, wall, peak))
        print(f"  {label:10} {name:10} {rows:>10,} rows {wall:7.1f} s "
              f"{rows / wall:>10,.0f} rows/s  peak {peak:7.0f} MiB", flush=True)
    drop_database(database_url, "muster_bench_sources")
    return results


def bench_all(label: str, extracts: Path, workdir: Path, database_url: str | None) -> list[
    tuple[str, int, float, float]
]:
    """`muster ingest --all` as one process into a fresh register (the next source is read
    and normalised while the current one is written)."""
    url = fresh_database(database_url, "muster_bench_all")
    ws, env, muster = _workspace(f"{label}-all", extracts, workdir, url)
    settle(database_url)
    wall, peak, out = run_measured([*muster, "-w", str(ws), "ingest", "--all"], env)
    rows = sum(int(part.split(" ")[0].replace(",", "")) for part in out.split("read ")[1:])
    print(f"  {label:10} {'--all':10} {rows:>10,} rows {wall:7.1f} s "
          f"{rows / wall:>10,.0f} rows/s  peak {peak:7.0f} MiB", flush=True)
    return [("--all", rows, wall, peak)]


def report(label: str, results: list[tuple[str, int, float, float]]) -> None:
    rows = sum(r[1] for r in results)
    wall = sum(r[2] for r in results)
    peak = max(r[3] for r in results)
    ok = rows / wall >= TARGET_ROWS_PER_SECOND and peak <= TARGET_PEAK_MIB
    print(f"TOTAL {label:10} {rows:>10,} rows {wall:7.1f} s {rows / wall:>10,.0f} rows/s "
          f"peak {peak:,.0f} MiB  target ≥{TARGET_ROWS_PER_SECOND:,} rows/s, "
          f"≤{TARGET_PEAK_MIB:,} MiB: {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL"))
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--extracts", type=Path, default=None,
                        help="reuse this directory of extracts (with sources.toml): no synth")
    parser.add_argument("--all", action="store_true", dest="ingest_all",
                        help="also time `muster ingest --all` (one process) per backend")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="muster-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    extracts = args.extracts.resolve() if args.extracts else workdir / "extracts"
    if args.extracts:
        print(f"muster ingest benchmark: extracts {extracts}, in {workdir}")
    else:
        print(f"muster ingest benchmark: {args.persons:,} persons, seed {args.seed}, in {workdir}")
        wall, peak, _ = run_measured(
            [sys.executable, "-m", "muster", "synth", str(extracts), "--persons",
             str(args.persons), "--seed", str(args.seed)], dict(os.environ))
        print(f"  synth      {args.persons:,} persons {wall:7.1f} s  peak {peak:7.0f} MiB")

    def bench(label: str, url: str | None) -> None:
        summary.append((label, bench_backend(label, extracts, workdir, url)))
        if args.ingest_all:
            summary.append((f"{label} --all", bench_all(label, extracts, workdir, url)))

    summary: list[tuple[str, list[tuple[str, int, float, float]]]] = []
    bench("sqlite", None)
    if not args.skip_postgres:
        with postgres_server(workdir, args.postgres_url) as url:
            bench("postgresql", url)
    for label, results in summary:
        report(label, results)


if __name__ == "__main__":
    main()
