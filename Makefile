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
# The suite runs ansible with Mitogen's strategy: it keeps one Python per host with boto3 and the
# kubernetes client imported, about half the CPU per task on a 2-core machine. `make demo` and
# test_site's site.yml runs keep Ansible's stock strategy (what AWX and most users run), so the
# product is proven both ways. TEST_STRATEGY=linear runs the whole suite with the stock strategy.
TEST_STRATEGY ?= mitogen_linear
STRATEGY_ENV = export ANSIBLE_STRATEGY=$(TEST_STRATEGY); \
	[ "$(TEST_STRATEGY)" = linear ] || export ANSIBLE_STRATEGY_PLUGINS="$$($(BIN)/python -c \
	  'import ansible_mitogen, os; print(os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy"))')";
# Molecule converges on a second local platform of its own (ports 17xxx), so it runs beside the
# pytest lane that owns the first one.
MOLECULE_LP_DIR := $(CURDIR)/.local-platform-molecule
MOLECULE_LP = LOCAL_PLATFORM_DIR=$(MOLECULE_LP_DIR) LP_MOTO_PORT=17000 LP_PG_PORT=17432 LP_REDIS_PORT=17379 \
	LP_K8S_PORT=17443 LP_OLLAMA_PORT=17434 $(LP)

.PHONY: help demo test lint sanity pytest pytest-shared pytest-private molecule platform-start platform-stop platform-status clean

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
	-[ ! -d $(MOLECULE_LP_DIR) ] || $(MOLECULE_LP) stop
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

# pytest-shared converges against the one shared local platform, one test after another;
# pytest-private holds the tests with private servers (or none). `make pytest` runs both side by side.
pytest: platform-start
	status=0; $(MAKE) pytest-private > $(LP_DIR)/pytest-private.log 2>&1 & private=$$!; \
	$(MAKE) pytest-shared || status=$$?; wait $$private || status=$$?; \
	echo "== pytest -m 'not shared_platform' (ran alongside)"; cat $(LP_DIR)/pytest-private.log; exit $$status

pytest-shared: platform-start
	eval "$$($(LP) env)"; $(STRATEGY_ENV) \
	$(BIN)/python -m pytest --durations=25 -m shared_platform tests

pytest-private: setup
	eval "$$($(LP) env)"; $(STRATEGY_ENV) \
	$(BIN)/python -m pytest --durations=15 -m "not shared_platform" tests

# A scenario left half-run on this machine would skip create/prepare next time; reset clears its state.
molecule: setup
	$(MOLECULE_LP) start
	eval "$$($(MOLECULE_LP) env)"; $(STRATEGY_ENV) \
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

# Two lanes keep both cores busy: the shared-platform pytest lane, and beside it lint, sanity, the
# private pytest lane and molecule (on its own platform). Every part runs even if one fails (-k);
# the shared lane's output follows the other lane's, and each lane's minutes are printed last.
test: test-setup
	$(MAKE) platform-start
	status=0; lanes_start=$$(date +%s); \
	( $(MAKE) pytest-shared > $(LP_DIR)/lane-shared.log 2>&1; echo $$? > $(LP_DIR)/lane-shared.status; \
	  echo $$(( $$(date +%s) - lanes_start )) > $(LP_DIR)/lane-shared.seconds ) & shared=$$!; \
	$(MAKE) -k lint sanity pytest-private molecule || status=$$?; \
	other_seconds=$$(( $$(date +%s) - lanes_start )); \
	wait $$shared; \
	echo "== pytest -m shared_platform (ran alongside)"; cat $(LP_DIR)/lane-shared.log; \
	[ "$$(cat $(LP_DIR)/lane-shared.status)" = 0 ] || status=1; \
	echo "lanes: shared pytest $$(cat $(LP_DIR)/lane-shared.seconds)s; lint+sanity+private pytest+molecule $${other_seconds}s"; \
	$(MAKE) platform-stop; exit $$status

clean: platform-stop
	rm -rf $(LP_DIR) $(MOLECULE_LP_DIR) .collections

# make benchmark — benchmarks/run.py on a private local platform (ports LP_*_PORT, 25000-series by
# default); writes docs/performance.md. Cut sizes with e.g. BENCH_ARGS="--noop-sizes 2,5,10".
BENCH_ARGS ?=
.PHONY: benchmark
benchmark: setup
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
