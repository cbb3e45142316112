#!/usr/bin/env bash
# Run the test suite against a private, throwaway PostgreSQL server.
#
#   bash scripts/test.sh [pytest args...]        (what `make test` runs)
#   PYTEST_ARGS='-x -k ingest' make test
#
# Steps: ensure .venv with the [test,dev,spark,bench] extras; ensure a Java 17+ runtime
# for the Spark engine (apt-get when there is none); ensure a PostgreSQL server is
# installed (apt-get when it isn't); start one in a mktemp dir under /tmp on
# 127.0.0.1:$MUSTER_TEST_PG_PORT (default 55432; the next free port when that one
# is busy); run pytest in MUSTER_TEST_WORKERS processes (default 2) with
# MUSTER_TEST_POSTGRES_URL, MUSTER_REQUIRE_POSTGRES=1 and MUSTER_REQUIRE_SPARK=1
# exported; always stop the server and remove the temp dir, whatever happens.
# Exit code: pytest's, except that "no tests collected" (pytest's 5) fails too.
#
# PYTEST_ARGS is split on whitespace (no quoting inside it); arguments given to
# this script are passed to pytest as they are.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${MUSTER_VENV:-$ROOT/.venv}

section() { printf '== %s\n' "$*"; }

section "ensuring virtualenv $VENV (pip install -e '.[test,dev,spark,bench]' when pyproject.toml changed)"
bash scripts/ensure_venv.sh

# WeasyPrint (notices as PDF) needs Pango and a Cyrillic font: apt-get only when missing.
section "ensuring system libraries for notices (Pango, fonts)"
bash scripts/system_deps.sh ensure

# The real-browser test drives Debian's Chromium (apt-get only when missing); with
# MUSTER_REQUIRE_BROWSER=1 it fails rather than skips when Chromium cannot run.
section "ensuring Chromium for the browser test"
bash scripts/system_deps.sh ensure browser
export MUSTER_REQUIRE_BROWSER=1

# The Spark engine's tests (tests/test_resolve_spark.py) need Java 17+: apt-get
# install -y --no-install-recommends default-jre-headless when it is missing, like
# `scripts/postgres.sh ensure`. With MUSTER_REQUIRE_SPARK=1 those tests fail rather
# than skip when Spark cannot run.
section "ensuring Java runtime (default-jre-headless) for Spark"
bash scripts/java.sh ensure
export MUSTER_REQUIRE_SPARK=1

section "ensuring PostgreSQL server"
bash scripts/postgres.sh ensure
PG_BINDIR=$(bash scripts/postgres.sh bindir)
PG_VERSION=$("$PG_BINDIR/postgres" --version | awk '{print $NF}')
PG_MAJOR=${PG_VERSION%%.*}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/muster-test.XXXXXX")
# The server runs as `postgres` when we are root: it must be able to enter $WORK.
chmod 755 "$WORK"
PGDIR=$WORK/pg
PG_STARTED=0

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local rc=$?
    set +e
    if [ "$PG_STARTED" = 1 ] || [ -f "$PGDIR/postmaster.pid" ]; then
        bash "$ROOT/scripts/postgres.sh" stop "$PGDIR" \
            || printf 'test.sh: warning: could not stop PostgreSQL in %s\n' "$PGDIR" >&2
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Print the first port >= $1 that 127.0.0.1 can bind (SO_REUSEADDR, like postgres).
free_port() {
    "$VENV/bin/python" - "$1" <<'EOF'
import socket, sys

start = int(sys.argv[1])
for port in list(range(start, min(start + 100, 65536))) + [0]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        sys.exit(0)
sys.exit("no free TCP port on 127.0.0.1")
EOF
}

WANT_PORT=${MUSTER_TEST_PG_PORT:-55432}
port=$WANT_PORT
for attempt in 1 2 3; do
    port=$(free_port "$port")
    if [ "$port" != "$WANT_PORT" ]; then
        echo "port $WANT_PORT is busy; using $port"
    fi
    section "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$port (data in $PGDIR)"
    PG_STARTED=1
    if bash scripts/postgres.sh start "$PGDIR" "$port"; then
        break
    fi
    PG_STARTED=0
    if [ "$attempt" = 3 ]; then
        echo "test.sh: error: could not start PostgreSQL (see above)" >&2
        exit 1
    fi
    # Perhaps someone took the port between our check and the start: try the next.
    port=$((port + 1))
done

export MUSTER_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
export MUSTER_REQUIRE_POSTGRES=1

read -r -a extra_args <<<"${PYTEST_ARGS:-}"
# Two pytest workers (pytest-xdist), each taking whole test files so that a module's
# fixtures are built once: on two cores the suite took 8 min 41 s instead of 13 min 52 s,
# much of a test being Python or a store's writer, one core. MUSTER_TEST_WORKERS=0 runs
# it in this process (pdb, print debugging); -n in PYTEST_ARGS overrides it.
workers=${MUSTER_TEST_WORKERS:-2}
section "running pytest with $workers workers (MUSTER_TEST_POSTGRES_URL=$MUSTER_TEST_POSTGRES_URL)"
set +e
"$VENV/bin/python" -m pytest -n "$workers" --dist loadfile "${extra_args[@]}" "$@"
rc=$?
set -e

if [ "$rc" = 5 ]; then
    echo "test.sh: error: pytest collected no tests (exit code 5); treating that as a failure" >&2
fi
exit "$rc"
