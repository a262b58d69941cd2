# Quick start: `make run` (service on the embedded PostgreSQL), `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The production configuration CI also tests: the machine's own PostgreSQL.
MACHINE_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/postgres

.PHONY: run demo test test-machine-postgres lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The pages' front-end packages, from the npm registry as the lockfile pins them (no Node.js).
PAGES := wallet_api/http/pages
WEB := $(PAGES)/node_modules/.lockfile-sha256
$(WEB): $(PAGES)/package-lock.json | $(VENV)/.installed
	$(BIN)/python -m wallet_api.http.web_packages

# exec: the recipe's shell gives its place to the service, so the SIGTERM make passes on to its
# child reaches the service itself, not a shell that would not forward it.
run: $(VENV)/.installed $(WEB)
	@echo "An empty city; for a synthetic one with a week of trade: make demo"
	exec $(BIN)/aizu serve

# The service on a synthetic city of its own (data directory .aizu-demo), built on first use.
DEMO := AIZU_DATA_DIR=.aizu-demo
demo: $(VENV)/.installed $(WEB)
	$(DEMO) $(BIN)/aizu simulate --residents 2000 --shops 120 --days 7 --if-empty
	$(DEMO) exec $(BIN)/aizu serve

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The floor under line and branch coverage is in pyproject.toml ([tool.coverage.report]).
test: lint $(WEB)
	$(BIN)/pytest --cov --cov-report=term:skip-covered

test-machine-postgres: $(VENV)/.installed-test $(WEB)
	DATABASE_URL=$(MACHINE_DATABASE_URL) $(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/aizu bench ledger

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
