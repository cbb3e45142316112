"""Service benchmark: person lookups over HTTP on a 1,000,000-person register on PostgreSQL.

The register is built once through the real pipeline (`muster synth` -> `ingest --all`
-> `resolve` -> `eligibility evaluate`) into a database named for its size,
``muster_bench_service_<N>``, and reused while it exists (``--rebuild`` builds it
again). So a person's record has what resolution really gives it: several source
records, their links, the golden values and their sources, an eligibility result.

The service runs as ``uvicorn --factory muster.service.asgi:app --workers W`` on loopback
(what ``muster serve --workers W`` runs, and with uvloop and httptools, which uvicorn picks
up when they are installed, as they are with muster). The load is closed loop: C
concurrent connections (default 50), each sending its next request as soon as its last
answer arrived, for a fixed time after a warm-up. It comes from ``wrk`` (one thread;
``--client wrk``, the default), or with ``--client httpx`` from this process: an httpx
AsyncClient with C tasks, which on a small machine takes a whole core at ~2,000 req/s
away from the service it measures; wrk (C, epoll) needs a fraction of that. Person ids
and search terms are drawn at random from the register (seeded by --seed; wrk runs them
through a generated Lua script). Scenarios, each as a bearer-token client:

  person (administrator)   GET /api/v1/persons/{id}?purpose=casework  (the main lookup)
  person (officer)         the same as a regional officer, ids from the officer's region
  search name+birth date   GET /api/v1/persons?name=FAMILY+GIVEN&birth_date=YYYY-MM-DD
  search identifier        GET /api/v1/persons?id=NATIONAL_ID
  floor: token check only  GET /api/v1/me  (no person read, no audit entry)

The floor is the least an authenticated request costs this stack on this machine (token
lookup, FastAPI, uvicorn): what no person read can beat. With C closed-loop clients the
mean latency is C / throughput (Little's law), so p99 <= 50 ms at 50 clients needs well
over 1,000 answers a second; the floor's line shows whether this machine can give that
at all.

With ``--rate R`` each scenario runs a second time with the same C clients paced to R
requests/s in total (latency counted from when a request was due, so a slow answer
is not hidden by the requests it delayed); wrk cannot pace, so these runs always use
httpx. Goal: p99 <= 50 ms.

    python benchmarks/service.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:55499/postgres
    python benchmarks/service.py --persons 100000 --extracts /tmp/ext100k --rate 100

Without --postgres-url a private PostgreSQL server is started in --workdir (kept, like
the register in it, for the next run). wrk is Debian's package ``wrk``; when it is
missing and the benchmark runs as root, it installs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx2 as httpx
import numpy as np
import sqlalchemy as sa
from _common import (
    MUSTER,
    fresh_database,
    machine_speed,
    new_workspace,
    postgres_server,
    run_measured,
)

if TYPE_CHECKING:
    from muster.store import Store

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2024-06-01"
GOAL_P99_MS = 50.0
SAMPLE = 20_000  # person ids (and search terms) drawn per scenario


# --- the register --------------------------------------------------------------------

def database_url(server: str, name: str) -> str:
    return str(sa.engine.make_url(server).set(database=name).render_as_string(
        hide_password=False))


def register_size(url: str) -> int | None:
    """Persons in a complete benchmark register at ``url`` (None: missing or unfinished;
    the evaluation is the last step of the build)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT count(*) FROM eligibility_runs")).scalar():
                return None
            return int(conn.execute(sa.text(
                "SELECT count(*) FROM persons WHERE status = 'active'")).scalar() or 0)
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def build_register(server: str, name: str, persons: int, seed: int, workdir: Path,
                   extracts: Path | None) -> str:
    """Synthesise, ingest, resolve and evaluate a register into a fresh database."""
    url = fresh_database(server, name)
    assert url is not None
    if extracts is None:
        extracts = workdir / f"extracts-{persons}"
        if not (extracts / "sources.toml").exists():
            wall, peak, _ = run_measured([*MUSTER, "synth", str(extracts), "--persons",
                                          str(persons), "--seed", str(seed)])
            print(f"  synth {persons:,} persons: {wall:.0f} s, peak {peak:,.0f} MiB", flush=True)
    ws = workspace_dir(workdir, persons)
    env = new_workspace(ws, extracts / "sources.toml", url)
    muster = [*MUSTER, "-w", str(ws)]
    for step in (["ingest", "--all"], ["resolve"], ["eligibility", "evaluate", "--as-of", AS_OF]):
        wall, peak, out = run_measured([*muster, *step], env)
        last = out.strip().splitlines()[-1] if out.strip() else ""
        print(f"  {' '.join(step)}: {wall:.0f} s, peak {peak:,.0f} MiB  {last[:100]}", flush=True)
    return url


