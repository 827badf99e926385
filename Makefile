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
# Images (README, "Container images"): REGISTRY is ECR (<account>.dkr.ecr.<region>.amazonaws.com) or host:port.
REGISTRY ?=
TAG ?=
COMPONENTS ?=
BASE_IMAGE ?=
TEST_REGISTRY ?= 127.0.0.1:5000
TEST_BASE_IMAGE ?= deepfake/test-base:bookworm
TEST_IMAGES_MANIFEST ?= build/test-images.json

.DEFAULT_GOAL := help
.PHONY: help install test test-fast lint format pipeline-run demo-data approve bench clean build-components test-containers catalogue promote deploy-status rollback deploy-stop

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV_STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --upgrade "pip>=24.2"
	$(VENV_PY) -m pip install --quiet --constraint constraints.txt --editable ".[all,dev]"
	$(VENV_PY) -m deepfake.components.faces.weights
	@touch $@

install: $(VENV_STAMP) ## Create .venv with every pinned dependency (a no-op when up to date)

test: $(VENV_STAMP) ## Run the whole test suite
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV_STAMP) ## Run the unit tests only: no training, no servers, no pipeline runs (under 90 s)
	$(VENV_PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# mypy checks the library under its import names: the folders, linked into build/typecheck/deepfake/.
TYPECHECK_ROOT := build/typecheck/deepfake

lint: $(VENV_STAMP) ## Check style (ruff) and types (mypy)
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .
	@mkdir -p $(TYPECHECK_ROOT) && for folder in components pipelines deploy; do ln -sfn ../../../$$folder $(TYPECHECK_ROOT)/$$folder; done
	$(VENV_PY) -m mypy

format: $(VENV_STAMP) ## Apply ruff's fixes and formatting
	$(VENV_PY) -m ruff check --fix .
	$(VENV_PY) -m ruff format .

pipeline-run: $(VENV_STAMP) $(if $(or $(DATA),$(filter sagemaker,$(TARGET))),,$(DEMO_DATA)/.complete) ## Run the deepfake pipeline on DATA (default: the demo dataset; TARGET=sagemaker: an s3:// URI); PARAMS="Name=Value ..."
	$(VENV_PY) -m deepfake.pipelines run deepfake --target $(TARGET) --param InputData=$(or $(DATA),$(DEMO_DATA)) $(foreach p,$(PARAMS),--param $(p))

demo-data: $(DEMO_DATA)/.complete ## Write the synthetic demo dataset (DFDC layout) to DEMO_DATA

$(DEMO_DATA)/.complete: | $(VENV_STAMP)
	$(VENV_PY) -m deepfake.pipelines.demo.dataset --out $(DEMO_DATA)
	@touch $@

approve: $(VENV_STAMP) ## Approve VERSION (default: the newest) and roll it out to a local staging endpoint + smoke test
	$(VENV_PY) -m deepfake.deploy approve $(VERSION)

promote: $(VENV_STAMP) ## Deploy what staging serves to the local prod endpoint (after its smoke test passed)
	$(VENV_PY) -m deepfake.deploy promote

deploy-status: $(VENV_STAMP) ## Show what each stage serves, where, and its recent history
	$(VENV_PY) -m deepfake.deploy status

rollback: $(VENV_STAMP) ## Return STAGE (staging or prod) to the version it served before
	@test -n "$(STAGE)" || { echo "usage: make rollback STAGE=staging|prod"; exit 2; }
	$(VENV_PY) -m deepfake.deploy rollback --stage $(STAGE)

deploy-stop: $(VENV_STAMP) ## Stop the local staging and prod endpoints
	$(VENV_PY) -m deepfake.deploy stop

build-components: $(VENV_STAMP) ## Build the images [COMPONENTS="a b"]; with REGISTRY=... also tag, push, write the images manifest
	$(VENV_PY) -m deepfake.pipelines images build $(COMPONENTS) $(if $(REGISTRY),--registry $(REGISTRY)) $(if $(TAG),--tag $(TAG)) $(if $(BASE_IMAGE),--base-image $(BASE_IMAGE))

test-containers: $(VENV_STAMP) ## As root: dockerd, a registry on 127.0.0.1:5000, a local base; build, push and test the images (and sagemaker-local)
	BASE_IMAGE=$(TEST_BASE_IMAGE) REGISTRY_ADDR=$(TEST_REGISTRY) tests/containers/setup.sh
	DEEPFAKE_IMAGES_MANIFEST=$(TEST_IMAGES_MANIFEST) $(MAKE) build-components REGISTRY=$(TEST_REGISTRY) BASE_IMAGE=$(TEST_BASE_IMAGE) COMPONENTS="ingest-videos extract-faces perturb-videos split-dataset train-classifier evaluate-model serve"
	DEEPFAKE_CONTAINER_TESTS=1 DEEPFAKE_IMAGES_MANIFEST=$(TEST_IMAGES_MANIFEST) $(VENV_PY) -m pytest tests/containers $(PYTEST_ARGS)

catalogue: $(VENV_STAMP) ## Regenerate components/README.md, the built-in pipelines' specs and the example's specs
	$(VENV_PY) -m deepfake.pipelines components catalogue
	$(VENV_PY) -m deepfake.pipelines components export pipelines/builtin/specs
	$(VENV_PY) -m deepfake.pipelines components export examples/other_project/specs --name ingest-videos --name extract-faces

bench: $(VENV_STAMP) ## Run the benchmarks under bench/
	$(VENV_PY) -m bench.runner
	$(VENV_PY) -m bench.extract
	$(VENV_PY) -m bench.train
	$(VENV_PY) -m bench.train --no-cache --shard-size 256
	$(VENV_PY) -m bench.train --no-cache --size 224 --loader-only
	$(VENV_PY) -m bench.serve
	$(VENV_PY) -m bench.scale

clean: ## Remove the venv and local runs
	rm -rf $(VENV) runs
