# The two commands a newcomer needs: `make run` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium
PGBOUNCER := /usr/sbin/pgbouncer
AUDIT := tests/graphql/audit
AUDIT_STAMP := $(AUDIT)/node_modules/.installed-stamp
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install lock run test check browser node pgbouncer lint format schema bench clean

# Every distribution, transitive ones included, comes from requirements.lock (exact versions
# and hashes); the gateway itself is then installed without resolving anything.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the gateway with its test tools, as locked

lock: $(STAMP)  ## rewrite requirements.lock from pyproject.toml's pins (after changing one)
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --allow-unsafe --generate-hashes \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

run: $(STAMP)  ## serve on HOST:PORT (127.0.0.1:8000) with demo data (SQLite unless DATABASE_URL is set)
	$(BIN)/session-gateway serve --demo --host $(HOST) --port $(PORT)

test: check browser node pgbouncer  ## every check, then the whole test suite on SQLite and PostgreSQL
	$(BIN)/pytest

node: $(AUDIT_STAMP)  ## Node.js 22 and graphql-http for the GraphQL-over-HTTP audit, as locked

$(AUDIT_STAMP): $(AUDIT)/package-lock.json
	command -v npm >/dev/null || ($(SUDO) apt-get update \
		&& DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y npm)
	cd $(AUDIT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser:  ## Debian's chromium for the GraphiQL browser test, installed only when missing
	test -x $(CHROMIUM) || ($(SUDO) apt-get update \
		&& DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

pgbouncer:  ## Debian's PgBouncer, which the suite starts in front of PostgreSQL, installed only when missing
	test -x $(PGBOUNCER) || ($(SUDO) apt-get update \
		&& DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y pgbouncer)

check: $(STAMP)  ## formatting, lint, types, layer contracts, schema snapshot
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/session-gateway export-schema | diff -u schema.graphql - \
		|| (echo "schema.graphql is stale: run 'make schema'" && exit 1)

format: $(STAMP)  ## apply formatting and safe lint fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: $(STAMP)  ## regenerate schema.graphql from the code
	$(BIN)/session-gateway export-schema > schema.graphql

bench: $(STAMP)  ## load benchmark (see bench/README.md)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info session-gateway.db* \
		$(AUDIT)/node_modules
