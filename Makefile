# Jikimi — two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
# Django 6 needs Python >= 3.12: take the first such interpreter on the machine.
PYTHON ?= $(shell for p in python3.12 python3.13 python3.14 $(wildcard /root/.pyenv/versions/3.1[234]*/bin/python3) python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
export JIKIMI_HOME ?= $(CURDIR)/var

.PHONY: run test test-sqlite test-postgres bench lint format install install-dev system-deps constraints clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 is needed (Django 6): install python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,spark]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@# Bytecode for the checkout's modules (an editable install has none, and a machine that
	@# sets PYTHONDONTWRITEBYTECODE would compile ~90 modules on every command's start).
	$(BIN)/python -m compileall -q src
	JIKIMI_DEMO=1 $(BIN)/jikimi serve --demo --host 127.0.0.1 --port 8000

# What the tests need from Debian: Chromium for the browser tests, a CJK font for screenshots
# and PDFs, Java for Spark, gettext for the catalogs, pg_dump/pg_restore for backup and
# restore (already on CI machines; installed when missing).
system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	command -v pg_dump >/dev/null || missing="$$missing postgresql-client"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi

test: install-dev system-deps
	$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  $(MAKE) --no-print-directory test-postgres; \
	elif [ "$$CI" = "true" ]; then echo "CI=true but PostgreSQL at $(PG_URL) is not reachable"; exit 1; \
	else echo "PostgreSQL not reachable: skipped the PostgreSQL run"; fi

# Tests run in parallel (pytest-xdist), one worker per core CI has; PYTEST_WORKERS=0 runs them
# in this process (e.g. with a debugger). --dist loadgroup keeps the tests of one
# `xdist_group` on one worker (those sharing an expensive module fixture).
PYTEST_WORKERS ?= 2
XDIST = -n $(PYTEST_WORKERS) --dist loadgroup

test-sqlite:
	@echo "== test suite on SQLite"
	JIKIMI_TESTING=1 $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# The browser, Spark and database-free tests (marker nodb, set by src/jikimi/conftest.py on
# every test that asks for no database) do not depend on the database:
# they run once, on SQLite.
test-postgres:
	@echo "== test suite on PostgreSQL"
	JIKIMI_TESTING=1 DATABASE_URL=$(PG_URL) $(BIN)/pytest $(XDIST) -m "not browser and not spark and not nodb" $(PYTEST_ARGS)

bench: install-dev
	@mkdir -p bench/out
	@for b in bench/bench_*.py; do echo "== $$b"; JIKIMI_TESTING=1 $(BIN)/python $$b || exit 1; done

# mypy (django-stubs) on the whole package (tests and migrations excluded in pyproject.toml).
MYPY_PATHS := src/jikimi

lint: install-dev
	$(BIN)/ruff check src bench
	$(BIN)/ruff format --check src bench
	$(BIN)/mypy $(MYPY_PATHS)

format: install-dev
	$(BIN)/ruff check --fix src bench
	$(BIN)/ruff format src bench

# Re-pin every dependency after changing pyproject.toml.
constraints: $(BIN)/python
	$(BIN)/pip install -q -e ".[dev,spark]"
	$(BIN)/pip freeze --exclude-editable | grep -v '^jikimi' > constraints.txt

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
