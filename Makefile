# Quick start: `make run` (everything on an embedded broker), `make test` (all checks and tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PACKAGES := -p optout.schemas -p optout.streams -p optout.tables -p optout.console

.PHONY: install browser run test lint typecheck unit e2e crash clean kafka kafka-stop test-kafka

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,peers]"
	touch $@

# The console's browser tests drive Debian's Chromium (tests/e2e/test_console_browser.py):
# installed once, when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver for the browser tests ..."; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

run: install
	$(BIN)/optout up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow the editable install's folder mapping (streams/ -> optout.streams), so it
# reads the package through a tree of links laid out as installed.
typecheck: install
	mkdir -p build/typecheck/optout
	for d in streams schemas tables console; do ln -sfn ../../../$$d build/typecheck/optout/$$d; done
	MYPYPATH=build/typecheck $(BIN)/mypy --namespace-packages --explicit-package-bases $(PACKAGES)

unit: install
	$(BIN)/python -m pytest -q tests/unit

e2e: install browser
	$(BIN)/python -m pytest -q -m "not crash" tests/e2e

# The kill -9 crash test (tests/e2e/test_crash.py) alone, at full size: 20,000 messages.
# `make test` runs the same test with 10,000.
crash: install
	OPTOUT_CRASH_TEST_MESSAGES=20000 $(BIN)/python -m pytest -q -s -m crash

test: lint typecheck browser
	$(BIN)/python -m pytest -q --durations=10

# A local Apache Kafka cluster: three KRaft nodes on 127.0.0.1 from Kafka's own jars, which Maven
# fetches from Maven Central once (kafka/pom.xml; cached in ~/.m2, copied to build/kafka/libs).
kafka: install
	$(BIN)/optout kafka up

kafka-stop: install
	$(BIN)/optout kafka down

# The end-to-end suite on Apache Kafka: the session's stack on the cluster `make kafka` starts
# (emptied of the last run's topics first), every other stack on a three-node cluster of its own.
test-kafka: install browser kafka
	OPTOUT_TEST_KAFKA=1 $(BIN)/python -m pytest -q --durations=10 tests/e2e

clean:
	rm -rf $(VENV) build .optout *.egg-info .pytest_cache .ruff_cache .mypy_cache
