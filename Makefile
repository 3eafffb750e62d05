# PrivateLink Governor. `make test` and `make demo` install what they need by themselves.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
EMULATOR_PORT ?= 4566
EMULATOR_URL := http://127.0.0.1:$(EMULATOR_PORT)

# Everything that talks to AWS in tests goes to the local emulator with dummy credentials.
LOCAL_AWS_ENV := PLGOV_EMULATOR_PORT=$(EMULATOR_PORT) PLGOV_EMULATOR_URL=$(EMULATOR_URL) \
	AWS_ENDPOINT_URL=$(EMULATOR_URL) AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
# A profile from the environment must not send tests to a real account.
unexport AWS_PROFILE AWS_SESSION_TOKEN

STACK_NAME ?= plgov

.PHONY: help venv local-aws local-aws-stop local-deploy local-deploy-org test check lint-template test-rust \
	test-emulator demo bench dashboard chromium

help:
	@echo "make test            fmt and clippy checks, every Rust test, the emulator's tests (starts the emulator)"
	@echo "make demo            the whole job end to end against the local emulator, explained as it goes"
	@echo "make local-deploy    build, transform and deploy template.yaml into the emulator as stack \$$STACK_NAME (plgov)"
	@echo "make local-deploy-org  the same as a local AWS Organization: hub stack, member stack set (dev/.run/org.json)"
	@echo "make dashboard       the deployed stack's dashboard as a local page and PNG (dev/.run/), ACCOUNT=id if not the default"
	@echo "make bench           release builds, then AWS calls, wall time, memory, cold start and size (bench/results.json)"
	@echo "make local-aws       start the local AWS emulator on $(EMULATOR_URL) (idempotent)"
	@echo "make local-aws-stop  stop the emulator started by make local-aws"
	@echo "make venv            create or update the project .venv from dev/requirements.txt"

# The project virtualenv, rebuilt when the pinned requirements change.
$(VENV)/.installed: dev/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r dev/requirements.txt
	touch $@

venv: $(VENV)/.installed

local-aws: venv
	@PLGOV_EMULATOR_PORT=$(EMULATOR_PORT) dev/local-aws start

local-aws-stop:
	@PLGOV_EMULATOR_PORT=$(EMULATOR_PORT) dev/local-aws stop

local-deploy: venv
	$(LOCAL_AWS_ENV) dev/local-aws start
	$(LOCAL_AWS_ENV) $(PYTHON) dev/local_deploy.py --stack $(STACK_NAME)

# A management account, a hub (DeploymentMode=hub) and three members in OUs; the member stacks come
# from a SERVICE_MANAGED stack set in us-east-1 and us-west-2. PLGOV_PREBUILT=DIR skips the build.
local-deploy-org: venv
	$(LOCAL_AWS_ENV) dev/local-aws start
	$(LOCAL_AWS_ENV) $(PYTHON) dev/local_deploy_org.py

check: lint-template
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

lint-template: venv
	$(VENV)/bin/cfn-lint template.yaml

test-rust:
	$(LOCAL_AWS_ENV) cargo test --workspace

test-emulator: venv chromium
	cd dev/emulator && $(LOCAL_AWS_ENV) ../../$(PYTHON) -m pytest -q tests

test: venv
	$(LOCAL_AWS_ENV) dev/with-local-aws $(MAKE) --no-print-directory check test-rust test-emulator

demo: venv
	$(LOCAL_AWS_ENV) dev/with-local-aws $(PYTHON) dev/demo.py

# The stack's CloudWatch dashboard drawn from the emulator's data (the last 3 hours): prints the page and PNG paths.
dashboard: venv chromium
	$(LOCAL_AWS_ENV) dev/with-local-aws $(PYTHON) dev/dashboard_page.py --stack $(STACK_NAME) \
		$(if $(ACCOUNT),--account $(ACCOUNT)) --png dev/.run/dashboard.png

# Debian's chromium (headless screenshots of the dashboard page, and its test), installed when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium"; \
		$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq && \
		$$([ "$$(id -u)" = 0 ] || echo sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: venv
	$(LOCAL_AWS_ENV) dev/with-local-aws bash bench/run.sh
