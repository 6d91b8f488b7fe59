# Developer and CI entry points. Everything is installed by these targets on a fresh Debian
# machine (root or passwordless sudo); nothing needs to be started by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The venv's `lis` first on PATH: the test fixtures call `lis stack up` by name.
RUN := PATH="$(BIN):$$PATH"
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# python3-venv for the venv; Java + Maven fetch and run Kafka and the schema registry (and
# build the Java example of docs/subscribing.md, which needs the JDK's javac);
# Postgres and Redis are also installed by `lis stack up` when missing (for non-make users).
APT_PACKAGES := python3-venv postgresql postgresql-contrib redis-server \
	openjdk-17-jre-headless openjdk-17-jdk-headless maven

.PHONY: setup stack test demo lint down

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@missing=""; for pkg in $(APT_PACKAGES); do \
		dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "apt-get install$$missing"; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

stack: setup
	$(RUN) $(VENV)/bin/lis stack up
	$(RUN) $(VENV)/bin/lis topics create

test: setup stack
	$(RUN) $(VENV)/bin/pytest

# A simulated lab day through the whole stack: commands -> Postgres + outbox -> relay -> Kafka,
# then the day's events read back per topic and type with a stock Avro deserializer.
PATIENTS ?= 40
demo: setup stack
	$(RUN) $(VENV)/bin/lis stack status
	$(RUN) $(VENV)/bin/lis demo --patients $(PATIENTS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy domains producers consumers infra schemas
	$(RUN) $(VENV)/bin/lis schemas check

down:
	@if [ -x $(VENV)/bin/lis ]; then $(VENV)/bin/lis stack down; else lis stack down; fi
