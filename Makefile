# The two commands of the README: `make rehearse` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SCENARIO ?= latency-spike

.PHONY: rehearse test lint system-deps clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## Run the main job: a full rehearsal against the embedded simulator; prints the report path.
rehearse: $(STAMP)
	$(VENV)/bin/launchlib plan validate parameters/plan.yaml
	$(VENV)/bin/launchlib rehearse --scenario $(SCENARIO)

## Set up and run the whole test suite (installs the system packages the tests need).
test: $(STAMP) system-deps
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

system-deps:
	@bash scripts/system-deps.sh

clean-venv:
	rm -rf $(VENV)
