# pypistats-site: `make run` to start everything, `make test` to run the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6.1 needs Python >= 3.12. Prefer 3.12 (what the lock and mypy target), then 3.13,
# on PATH or under pyenv.
PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.13 $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13); do \
	$$p -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PORT ?= 8765

export PATH := $(abspath $(BIN)):$(PATH)
# Let Python keep compiled modules, and pytest its assertion-rewritten test modules, in
# __pycache__ (gitignored): where PYTHONDONTWRITEBYTECODE is set (as on this project's
# machines), every test process rewrote every test module again, ~7 s of CPU each.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install run demo test test-fast mutate lint fmt typecheck migrations-check check lock vendor \
	bench-refresh bench-api bench-pages clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 not found (Django 6.1 needs it). Set PYTHON=/path/to/python3.12." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements/lock.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/lock.txt
	touch $@

install: $(VENV)/.installed ## Create .venv and install the locked dependencies

migrate: install
	$(MANAGE) migrate --noinput
	@# The compare page's "share of all PyPI" needs upstream's __all__ pseudo-package.
	$(MANAGE) track __all__

run: migrate ## Start web (http://$(HOST):$(PORT)), a Celery worker and beat; Ctrl-C stops all three
	@echo "Starting web on http://$(HOST):$(PORT) with a Celery worker and beat (Ctrl-C stops all)."
	HOST=$(HOST) DEBUG=$${DEBUG:-1} CLICKHOUSE_URL="$${CLICKHOUSE_URL-}" $(BIN)/python bin/run-stack -p $(PORT)

# Not `migrate`: the demo migrates its own database (var/demo/), never `make run`'s.
demo: install ## Like `make run`, against the bundled demo upstream, with state of its own (var/demo/)
	DEMO_PORT=$(DEMO_PORT) HOST=$(HOST) PORT=$(PORT) $(BIN)/python bin/demo.py

# pytest-xdist workers for the tests that can run side by side (`make test-fast`, and the
# first half of `make test`); TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
PARALLEL_TESTS := -m "not e2e and not worker and not stack"
# One at a time, after the others: the worker tests start Celery workers (on a queue of
# their own), each browser test drives a whole Chromium, and each stack
# test starts web, worker and beat processes (seconds of CPU on a 2-core machine).
SERIAL_TESTS := -m "e2e or worker or stack"

test: install ## Run the whole test suite (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
	@# Both halves always run; pytest's 5 ("no tests collected") fails only when both say it.
	fast=0; serial=0; \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PARALLEL_TESTS) $(PYTEST_ARGS) || fast=$$?; \
	$(BIN)/pytest $(SERIAL_TESTS) $(PYTEST_ARGS) || serial=$$?; \
	for code in $$fast $$serial; do case $$code in 0|5) ;; *) exit $$code ;; esac; done; \
	if [ $$fast = 5 ] && [ $$serial = 5 ]; then exit 5; fi

test-fast: install ## The suite without browser, live-worker and whole-stack tests, in parallel
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal $(PARALLEL_TESTS) $(PYTEST_ARGS)

# Mutation testing (mutmut), one module after another: each against the tests that cover it,
# on SQLite, niced (it is CPU-heavy). Slow, so never part of `make test`; MODULES=store runs
# one. The modules and their tests are in pyproject.toml, [tool.mutmut.modules]; the scores
# in docs/testing.md.
MODULES ?= store refresh upstream api access

mutate: install ## Mutation testing (mutmut), slow; one module: MODULES=store (docs/testing.md)
	for module in $(MODULES); do nice -n 10 $(BIN)/python bin/mutate $$module || exit $$?; done

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install ## mypy with django-stubs
	$(BIN)/mypy .

migrations-check: install ## Fail when models changed without a migration
	$(MANAGE) makemigrations --check --dry-run

check: lint typecheck migrations-check ## All static checks

lock: $(BIN)/python ## Re-resolve requirements/lock.txt from pyproject.toml
	$(BIN)/python -m pip install --quiet pip-tools==7.6.2
	$(BIN)/pip-compile --quiet --all-extras --generate-hashes --strip-extras --no-emit-index-url \
		--no-emit-find-links -o requirements/lock.txt pyproject.toml

vendor: ## Refresh static/vendor (Chart.js, its date adapter, annotations) from the npm registry
	bin/vendor-assets

bench-refresh: install ## Benchmark the refresh pipeline against the demo upstream (PostgreSQL)
	$(BIN)/python bench/refresh_pipeline.py

bench-api: install ## Benchmark the JSON API with wrk (PostgreSQL + Redis)
	$(BIN)/python bench/api_wrk.py

bench-pages: install ## Benchmark page server time
	$(BIN)/python bench/page_times.py

clean: ## Remove the venv and local state (var/)
	rm -rf $(VENV) var
