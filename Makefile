# muster — build/test entry points.
#
#   make venv    create .venv and pip install -e '.[test,dev,spark,bench]' (re-installs only
#                when pyproject.toml is newer than .venv/.muster-installed)
#   make test    full test suite against a throwaway PostgreSQL (scripts/test.sh);
#                extra pytest arguments: make test PYTEST_ARGS='-x -k ingest'
#   make check   ruff + mypy (configured in pyproject.toml)
#   make demo    scripts/demo.sh
#   make clean   remove caches and build artefacts (keeps .venv)
#   make distclean   clean + remove .venv and demo output

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
# Only lint the directories that exist (empty ones aren't in a fresh clone).
LINT_PATHS := $(wildcard src tests benchmarks)

export PYTEST_ARGS

.PHONY: help venv test check lint typecheck demo clean distclean

help:
	@echo "targets: venv test check demo clean distclean"
	@echo "  make test PYTEST_ARGS='-x -k name'   pass arguments to pytest"

venv:
	@bash scripts/ensure_venv.sh

test:
	bash scripts/test.sh

# Runs both tools even when the first one reports problems; fails if either does.
check: venv
	@rc=0; \
	echo "== ruff check $(LINT_PATHS)"; $(VENV)/bin/ruff check $(LINT_PATHS) || rc=1; \
	echo "== mypy"; $(VENV)/bin/mypy || rc=1; \
	exit $$rc

lint: venv
	$(VENV)/bin/ruff check $(LINT_PATHS)

typecheck: venv
	$(VENV)/bin/mypy

demo: venv
	bash scripts/demo.sh

clean:
	rm -rf build dist test-artifacts .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name '*.egg-info' -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) demo
