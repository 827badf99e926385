# Every target that needs Python depends on $(VENV_STAMP), so any target works as the first command on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
DATA ?=
DEMO_DATA ?= data/demo
TARGET ?= local
PARAMS ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install test lint format pipeline-run demo-data approve bench clean

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV_STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --upgrade "pip>=24.2"
	$(VENV_PY) -m pip install --quiet --constraint constraints.txt --editable ".[all,dev]"
	$(VENV_PY) -m components.faces.weights
	@touch $@

install: $(VENV_STAMP) ## Create .venv with every pinned dependency (a no-op when up to date)

test: $(VENV_STAMP) ## Run the test suite
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV_STAMP) ## Check style with ruff
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .

format: $(VENV_STAMP) ## Apply ruff's fixes and formatting
	$(VENV_PY) -m ruff check --fix .
	$(VENV_PY) -m ruff format .

pipeline-run: $(VENV_STAMP) $(if $(DATA),,$(DEMO_DATA)/.complete) ## Run the deepfake pipeline on DATA (default: the demo dataset); PARAMS="Name=Value ..."
	$(VENV_PY) -m pipelines run deepfake --target $(TARGET) --param InputData=$(or $(DATA),$(DEMO_DATA)) $(foreach p,$(PARAMS),--param $(p))

demo-data: $(DEMO_DATA)/.complete ## Write the synthetic demo dataset (DFDC layout) to DEMO_DATA

$(DEMO_DATA)/.complete: | $(VENV_STAMP)
	$(VENV_PY) -m components.faces.synthetic --out $(DEMO_DATA)
	@touch $@

approve: $(VENV_STAMP) ## Approve registered model VERSION in the local registry
	@test -n "$(VERSION)" || { echo "usage: make approve VERSION=<n> (see: .venv/bin/python -m deploy models)"; exit 2; }
	$(VENV_PY) -m deploy approve $(VERSION)

bench: $(VENV_STAMP) ## Run the benchmarks under bench/
	$(VENV_PY) -m bench.runner
	$(VENV_PY) -m bench.extract
	$(VENV_PY) -m bench.train

clean: ## Remove the venv and local runs
	rm -rf $(VENV) runs