def workspace_dir(workdir: Path, persons: int) -> Path:
    return workdir / f"ws-{persons}"


# --- accounts and what the clients ask for ---------------------------------------------

@dataclass
class Scenario:
    label: str
    token: str
    paths: list[str]


def _token(store: Store, username: str, role: str, regions: tuple[str, ...] = ()) -> str:
    from muster.errors import ConflictError
    from muster.service.accounts import add_account, create_token

    with suppress(ConflictError):  # made by an earlier run on this register: a new token
        add_account(store, username, secrets.token_urlsafe(16), role, regions=regions)
    return str(create_token(store, username, "benchmark"))


def scenarios(url: str, seed: int) -> tuple[list[Scenario], str]:
    """The scenarios with their tokens and random requests; the officer's region."""
    from muster.store import open_store

    store = open_store(url)  # also brings the schema (and its indexes) up to date
    try:
        with store.engine.connect() as conn:
            conn.execute(sa.text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
            region = conn.execute(sa.text(
                "SELECT region FROM golden_records WHERE region IS NOT NULL "
                "GROUP BY region ORDER BY count(*) DESC LIMIT 1")).scalar_one()
            anyone = [r[0] for r in conn.execute(sa.text(
                "SELECT person_id FROM golden_records ORDER BY random() LIMIT :n"),
                {"n": SAMPLE})]
            in_region = [r[0] for r in conn.execute(sa.text(
                "SELECT person_id FROM golden_records WHERE region = :r "
                "ORDER BY random() LIMIT :n"), {"r": region, "n": SAMPLE})]
            named = conn.execute(sa.text(
                "SELECT family_name, given_name, birth_date FROM golden_records "
                "WHERE family_name IS NOT NULL AND given_name IS NOT NULL "
                "AND birth_date IS NOT NULL ORDER BY random() LIMIT :n"), {"n": SAMPLE}).all()
            ids = [r[0] for r in conn.execute(sa.text(
                "SELECT national_id FROM golden_records WHERE national_id IS NOT NULL "
                "ORDER BY random() LIMIT :n"), {"n": SAMPLE})]
        admin = _token(store, "bench-admin", "administrator")
        officer = _token(store, f"bench-officer-{region.lower()}", "officer", (region,))
    finally:
        store.close()
    person = "/api/v1/persons/{}?purpose=casework"
    return [
        Scenario("person (administrator)", admin, [person.format(p) for p in anyone]),
        Scenario(f"person (officer, {region})", officer, [person.format(p) for p in in_region]),
        Scenario("search name+birth date", admin, [
            "/api/v1/persons?" + urlencode({"name": f"{f} {g}", "birth_date": str(d)})
            for f, g, d in named]),
        Scenario("search identifier", admin, [
            "/api/v1/persons?" + urlencode({"id": i}) for i in ids]),
        Scenario("floor: token check only", admin, ["/api/v1/me"]),
    ], region


# --- the server and the load ------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    pid: int  # uvicorn's supervisor; its workers are its children


@contextmanager
def uvicorn_server(ws: Path, url: str, workers: int, factory: str,
                   threads: int | None = None) -> Iterator[Server]:
    """``uvicorn --workers N`` serving the register, each worker working on ``threads``
    requests at once (None: muster's default); yields it once it answers. (A PYTHONPATH
    given to the benchmark reaches the server: to serve another checkout's muster, for a
    before/after comparison.)"""
    port = _free_port()
    env = {**os.environ, "MUSTER_WORKSPACE": str(ws), "MUSTER_DATABASE_URL": url,
           "MUSTER_SECRET_KEY": secrets.token_urlsafe(32)}
    if threads:
        env["MUSTER_REQUEST_THREADS"] = str(threads)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning", "--timeout-keep-alive", "60"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit("the service did not start (see its output above)")
            time.sleep(0.5)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(c) for c in text.split()]


