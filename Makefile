# Session Relay — every entry point a developer or CI needs.
# `make dev` and `make test` work on a fresh clone: they create the environments they use.

SHELL := /bin/bash
VENV := .venv
TOOLS_VENV := .venv-tools
PY := $(VENV)/bin/python
SAM := $(TOOLS_VENV)/bin/sam
AWS_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

# Python 3.12 is the Lambda runtime. Find it even where the `python3.12` shim is broken (pyenv).
PYTHON312 ?= $(shell for p in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 \
	/usr/local/bin/python3.12 /usr/bin/python3.12; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 && { echo "$$p"; break; }; \
	done)

.PHONY: help install dev test lint browser screenshot unit e2e bench soak build deploy delete clean

help:
	@echo "make dev    install, then run the whole system locally (REST :3000, WebSocket :3001, DynamoDB :8000)"
	@echo "make test   install, then run every check (ruff, cfn-lint, sam validate --lint, all tests)"
	@echo "make browser  find (or install) the Chromium the dashboard's browser tests drive"
	@echo "make screenshot  refresh docs/dashboard.png (the README's picture) from the browser test"
	@echo "make bench  run the benchmarks against the local stack and write docs/benchmarks.md"
	@echo "make soak   60 s soak: 300 churning sessions, 30 callers, invariants checked (loopback only)"
	@echo "make build  sam build"
	@echo "make deploy sam build, then a guided sam deploy with the integration timeout the account's quota allows"
	@echo "make delete remove the stack (sam delete; the AuthTable is kept)"

$(VENV)/.installed: requirements-dev.txt layers/common/requirements.txt layers/common/requirements-nodeps.txt pyproject.toml \
		clients/python/pyproject.toml
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12"; exit 1; }
	test -x $(PY) || $(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The owners' SDK and CLI (clients/python; its dependencies are pinned in requirements-dev.txt),
	# then the repository's tools, whose session-relay adds the development commands.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e './clients/python[admin]'
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(TOOLS_VENV)/.installed: requirements-tools.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 not found: install it (pyenv install 3.12) or set PYTHON312=/path/to/python3.12"; exit 1; }
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON312) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $@

install: $(VENV)/.installed $(TOOLS_VENV)/.installed

dev: $(VENV)/.installed
	$(PY) -m session_relay_tools.local

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml
	PATH="$(dir $(PYTHON312)):$$PATH" $(SAM) validate --lint --region $(AWS_REGION)

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

e2e: $(VENV)/.installed
	$(PY) -m pytest tests/e2e

# The dashboard's browser tests need a Chromium: a system one, else one installed here.
browser: $(VENV)/.installed
	tools/ensure-chromium.sh $(PY)

# The browser test's screenshot goes to a temporary file unless SESSION_RELAY_SCREENSHOT names one.
screenshot: browser
	SESSION_RELAY_SCREENSHOT=docs/dashboard.png $(PY) -m pytest tests/browser -k screenshot

test: lint browser
	$(PY) -m pytest

bench: install
	$(PY) -m bench

soak: $(VENV)/.installed
	$(PY) -m session_relay_tools.soak --duration 60 --sessions 300 --callers 30 --json-out soak.json

build: $(TOOLS_VENV)/.installed
	PATH="$(dir $(PYTHON312)):$$PATH" $(SAM) build

# Reads the API Gateway quota "Maximum integration timeout in milliseconds" (Service Quotas), then
# runs `sam deploy --guided` with IntegrationTimeoutMs=62000 where it allows, else 29000.
deploy: build $(VENV)/.installed
	$(PY) -m session_relay_tools.deploy --sam $(SAM) --region $(AWS_REGION)

delete: $(TOOLS_VENV)/.installed
	$(SAM) delete --region $(AWS_REGION)

clean:
	rm -rf $(VENV) $(TOOLS_VENV) .aws-sam .pytest_cache .ruff_cache
