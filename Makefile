# boxoffice: `make run` serves the demo on SQLite, `make test` runs the whole suite.
# Both build .venv from requirements-dev.lock (pip-tools) when it is missing or stale.
# requirements.lock holds the runtime dependencies only (the Docker image installs it);
# requirements-dev.lock adds the dev tools on top, constrained to the same versions.

SHELL := /bin/bash
PYTHON ?= $(shell command -v pyenv >/dev/null 2>&1 && pyenv which python 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# PostgreSQL used by the second test pass; scripts/test-services starts it and creates the role
# and database when it can.
TEST_DATABASE_URL ?= postgres://boxoffice@127.0.0.1:5432/boxoffice
export TEST_DATABASE_URL
# Both passes run on PYTEST_WORKERS xdist workers (each with its own test database, Redis db,
# localstripe and media folder); a test module stays on one worker (--dist loadfile).
# PYTEST_WORKERS=0 runs serially, in one process.
PYTEST_WORKERS ?= 6
XDIST := -n $(PYTEST_WORKERS) $(if $(filter 0,$(PYTEST_WORKERS)),,--dist loadfile)
PIP_COMPILE := $(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links

.PHONY: run test test-sqlite test-postgres test-postgres-only test-services test-resilience lint fmt lock clean messages compilemessages

$(BIN)/.installed: requirements-dev.lock requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' || \
		{ echo "Python >= 3.12 is needed (found $$($(PYTHON) --version)); install 3.13 with pyenv."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	touch $@

venv: $(BIN)/.installed

run: $(BIN)/.installed
	HOST=$(HOST) PORT=$(PORT) scripts/dev-server.sh

# The SQLite pass, then the PostgreSQL pass. Where PostgreSQL cannot be reached or set up,
# scripts/test-services says why in one line (exit 2) and the SQLite pass's result stands;
# under CI=true it fails instead (exit 1), so CI never skips the PostgreSQL pass.
test: $(BIN)/.installed
	@rc=0; scripts/test-services || rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 2 ]; then exit $$rc; fi; \
	$(MAKE) --no-print-directory test-sqlite || exit $$?; \
	if [ $$rc -eq 0 ]; then $(MAKE) --no-print-directory test-postgres-only; fi

test-sqlite: $(BIN)/.installed
	env -u DATABASE_URL $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test-postgres: $(BIN)/.installed test-services test-postgres-only

test-postgres-only: $(BIN)/.installed
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# chromium, Redis, PostgreSQL with the test role and database (see the script's header).
test-services:
	scripts/test-services

# Fault injection (tests/resilience): starts its own PostgreSQL cluster, gunicorn, workers and
# emulators; writes tests/resilience/last_run.json. Not part of `make test`.
test-resilience: $(BIN)/.installed
	$(BIN)/pytest -m resilience tests/resilience $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Runtime lock first, then the dev lock constrained by it (same versions for shared packages).
# Existing pins are kept; upgrade one with e.g. `make lock PIP_COMPILE_ARGS="-P django"`.
lock: $(BIN)/.installed
	$(PIP_COMPILE) $(PIP_COMPILE_ARGS) -o requirements.lock pyproject.toml
	$(PIP_COMPILE) $(PIP_COMPILE_ARGS) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

# Translations (docs/translations.md): `make messages` collects every marked string into
# boxoffice/locale/<lang>/LC_MESSAGES/django.po (templates, Python) and djangojs.po (the shop's
# scripts); translate the new entries, then `make compilemessages` writes the .mo files, which
# are committed. Both need GNU gettext (apt-get install gettext); running the app does not.
MESSAGES_IGNORE := $(foreach d,tools tests bench staticfiles media deploy docs scripts,--ignore '$(d)/*')
LOCALES ?= de

messages: $(BIN)/.installed
	$(BIN)/python manage.py makemessages $(foreach l,$(LOCALES),-l $(l)) --add-location=file --no-obsolete $(MESSAGES_IGNORE)
	$(BIN)/python manage.py makemessages -d djangojs $(foreach l,$(LOCALES),-l $(l)) --add-location=file --no-obsolete $(MESSAGES_IGNORE)

compilemessages: $(BIN)/.installed
	cd boxoffice && ../$(BIN)/python ../manage.py compilemessages

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
