# Two commands on a fresh machine: `make demo` and `make test`.
# Each builds .venv from requirements.lock first (1.5 to 3 minutes measured on a shared 2-core machine, uv's cache filled),
# compiled to bytecode up front:
# with PYTHONDONTWRITEBYTECODE set (as in many CI images) every process would otherwise recompile dlt and Dagster.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# DuckDB 1.1.3 in an environment of its own, for the test that older readers open our files (tests/destinations/test_duckdb_readers.py)
OLD_DUCKDB_LOCK := tests/support/old_duckdb.lock
OLD_DUCKDB_VENV := $(VENV)/old-duckdb

.PHONY: demo test test-all bench ui clean

$(STAMP): requirements.lock pyproject.toml $(OLD_DUCKDB_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/uv venv --quiet --allow-existing --python $(BIN)/python $(OLD_DUCKDB_VENV)
	$(BIN)/uv pip sync --quiet --python $(OLD_DUCKDB_VENV)/bin/python $(OLD_DUCKDB_LOCK)
	touch $(STAMP)

demo: $(STAMP)  ## the full pipeline against the simulated portal, then a summary
	$(BIN)/lms-warehouse demo $(ARGS)

test: $(STAMP)  ## the default test suite (12 to 16 minutes on a 2-core machine)
	$(BIN)/python -m pytest -n 3 --dist loadfile $(ARGS)

test-all: $(STAMP)  ## including slow scale and soak tests
	$(BIN)/python -m pytest -n 3 --dist loadfile -m "" $(ARGS)

bench: $(STAMP)  ## the performance benchmark, docs/benchmarks.md (long; ARGS=--quick for minutes)
	$(BIN)/lms-warehouse bench $(ARGS)

ui: $(STAMP)  ## the Dagster UI on http://127.0.0.1:3000 (instance in dagster_home/, docs/orchestration.md)
	DAGSTER_HOME=$(CURDIR)/dagster_home $(BIN)/dagster dev -m assets.definitions -h 127.0.0.1 -p 3000

clean:
	rm -rf $(VENV) data .pytest_cache
