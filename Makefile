# The two commands a newcomer types: `make run` (the whole store, locally) and `make test`.
# Each installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run rehearse test lint format bench package chromium clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo "Setting up $(VENV): installing the store's Python packages (the first time takes a minute or two) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -r requirements-dev.txt
	@$(BIN)/python -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@
	@echo "Installed into $(VENV)."

install: $(STAMP)

# Debian's Chromium for the browser tests (root on these machines; skipped with a note otherwise).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "chromium missing: install Debian's chromium for the browser tests"; fi; }

run: install
	$(BIN)/bull local

# The same store in its deployed shape: the packaged Lambda artifact behind API Gateway's events.
rehearse: install
	$(BIN)/bull rehearse

# ESLint for the dashboard's script, as package-lock.json pins it (npm ci when either changes).
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	node_modules/.bin/eslint --max-warnings=0 chalicelib/web/static/

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install chromium lint
	$(BIN)/pytest -n auto

# docs/openapi.json from the routes and their docstrings (a test checks it is current).
.PHONY: openapi
openapi: install
	$(BIN)/python -m bull_chalice.openapi

bench: install
	$(BIN)/python -m bench

package: install
	$(BIN)/python -m bull_chalice.package build/package

clean:
	rm -rf build .pytest_cache .ruff_cache
