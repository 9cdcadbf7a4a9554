# The two commands of the README: `make rehearse` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SCENARIO ?= latency-spike

.PHONY: rehearse test test-scenarios lint system-deps clean-venv staging-up staging-down

# Quiet unless something fails: pip's output is kept in .venv/install.log and shown on failure.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setting up $(VENV) (once; log in $(VENV)/install.log)"
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev]'; } > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; exit 1; }
	@touch $(STAMP)

## Run the main job: a full rehearsal against the embedded simulator; prints the report path.
## Exit code: 0 as the scenario expects, 1 findings, 2 bad input, 3 the run broke.
rehearse: $(STAMP)
	@$(VENV)/bin/launchlib plan validate parameters/plan.yaml
	@$(VENV)/bin/launchlib rehearse --scenario $(SCENARIO)

## Set up and run the test suite's first tier (installs the system packages the tests need):
## every real part once, in about 12 minutes. The tests that neither rehearse nor time anything
## run two at once; then the rehearsals, browsers, Docker and timing tests one after another.
test: $(STAMP) system-deps
	@$(VENV)/bin/ruff check --quiet .
	@$(VENV)/bin/mypy
	@$(PY) -m pytest -m "not slow and not scenario" -n 2
	@$(PY) -m pytest -m "slow and not scenario"

## The scenario tier: every other shipped scenario rehearsed end to end, the hog runs, the
## remaining notebooks on their own, the other signal and dead-kernel cases (CI runs both tiers).
test-scenarios: $(STAMP) system-deps
	@$(PY) -m pytest -m scenario

## The staging stack the kit ships (examples/staging): images built here, compose project
## launch-staging up on the Docker Engine (dockerd started if none runs); see docs/staging.md.
staging-up: $(STAMP) system-deps
	@$(PY) examples/staging/stack.py up $(if $(REBUILD),--rebuild,)

staging-down: $(STAMP)
	@$(PY) examples/staging/stack.py down

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

system-deps:
	@bash scripts/system-deps.sh

clean-venv:
	rm -rf $(VENV)
