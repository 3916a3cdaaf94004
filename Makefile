# The two commands a newcomer needs: `make run` (web + worker + beat on the embedded default:
# SQLite and a filesystem Celery broker, nothing to install) and `make test` (what CI runs).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The address to show: a server bound to every interface is still reached at 127.0.0.1 here.
URL_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
# The first interpreter that exists, runs and is 3.11 or newer (a pyenv shim may exist and fail).
PYTHON = $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)

.PHONY: help install tools run test lint format migrate seed

help:
	@echo "make install  create .venv and install the project with its dev tools"
	@echo "make run      migrate, seed the demo, start web + worker + beat (HOST=$(HOST) PORT=$(PORT))"
	@echo "make test     ruff check, ruff format --check, pytest (PYTEST_ARGS='-k seed' to narrow)"
	@echo "make lint | format | migrate | seed"

$(PY):
	@py="$(PYTHON)"; if [ -z "$$py" ]; then \
		echo "error: Python 3.11 or newer is needed; none of python3.12, python3.11, python3 is." >&2; \
		exit 1; fi; \
	echo "Creating $(VENV) with $$py ($$($$py --version))"; \
	$$py -m venv $(VENV)

# Re-installs only when pyproject.toml changes (or the venv is new).
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Prism serves the vendors' official OpenAPI specs on loopback for the adapter tests. Without npm
# those tests skip with the reason; everything else runs.
PRISM := .tools/node_modules/.bin/prism
$(PRISM):
	@if command -v npm >/dev/null 2>&1; then \
		npm install --prefix .tools --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5.14.2; \
	else echo "npm not found: the Prism-backed vendor tests will be skipped."; fi

tools: $(PRISM)

# Development defaults for the commands that start or change the local system; `make test` keeps
# the production settings (DEBUG off) so the suite tests what is deployed.
run migrate seed: export DJANGO_DEBUG ?= true
run: export PUBLIC_BASE_URL ?= http://$(URL_HOST):$(PORT)

run: install
	@mkdir -p var/broker/queue var/broker/processed var/broker/control
	$(MANAGE) migrate --noinput
	$(MANAGE) setup_monitoring_schedules
	@$(MANAGE) seed_demo | tee var/seed_demo.out
	@$(MANAGE) demo_admin | tee var/demo_admin.out
	@echo
	@echo "================================================================================"
	@echo " Thorbis Integrations Hub"
	@echo "   Admin:     http://$(URL_HOST):$(PORT)/admin/"
	@echo "   API docs:  http://$(URL_HOST):$(PORT)/api/docs/"
	@sed -n 's/^  \(username\|password\):/   Admin \1:/p' var/demo_admin.out
	@grep -h '^Technician API token' var/seed_demo.out | sed 's/^/   /'
	@echo "   Web, Celery worker and beat start below; Ctrl-C stops all three."
	@echo "================================================================================"
	@HOST=$(HOST) PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho -f Procfile.dev start -p $(PORT)

test: install tools
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: install
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo
	$(MANAGE) demo_admin
