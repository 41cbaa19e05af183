# The README's two commands: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check -q
CLI := $(VENV)/bin/mlops-blueprint
BLUEPRINT ?= blueprints/reference/starter.yaml
# A filesystem mirror of terraform providers, used when present (this image has one at /opt/tf-plugins).
MLOPS_PROVIDER_MIRROR ?= $(firstword $(wildcard /opt/tf-plugins))
export MLOPS_PROVIDER_MIRROR
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 18,20

.PHONY: demo test test-fast lint typecheck install install-test down clean schema bench cdktn-cli

# pip is upgraded first: the pip that ships with Python 3.11 (23.x) fails to resolve this set of extras.
$(PY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -U pip

# checkov has a virtualenv of its own: its pins would downgrade the project's boto3. The gate finds it
# there (policies/checkov_runner.py: $$MLOPS_CHECKOV, then .venv-checkov/bin/checkov, then PATH).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION := 3.3.30

$(CHECKOV):
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check -U pip
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check checkov==$(CHECKOV_VERSION)

install: $(PY) $(CHECKOV)
	$(PIP) install -e '.[aws,gcp,azure,onprem,emulator,policy]'

install-test: $(PY) $(CHECKOV)
	$(PIP) install -e '.[aws,gcp,azure,onprem,emulator,policy,pulumi,dev]'

demo: install
	$(CLI) validate $(BLUEPRINT)
	$(CLI) up $(BLUEPRINT) --env dev --local
	@echo
	@echo "Deployed into the embedded emulator. Next: '$(CLI) up $(BLUEPRINT) --env dev --local' again (no changes),"
	@echo "'$(CLI) down $(BLUEPRINT) --env dev --local' to remove it, '$(CLI) emulator stop' to end the emulator."

# The CDK Terrain CLI needs Node >= 22.19; the npm registry serves it as the node@22 package.
cdktn-cli: .tools/node_modules/.bin/cdktn
.tools/node_modules/.bin/cdktn:
	npm install --prefix .tools --no-audit --no-fund --silent node@22 cdktn-cli@0.24.0

test: install-test cdktn-cli lint
	$(PY) -m pytest -q -p no:cacheprovider

# The inner loop: everything but the emulator deployments, stopping at the first failure.
test-fast: install-test
	$(PY) -m pytest -q -p no:cacheprovider -x -m "not integration"

lint: install-test typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy checks the package `mlops_blueprint`, which is the repository root mapped under that name.
typecheck: install-test
	@mkdir -p build/typecheck && ln -sfn ../.. build/typecheck/mlops_blueprint
	$(VENV)/bin/mypy

down:
	$(CLI) down $(BLUEPRINT) --env dev --local

schema: install
	$(CLI) schema

bench: install-test
	$(PY) scripts/bench.py

clean:
	rm -rf cdktf.out .pytest_cache build .mypy_cache .ruff_cache
