# boxoffice: `make run` serves the demo on SQLite, `make test` runs the whole suite.
# Both build .venv from requirements.lock (pip-tools) when it is missing or stale.

SHELL := /bin/bash
PYTHON ?= $(shell command -v pyenv >/dev/null 2>&1 && pyenv which python 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL used by the second test pass; .ci/run creates the role and database.
TEST_DATABASE_URL ?= postgres://boxoffice@127.0.0.1:5432/boxoffice

.PHONY: run test test-sqlite test-postgres test-resilience lint fmt lock clean

$(BIN)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
		{ echo "Python >= 3.12 is needed (found $$($(PYTHON) --version)); install 3.13 with pyenv."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

venv: $(BIN)/.installed

run: $(BIN)/.installed
	HOST=$(HOST) PORT=$(PORT) scripts/dev-server.sh

test: test-sqlite test-postgres

test-sqlite: $(BIN)/.installed
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(BIN)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

# Fault injection (tests/resilience): starts its own PostgreSQL cluster, gunicorn, workers and
# emulators; writes tests/resilience/last_run.json. Not part of `make test`.
test-resilience: $(BIN)/.installed
	$(BIN)/pytest -m resilience tests/resilience $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock:
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --allow-unsafe -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
