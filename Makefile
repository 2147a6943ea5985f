# metallm: the two set-up commands (`make demo`, `make test`) work on a fresh machine with only
# Python 3.10+: they create .venv and install what they need. Nothing here needs the network
# beyond the package registry.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check --quiet
PYTEST_ARGS ?=

.PHONY: demo test check bench clean venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev,bench]'
	@touch $@ $(VENV)/.installed-dev $(VENV)/.installed

venv: $(VENV)/.installed-dev

## demo: the main job, offline: a fake provider server on 127.0.0.1, real client calls
demo: $(VENV)/.installed
	$(PY) -m metallm demo

## test: the whole suite (services it needs are started by the suite's fixtures)
test: $(VENV)/.installed-dev
	command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq redis-server)
	$(PY) -m pytest $(PYTEST_ARGS)

## check: lint and strict typing
check: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/mypy --strict src/metallm

## bench: performance against raw httpx and the official SDK (never part of `make test`)
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
