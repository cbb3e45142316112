#!/usr/bin/env bash
# Create/refresh the project's virtualenv (.venv) with the test and dev extras.
#
#   bash scripts/ensure_venv.sh
#
# - creates .venv with `$PYTHON -m venv` (PYTHON defaults to python3) when it is
#   missing or its interpreter no longer runs (e.g. the base Python was removed);
# - runs `pip install -e '.[test,dev,spark,bench]'` only when .venv/.muster-installed (the
#   stamp) is missing or pyproject.toml is newer than it, so repeated runs are a
#   no-op that takes well under a second;
# - serialises concurrent callers with flock (when available).
#
# Environment: PYTHON (interpreter used to create the venv), MUSTER_VENV (venv
# path, default <repo>/.venv), MUSTER_FORCE_INSTALL=1 (re-install regardless).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PYTHON=${PYTHON:-python3}
VENV=${MUSTER_VENV:-$ROOT/.venv}
STAMP=$VENV/.muster-installed

log() { printf '%s\n' "$*" >&2; }

venv_works() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

up_to_date() {
    venv_works && [ -f "$STAMP" ] && ! [ pyproject.toml -nt "$STAMP" ] \
        && [ "${MUSTER_FORCE_INSTALL:-0}" != 1 ]
}

# Fast path: nothing to do (no lock needed).
if up_to_date; then
    exit 0
fi

# Serialise the slow path so two concurrent `make test` runs don't both pip-install.
if command -v flock >/dev/null 2>&1; then
    # The lock lives outside the work tree (no stray untracked file) and outside
    # the venv (which `venv --clear` wipes); it is keyed by the venv's path.
    exec 9>"${TMPDIR:-/tmp}/muster-venv-$(printf '%s' "$VENV" | cksum | cut -d' ' -f1).lock"
    flock 9
    # Someone else may have finished the job while we waited.
    if up_to_date; then
        exit 0
    fi
fi

if ! venv_works; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        log "error: '$PYTHON' not found; set PYTHON to a Python >= 3.11 interpreter"
        exit 1
    fi
    log "creating virtualenv $VENV with $("$PYTHON" --version 2>&1)"
    # --clear: a half-made or broken venv (dangling interpreter link) is rebuilt.
    "$PYTHON" -m venv --clear "$VENV"
    rm -f "$STAMP"
fi

log "installing muster and its [test,dev,spark,bench] extras into $VENV (pyproject.toml changed or first run)"
start=$SECONDS
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$VENV/bin/python" -m pip install --progress-bar off -q -e '.[test,dev,spark,bench]'
touch "$STAMP"
log "venv ready in $((SECONDS - start))s"
