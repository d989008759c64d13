# `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest drill drill-replicated bench migrate schema web-documents worker clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser files (GraphiQL, React, graphql-ws) come from npm, pinned in web/package-lock.json,
# and are copied into app/static/vendor, which the app serves with their integrity hashes.
ASSETS := app/static/vendor/.installed
$(ASSETS): web/package-lock.json app/assets.py $(STAMP)
	@command -v npm > /dev/null || { echo "make: npm (Node.js 18 or newer) is needed for the browser files (GraphiQL, the web client)"; exit 1; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m app.assets
	touch $@

install: $(STAMP) $(ASSETS)

run: install
	$(BIN)/chirp migrate
	$(BIN)/chirp serve --host 127.0.0.1 --port 8000

migrate: install
	$(BIN)/chirp migrate

worker: $(STAMP)
	$(BIN)/chirp worker

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

# The restore drill on the real engines (scripts/services up; it destroys their data).
drill: $(STAMP)
	CHIRP_DRILLS=1 $(BIN)/pytest -q -s tests/drills/test_restore_drill.py

# The node-loss drills (scripts/services up --replicated; they kill engines).
drill-replicated: $(STAMP)
	CHIRP_DRILLS=1 $(BIN)/pytest -q -s tests/drills/test_failover_drill.py

# The read-path benchmarks of issue #21 (bench/reads.py: store calls and page throughput;
# bench/celebrity.py; bench/cores.py: `chirp serve --workers 2`; bench/memory.py) and
# tracing's cost (bench/tracing.py, issue #22) on the
# embedded default, then on the real engines when scripts/services has them up; each writes
# its figures into docs/PERFORMANCE.md. wrk is the load generator (Debian's package).
BENCHES = reads celebrity cores tracing memory
bench: $(STAMP)
	command -v wrk > /dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	for b in $(BENCHES); do \
	  env $$(env | sed -n 's/^\(CHIRP_[A-Z_]*_URL\)=.*/-u \1/p') $(BIN)/python bench/$$b.py --record \
	  || exit 1; done
	if scripts/services status | grep -q '^cassandra *up'; then \
	  eval "$$(scripts/services env)" && for b in $(BENCHES); do \
	  $(BIN)/python bench/$$b.py --record || exit 1; done; \
	else echo "bench: the real engines are not up (scripts/services up): their figures are left as they were"; fi

schema: $(STAMP)
	$(BIN)/chirp print-schema -o schema.graphql

# The web client's documents, trusted whenever CHIRP_TRUSTED_DOCUMENTS is set (checked in).
web-documents:
	node web/documents.mjs > app/web/documents.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
