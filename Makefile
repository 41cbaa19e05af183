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

.PHONY: demo test test-fast test-load lint typecheck install install-test lock down clean schema bench cdktn-cli

# Installs come from hash-pinned locks (requirements/*.lock, written by `make lock` with uv), so a fresh
# clone installs exactly the versions CI ran: `pip install --require-hashes --no-deps` installs the lock
# and nothing else, then the project goes in editable, with no dependency resolution of its own (its
# build backend, setuptools, is in the lock too). tests/test_lock.py fails when pyproject.toml's
# dependencies are not covered by the lock: run `make lock` after changing them.
LOCK_TEST := requirements/test.lock
LOCK_INSTALL := requirements/install.lock
LOCK_CHECKOV := requirements/checkov.lock
INSTALL_EXTRAS := aws gcp azure onprem emulator policy
TEST_EXTRAS := $(INSTALL_EXTRAS) pulumi dev
UV_VERSION := 0.13.9
# The machines here, CI's and the developers', are Python 3.11 on Linux x86_64. LOCK_ARGS=--upgrade
# moves every pin to the newest release; without it, `make lock` keeps the existing pins where it can.
LOCK_ARGS ?=
UV_COMPILE := $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" $(LOCK_ARGS)

$(PY):
	python3 -m venv $(VENV)

# A stamp per lock: a second `make test` does not reinstall unless the lock or pyproject.toml changed.
$(VENV)/.installed-%: requirements/%.lock pyproject.toml setup.py | $(PY)
	$(PIP) install --require-hashes --no-deps -r $<
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

# checkov has a virtualenv of its own: its pins would downgrade the project's boto3. The gate finds it
# there (policies/checkov_runner.py: $$MLOPS_CHECKOV, then .venv-checkov/bin/checkov, then PATH).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_VERSION := 3.3.30

$(CHECKOV): $(LOCK_CHECKOV)
	test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r $(LOCK_CHECKOV)
	@touch $@

install: $(VENV)/.installed-install $(CHECKOV)

install-test: $(VENV)/.installed-test $(CHECKOV)

# Regenerates the locks from pyproject.toml (the install and test extras) and requirements/*.in.
# The install lock is constrained by the test lock, so both pin the same versions.
lock: | $(PY)
	$(VENV)/bin/uv --version >/dev/null 2>&1 || $(PIP) install uv==$(UV_VERSION)
	$(UV_COMPILE) pyproject.toml requirements/build.in $(TEST_EXTRAS:%=--extra %) -o $(LOCK_TEST)
	$(UV_COMPILE) pyproject.toml requirements/build.in $(INSTALL_EXTRAS:%=--extra %) -c $(LOCK_TEST) -o $(LOCK_INSTALL)
	$(UV_COMPILE) requirements/checkov.in -o $(LOCK_CHECKOV)

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

PYTEST := $(PY) -m pytest -q -p no:cacheprovider
# Two pytest workers (the machines have two cores; most of an integration test's time is terraform and
# the emulator answering, not the test's own process). `--dist loadfile` keeps a module on one worker,
# so each module's emulator (tests/conftest_emulator.py: one per module, on a free port, with a home of
# its own) and its module-scoped synth results are still made once. PYTEST_WORKERS=0 runs in-process.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

# Lint and typecheck run next to the tests (their output is printed when they end, in build/lint.log);
# a lint failure fails `make test` as before.
test: install-test cdktn-cli
	@mkdir -p build
	@( $(MAKE) --no-print-directory lint > build/lint.log 2>&1; echo $$? > build/lint.rc ) & lint=$$!; \
	  $(PYTEST) $(XDIST); rc=$$?; wait $$lint; \
	  echo "--- lint and typecheck (build/lint.log) ---"; cat build/lint.log; \
	  if [ "$$(cat build/lint.rc)" != 0 ]; then echo "lint failed" >&2; exit 1; fi; exit $$rc

# The inner loop: everything but the emulator deployments, stopping at the first failure.
test-fast: install-test
	$(PYTEST) $(XDIST) -x -m "not integration"

# Deploy cycles under CPU load (tests/integration/test_load_cycles.py): minutes long, so out of
# `make test`; .ci/run runs it after `make test`.
test-load: install-test
	$(PYTEST) -m load -s

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
