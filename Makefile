# ServiceDesk — the two commands of the README, and a few more (`make help`).
#
#   make run    the app with demo data, its Celery worker and beat, on http://127.0.0.1:8000
#   make test   the whole test suite (SQLite, or PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
#
# Both create .venv with `python3 -m venv` on first use and reinstall the requirements only
# when requirements*.txt or constraints.txt change (a stamp file in .venv remembers).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
# Extra options for seed_demo on the first `make run`, e.g. DEMO_ARGS="--locations 3".
DEMO_ARGS ?=
# Extra options for pytest, e.g. `make test ARGS="-k training -x"`.
ARGS ?=

BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
# --quiet twice: pip prints errors only.
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input --quiet --quiet
CONSTRAINTS := $(wildcard constraints.txt)
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
VAR_DIR := $(or $(SERVICEDESK_VAR_DIR),var)
STATIC_STAMP := $(or $(STATIC_ROOT),$(VAR_DIR)/staticfiles)/.collected
STATIC_SOURCES := $(shell find static -type f 2>/dev/null)

.PHONY: help run test lint venv constraints

help:  ## List the targets
	@echo "ServiceDesk — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14 | sed 's/^/  /'

# --- make run -------------------------------------------------------------------------------

run: $(REQUIREMENTS_STAMP) $(STATIC_STAMP)  ## Web server, Celery worker and beat with demo data (Ctrl-C stops all)
	@$(BIN)/python -c 'import socket, sys; sys.exit(socket.socket().connect_ex(("127.0.0.1", $(PORT))) == 0)' || { \
	  echo "Port $(PORT) is already in use: stop what listens there, or use another port: make run PORT=8001" >&2; exit 1; }
	@echo "==> Applying database migrations"
	@$(MANAGE) migrate --noinput -v 0
	@# Demo data goes into an empty database only, so a second run keeps what you changed.
	@status=0; $(MANAGE) shell -v 0 -c 'import sys; from django.contrib.auth import get_user_model; sys.exit(0 if get_user_model().objects.exists() else 3)' || status=$$?; \
	if [ $$status -eq 3 ]; then \
	  echo "==> Loading demo data (empty database: first run only)"; $(MANAGE) seed_demo $(DEMO_ARGS); \
	  echo "==> Computing scorecards from the demo evidence"; $(MANAGE) rollup_scorecards --full; \
	elif [ $$status -ne 0 ]; then exit $$status; \
	else echo "==> Demo data already loaded (the database has users): not loading it again"; fi
	@echo
	@echo "  ServiceDesk starts on  http://127.0.0.1:$(PORT)/   (Ctrl-C stops the web server, worker and beat)"
	@echo "  Demo logins, password servicedesk-demo:"
	@echo "    manager  program dashboard of the locations they manage"
	@echo "    staff    staff portal: own standards, training and scorecard"
	@echo "    admin    everything, and the Django admin at http://127.0.0.1:$(PORT)/admin/"
	@echo
	@# honcho reads no .env file: the steps above did not either, and all must see one database.
	@# Ctrl-C (honcho exits 130) or SIGTERM (143) is the normal way to stop, not an error.
	@PATH="$(abspath $(BIN)):$$PATH" PYTHONUNBUFFERED=1 $(BIN)/honcho start --env /dev/null -f Procfile.dev -p $(PORT) || { \
	  status=$$?; [ $$status -eq 130 ] || [ $$status -eq 143 ] || exit $$status; echo "ServiceDesk stopped."; }

# Static files are collected again only when a file under static/ or a requirement changed.
$(STATIC_STAMP): $(REQUIREMENTS_STAMP) $(STATIC_SOURCES)
	@echo "==> Collecting static files"
	@$(MANAGE) collectstatic --noinput -v 0
	@mkdir -p $(@D) && touch $@

# --- checks ---------------------------------------------------------------------------------

test: $(REQUIREMENTS_STAMP)  ## Run the whole test suite (pytest; ARGS="..." passes options)
	@$(BIN)/pytest $(ARGS)

lint: $(REQUIREMENTS_STAMP)  ## ruff check, ruff format --check, no missing migrations
	@echo "==> ruff check"
	@$(BIN)/ruff check .
	@echo "==> ruff format --check"
	@$(BIN)/ruff format --check .
	@echo "==> makemigrations --check"
	@$(MANAGE) makemigrations --check --dry-run

# --- the virtualenv -------------------------------------------------------------------------

venv: $(REQUIREMENTS_STAMP)  ## Create or update .venv (run and test do this themselves)

constraints: | $(BIN)/python  ## Re-freeze constraints.txt after changing a pin in requirements*.txt
	@# Installs without the old constraints (a changed pin may contradict them); freeze from a clean .venv.
	@$(PIP) install -r requirements-dev.txt
	@{ echo "# Every package of the tested set, exactly (pip install -r requirements-dev.txt -c constraints.txt)."; \
	   echo "# Regenerate with 'make constraints' (in a .venv holding nothing else) after changing requirements*.txt."; \
	   $(PIP) freeze --all --exclude pip --exclude setuptools --exclude wheel; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt && touch $(REQUIREMENTS_STAMP)
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) packages"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "ServiceDesk needs Python 3.11 or newer, and '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo 'not found')." >&2; \
	  echo "Name a newer one with e.g. 'make $(or $(MAKECMDGOALS),run) PYTHON=python3.12'." >&2; exit 1; }
	@echo "==> Creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "'$(PYTHON) -m venv' failed; on Debian/Ubuntu install the python3-venv package." >&2; exit 1; }

$(REQUIREMENTS_STAMP): requirements.txt requirements-dev.txt $(CONSTRAINTS) | $(BIN)/python
	@echo "==> Installing requirements-dev.txt into $(VENV) (a minute or two the first time)"
	@$(PIP) install -r requirements-dev.txt $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	@touch $@