@dataclass
class CpuMeter:
    """CPU seconds spent by the service (uvicorn and its workers) and by the PostgreSQL
    backends serving its database: on a shared machine, CPU per request is steadier
    than wall time. Backends that start and end within a run are not seen."""
    server_pid: int
    url: str

    def _backends(self) -> list[int]:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return [int(r[0]) for r in conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"))]
        finally:
            engine.dispose()

    def sample(self) -> tuple[float, dict[int, float]]:
        server = sum(_cpu_seconds(p) for p in [self.server_pid, *_children(self.server_pid)])
        return server, {p: _cpu_seconds(p) for p in self._backends()}

    @staticmethod
    def spent(before: tuple[float, dict[int, float]],
              after: tuple[float, dict[int, float]]) -> tuple[float, float]:
        """(service, database) CPU seconds between two samples."""
        database = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in after[1].items())
        return after[0] - before[0], database


@dataclass
class Figures:
    requests: int
    failed: Counter[int | str]  # by HTTP status (0: connection broke), or wrk's error kind
    seconds: float
    latencies_ms: np.ndarray  # per request; empty from wrk, which gives `given_ms` instead
    client_cpu: float  # share of one core the load generator used
    server_cpu_ms: float = 0.0  # service CPU per request
    database_cpu_ms: float = 0.0  # PostgreSQL backends' CPU per request
    load: float = 0.0  # the machine's 1-minute load average at the end of the run
    given_ms: dict[float, float] = field(default_factory=dict)  # percentile -> ms; 100: max

    def percentile(self, q: float) -> float:
        if q in self.given_ms:
            return self.given_ms[q]
        return float(np.percentile(self.latencies_ms, q)) if len(self.latencies_ms) else 0.0


async def _load(base: str, scenario: Scenario, clients: int, seconds: float,
                rate: float | None, seed: int) -> Figures:
    latencies: list[float] = []
    failed: Counter[int | str] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {scenario.token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=60) as client:
        loop = asyncio.get_running_loop()
        start = loop.time()
        stop = start + seconds
        period = clients / rate if rate else 0.0

        async def one(i: int) -> None:
            rng = random.Random(seed * 1000 + i)
            due = start + i * period / clients
            while True:
                if rate:
                    if due >= stop:  # not after a sleep past the end, which it would count
                        return
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    sent = due  # paced: a late start counts against the answer
                    due += period
                else:
                    sent = loop.time()
                if sent >= stop:
                    return
                try:
                    status = (await client.get(rng.choice(scenario.paths))).status_code
                except httpx.TransportError:
                    status = 0  # the connection broke: counted as failed, shown as 0
                latencies.append((loop.time() - sent) * 1000)
                if status != 200:
                    failed[status] += 1

        cpu = time.process_time()
        await asyncio.gather(*(one(i) for i in range(clients)))
        elapsed = loop.time() - start
        cpu = time.process_time() - cpu
    return Figures(len(latencies), failed, elapsed, np.array(latencies), cpu / elapsed)


def _lua_string(text: str) -> str:
    """A Lua string literal: printable ASCII as is, any other byte (and quote and
    backslash) as a decimal escape, which every Lua version reads."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}"
                         for b in text.encode()) + '"'


# After the scenario's `paths`. wrk calls init(args) with the arguments after "--".
WRK_SCRIPT = """
local prepared = {}

function init(args)
  math.randomseed(tonumber(args[1]))
  -- the requests are formatted once, so that request() costs wrk next to nothing
  for i, path in ipairs(paths) do prepared[i] = wrk.format(nil, path) end
end

