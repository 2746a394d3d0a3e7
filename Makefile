# make demo — converge site.yml twice on the local platform; the second run must report changed=0.
# make test — lint, ansible-test sanity, pytest (unit + integration on the local platform), molecule.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LP := $(BIN)/python scripts/local-platform
# Where the local platform keeps its state and logs (scripts/local-platform honours the same variable).
LP_DIR := $(or $(LOCAL_PLATFORM_DIR),.local-platform)
INVENTORY ?= inventories/local
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help demo test lint sanity pytest molecule platform-start platform-stop platform-status clean

help:
	@echo "make demo   converge site.yml twice against the local platform (second run changed=0)"
	@echo "make test   the whole suite: lint, sanity, pytest, molecule"

$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

# checkov pins much of the tree differently from ansible-lint, so it gets its own virtualenv.
.venv-scan/.installed:
	$(PYTHON) -m venv .venv-scan
	.venv-scan/bin/pip install --quiet --upgrade pip
	.venv-scan/bin/pip install --quiet checkov==3.3.30
	touch $@

.collections/ansible_collections/llm_saas/platform:
	mkdir -p .collections/ansible_collections/llm_saas
	ln -sfn ../../.. $@

setup: $(BIN)/.installed .collections/ansible_collections/llm_saas/platform
# The two virtualenvs install side by side (mostly waiting on downloads and unpacking).
test-setup:
	$(MAKE) -j2 $(BIN)/.installed .venv-scan/.installed
	$(MAKE) setup
.PHONY: test-setup
.PHONY: setup

platform-start: setup
	$(LP) start
platform-stop:
	-$(LP) stop
platform-status:
	$(LP) status

demo: platform-start
	eval "$$($(LP) env)"; \
	$(BIN)/ansible-playbook -i $(INVENTORY) site.yml | tee $(LP_DIR)/demo-run1.log; \
	test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	$(BIN)/ansible-playbook -i $(INVENTORY) site.yml | tee $(LP_DIR)/demo-run2.log; \
	test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	$(BIN)/python scripts/check-recap --changed 0 $(LP_DIR)/demo-run2.log

lint: setup
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint
	$(BIN)/antsibull-changelog lint

sanity: setup
	scripts/sanity

pytest: platform-start
	@# Tests with private servers run beside those of the shared platform (2 cores, half idle otherwise).
	eval "$$($(LP) env)"; \
	$(BIN)/python -m pytest --durations=15 -m "not shared_platform" tests > $(LP_DIR)/pytest-private.log 2>&1 & private=$$!; \
	$(BIN)/python -m pytest --durations=25 -m shared_platform tests; shared=$$?; \
	wait $$private; private_status=$$?; \
	echo "== pytest -m 'not shared_platform' (ran alongside)"; cat $(LP_DIR)/pytest-private.log; \
	test $$shared -eq 0 -a $$private_status -eq 0

# A scenario left half-run on this machine would skip create/prepare next time; reset clears its state.
molecule: platform-start
	eval "$$($(LP) env)"; \
	failed=""; passed=0; timings=""; \
	for scenario in $$(ls molecule); do \
	  [ -f molecule/$$scenario/molecule.yml ] || continue; \
	  echo "== molecule test -s $$scenario"; $(BIN)/molecule reset -s $$scenario >/dev/null 2>&1; \
	  start=$$(date +%s); \
	  if $(BIN)/molecule test -s $$scenario; then passed=$$((passed + 1)); else failed="$$failed $$scenario"; fi; \
	  timings="$$timings $$scenario=$$(( $$(date +%s) - start ))s"; \
	done; \
	echo "molecule scenario times:$$timings"; \
	echo "molecule: $$passed passed, $$(echo $$failed | wc -w) failed$${failed:+ (}$$failed$${failed:+ )}"; \
	test -z "$$failed"

test: test-setup
	$(MAKE) lint
	$(MAKE) sanity
	$(MAKE) platform-start
	status=0; $(MAKE) pytest molecule || status=$$?; $(MAKE) platform-stop; exit $$status

clean: platform-stop
	rm -rf $(LP_DIR) .collections

# make benchmark — benchmarks/run.py on a private local platform (ports LP_*_PORT, 25000-series by
# default); writes docs/performance.md. Cut sizes with e.g. BENCH_ARGS="--noop-sizes 2,5,10".
BENCH_ARGS ?=
.PHONY: benchmark
benchmark: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