function request()
  return prepared[math.random(#prepared)]
end

function done(summary, latency)
  local e = summary.errors
  io.write(string.format("muster-figures requests=%d duration=%d connect=%d read=%d "
    .. "write=%d status=%d timeout=%d p50=%d p90=%d p99=%d max=%d\\n", summary.requests,
    summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_script(path: Path, scenario: Scenario) -> Path:
    """Write wrk's Lua script for a scenario: its token and its paths."""
    path.write_text(
        f'wrk.headers["Authorization"] = {_lua_string("Bearer " + scenario.token)}\n'
        "paths = {\n" + ",\n".join(map(_lua_string, scenario.paths)) + "\n}\n" + WRK_SCRIPT)
    return path


def _wrk(base: str, script: Path, clients: int, seconds: float, seed: int) -> Figures:
    """A closed-loop run of wrk; its CPU share from the rusage of waited-for children
    (the service is a child too, but is not waited for until it ends)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # -d takes whole seconds
    proc = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s",
                           "--timeout", "60s", "-s", str(script), base, "--", str(seed)],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("muster-figures ")]
    if proc.returncode or not lines:
        sys.exit(f"wrk failed:\n{proc.stdout}\n{proc.stderr}")
    got = {key: int(value) for key, value in (kv.split("=") for kv in lines[-1].split()[1:])}
    failed: Counter[int | str] = Counter(
        {kind: got[kind] for kind in ("connect", "read", "write", "status", "timeout")
         if got[kind]})
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Figures(got["requests"], failed, got["duration"] / 1e6, np.empty(0), cpu / elapsed,
                   given_ms={q: got[k] / 1000 for q, k in
                             ((50, "p50"), (90, "p90"), (99, "p99"), (100, "max"))})


def measure(server: Server, meter: CpuMeter, scenario: Scenario, clients: int,
            seconds: float, warmup: float, rate: float | None, seed: int,
            script: Path | None) -> Figures:
    """Warm up, then measure; with wrk's ``script`` for the scenario, or else httpx."""
    def load(secs: float, run_seed: int) -> Figures:
        if script is None:
            return asyncio.run(_load(server.base, scenario, clients, secs, rate, run_seed))
        return _wrk(server.base, script, clients, secs, run_seed)

    if warmup > 0:
        load(warmup, seed + 1)  # other ids than the measured run's, which it would warm
    before = meter.sample()
    figures = load(seconds, seed)
    service, database = CpuMeter.spent(before, meter.sample())
    per_request = 1000 / max(1, figures.requests)
    figures.server_cpu_ms, figures.database_cpu_ms = service * per_request, database * per_request
    figures.load = os.getloadavg()[0]
    return figures


def report_line(label: str, mode: str, f: Figures) -> str:
    p99 = f.percentile(99)
    errors = sum(f.failed.values())
    verdict = "within" if p99 <= GOAL_P99_MS else "OVER"
    fails = f"  {errors} failed {dict(f.failed)}" if errors else ""
    return (f"{label:<28} {mode:<12} {f.requests:>8,} {f.requests / f.seconds:>8,.0f} "
            f"{f.percentile(50):>7.1f} {f.percentile(90):>7.1f} {p99:>7.1f} "
            f"{f.percentile(100):>7.0f} "
            f"{f.client_cpu:>6.0%} {f.server_cpu_ms:>6.1f} {f.database_cpu_ms:>5.1f} "
            f"{f.load:>5.1f}  {verdict}{fails}")


# --- main ------------------------------------------------------------------------------

def run(args: argparse.Namespace, server: str) -> None:
    name = f"muster_bench_service_{args.persons}"
    url = database_url(server, name)
    size = None if args.rebuild else register_size(url)
    if size is None:
        print(f"building the register {name} (synth -> ingest -> resolve -> evaluate):",
              flush=True)
        build_register(server, name, args.persons, args.seed, args.workdir, args.extracts)
        size = register_size(url)
        assert size is not None
    else:
        print(f"reusing the register {name} (--rebuild to build it again)")
    ws = workspace_dir(args.workdir, args.persons)
    if not (ws / "muster.toml").exists():
        new_workspace(ws, None, url)
    tests, region = scenarios(url, args.seed)
    tests = [t for t in tests if args.only in t.label]
    load = f"{args.clients} concurrent {args.client} " + (
        "connections" if args.client == "wrk" else "clients")
    if args.client == "wrk" and args.rate:
        load += f" (paced runs: {args.clients} httpx clients, wrk cannot pace)"
    threads = f"{args.threads} threads each" if args.threads else "muster's default threads"
    print(f"register: {size:,} persons on PostgreSQL; uvicorn --workers {args.workers} "
          f"({threads}); "
          f"{load} on loopback; {args.seconds:.0f} s per run "
          f"after {args.warmup:.0f} s warm-up; officer bound to {region}; "
          f"{os.cpu_count()} cores", flush=True)
    lines = []
    speed = [machine_speed()]
    with uvicorn_server(ws, url, args.workers, args.app, args.threads) as service, \
            tempfile.TemporaryDirectory() as scripts:
        meter = CpuMeter(service.pid, url)
        for i, scenario in enumerate(tests):
            script = None
            if args.client == "wrk":
                script = wrk_script(Path(scripts) / f"scenario-{i}.lua", scenario)
            modes: list[tuple[str, float | None]] = [("closed loop", None)]
            if args.rate:
                modes.append((f"{args.rate:.0f} req/s", args.rate))
            for mode, rate in modes:
                figures = measure(service, meter, scenario, args.clients, args.seconds,
                                  args.warmup, rate, args.seed, None if rate else script)
                lines.append(report_line(scenario.label, mode, figures))
                print(lines[-1], flush=True)
    speed.append(machine_speed())
    print(f"\n{size:,} persons, {args.clients} clients ({args.client}"
          f"{', paced: httpx' if args.client == 'wrk' and args.rate else ''}), "
          f"{args.workers} uvicorn workers; latency in ms; goal p99 <= {GOAL_P99_MS:.0f} ms; "
          "client: the load generator's share of a core; svc/db: CPU ms per request of the "
          "service and of PostgreSQL; loadavg: the machine's 1-minute load average (other "
          "work included); machine speed (millions of loop turns/s per core) before "
          f"{speed[0]:.2f}, after {speed[1]:.2f}")
    print(f"{'scenario':<28} {'load':<12} {'requests':>8} {'req/s':>8} {'p50':>7} {'p90':>7} "
          f"{'p99':>7} {'max':>7} {'client':>6} {'svc':>6} {'db':>5} {'loadavg':>5}")
    for line in lines:
        print(line)


def ensure_wrk() -> None:
    """wrk on PATH; as root, installed from the distribution's packages if it is not."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is not installed: installing it (apt-get install -y wrk)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
        if shutil.which("wrk"):
            return
    sys.exit("the load generator wrk is not installed: install it (Debian/Ubuntu: "
             "apt-get install wrk) or pass --client httpx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get("MUSTER_BENCH_POSTGRES_URL"),
                        help="server to keep the register on (its database "
                        "muster_bench_service_<N> is made there)")
    parser.add_argument("--extracts", type=Path, default=None,
                        help="build from these extracts (with sources.toml) instead of "
                        "synthesising them")
    parser.add_argument("--rebuild", action="store_true",
                        help="build the register again even if it exists")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=None,
                        help="requests each worker works on at once (MUSTER_REQUEST_THREADS; "
                        "default: muster's own)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--client", choices=["wrk", "httpx"], default="wrk",
                        help="the load generator: wrk (default; little CPU) or httpx in "
                        "this process")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="also run each scenario paced to this many requests/s in total "
                        "(always with httpx)")
    parser.add_argument("--app", default="muster.service.asgi:app",
                        help="the ASGI app factory uvicorn serves (another build's, to "
                        "compare)")
    parser.add_argument("--only", default="",
                        help="run only the scenarios whose label contains this text")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "muster-bench-service")
    args = parser.parse_args()
    if args.client == "wrk":
        ensure_wrk()
    args.workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(args.workdir, 0o755)
    if args.extracts:
        args.extracts = args.extracts.resolve()
    sys.path.insert(0, str(ROOT / "src"))
    with postgres_server(args.workdir, args.postgres_url) as server:
        run(args, server)


if __name__ == "__main__":
    main()
