# augworth: `make book` and `make test` do all set-up on a fresh machine. `make help` lists more.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PROFILE ?= book
NAME ?=
P ?=
PYTHON3 ?= python3
MATHJAX_VERSION := 3.2.2
OFFSET ?=
# make worth: your augmentation on your data
DATA ?=
AUG ?= crop(2)+flip
BASELINE ?= none
MINUTES ?= 8
TFLOPS ?=
# Sweeps run their cells in two single-threaded processes: on two CPU cores that trains the
# small models ~1.5-2x faster than one process with two threads. Set either variable to override
# (e.g. AUGWORTH_EXECUTOR=inline, or slurm on a cluster).
AUGWORTH_EXECUTOR ?= process
AUGWORTH_WORKERS ?= 2

# No value a user gives is ever run, by make or by a shell. Each variable below becomes its raw
# text ($(value ...): a `$(shell ...)` in it is expanded neither here nor when make exports it)
# and reaches the recipes only through the environment, where they read it as "$$VAR", a quoted
# shell variable that bash never parses again. No recipe line pastes one of them in.
USER_VARS := PROFILE NAME P OFFSET DATA AUG BASELINE MINUTES TFLOPS PYTHON3 AUGWORTH_EXECUTOR AUGWORTH_WORKERS
$(foreach v,$(USER_VARS),$(eval override $(v) := $$(value $(v))))
export $(USER_VARS)
# Python then names a bad value by the make variable it came from (OFFSET=..., not --seed-offset).
export AUGWORTH_FROM_MAKE := 1

# An active conda env (other than base) is used as it is; otherwise a .venv here.
ifneq ($(filter-out base,$(value CONDA_DEFAULT_ENV)),)
  ENV_DIR := $(value CONDA_PREFIX)
  BIN :=
else
  ENV_DIR := .venv
  BIN := .venv/bin/
endif
PY := $(BIN)python
ENV_STAMP := $(ENV_DIR)/.augworth-installed
MATHJAX := book/_static/mathjax/tex-mml-chtml.js
INDEX := book/_build/html/index.html

.PHONY: help env data mathjax notebooks book nb replicate reproduce gpu confirm plan worth test bench clean distclean

help: ## this list
	@echo "augworth: what is a data augmentation worth?"
	@echo
	@echo "Targets:"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: PROFILE=smoke|quick|book|full (default book), NAME=<notebook>, P=\"key=value ...\""
	@echo "Notebooks: $(basename $(notdir $(wildcard notebooks/*.py)))"
	@echo "Example:   make nb NAME=data PROFILE=quick P=\"seeds=[0,1] n_per_class=4\""
	@if [ -f $(ENV_STAMP) ]; then $(PY) -m augworth params; \
	 else echo; echo "(run 'make env' once to also list every notebook's parameters and defaults)"; fi

env: $(ENV_STAMP) ## create the environment (.venv, or the active conda env) from pyproject.toml

$(ENV_STAMP): pyproject.toml
ifeq ($(BIN),.venv/bin/)
	@test -x .venv/bin/python || "$$PYTHON3" -m venv .venv
endif
	$(PY) -m pip install -q --disable-pip-version-check -e .
	@touch $@

data: env ## fetch the default data set (Fashion-MNIST) into data/raw
	@$(PY) -m augworth data fetch fashion_mnist

mathjax: $(MATHJAX) ## vendor MathJax into book/_static so the book works offline

$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed once to vendor MathJax: apt-get install npm"; exit 1; }
	@rm -rf build/mathjax && mkdir -p build/mathjax book/_static/mathjax
	cd build/mathjax && npm pack mathjax@$(MATHJAX_VERSION) --silent >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	cp -r build/mathjax/package/es5/{tex-mml-chtml.js,input,output,a11y,ui,sre,adaptors} book/_static/mathjax/

notebooks: data ## execute every notebook with PROFILE (only those whose inputs changed)
	$(PY) -m augworth notebooks --profile "$$PROFILE"

book: notebooks mathjax ## environment, data, notebooks, then the static book; prints its path
	$(BIN)jupyter-book build book -W -n --keep-going --quiet
	@echo "The book: $(abspath $(INDEX))"

nb: data mathjax ## execute one chapter (and the scorecard), then the book: make nb NAME=data P="key=value ..."
	@test -n "$$NAME" || { echo "NAME is required, e.g. make nb NAME=data P=\"seeds=[0,1]\""; exit 2; }
	$(PY) -m augworth notebooks "$$NAME" --profile "$$PROFILE" --force --set-from-env P
	$(PY) -m augworth notebooks scorecard --profile "$$PROFILE"
	$(BIN)jupyter-book build book -W -n --keep-going --quiet
	@echo "The book: $(abspath $(INDEX))"

replicate: notebooks mathjax ## rerun every chapter on disjoint seeds (default: past the largest seed in use; OFFSET=k), scorecard shows both
	$(PY) -m augworth replicate --profile "$$PROFILE" $${OFFSET:+--seed-offset "$$OFFSET"}
	$(PY) -m augworth notebooks scorecard --profile "$$PROFILE"
	$(BIN)jupyter-book build book -W -n --keep-going --quiet
	@echo "The book: $(abspath $(INDEX))"

reproduce: data mathjax ## recompute the shipped results here (NAME=<chapter> for one; a cache of its own), then compare verdicts claim by claim
	$(PY) -m augworth reproduce $${NAME:+"$$NAME"} --profile "$$PROFILE"

gpu: data ## the prepared GPU run (MINUTES=8): CUDA checks, packed benchmark, full-profile cells into data/results/full; REG=N: registration N's cells instead, seed by seed (make confirm REG=N finishes it)
	$(PY) -m augworth gpu --minutes "$$MINUTES" $${REG:+--registration "$$REG"}

confirm: data ## compute a later registration's confirmatory results: make confirm REG=2 (params/$$PROFILE/registration-<REG>.yaml; prints its cost first)
	@test -n "$$REG" || { echo "REG is required: the registration's number, e.g. make confirm REG=2 (params/book/registration-2.yaml)"; exit 2; }
	$(PY) -m augworth confirm --profile "$$PROFILE" --registration "$$REG"

plan: data ## what PROFILE costs before it runs: models, images and FLOPs per chapter (TFLOPS=r: minutes at r TFLOP/s)
	$(PY) -m augworth plan --profile "$$PROFILE" $${TFLOPS:+--tflops "$$TFLOPS"}

worth: env ## your augmentation on your data, a report: make worth DATA=<folder or data set> AUG="crop(2)+flip" P="minutes=4"
	@test -n "$$DATA" || { echo "DATA is required: a folder of images (<path>/<class>/<image>) or a data set name, e.g. make worth DATA=fashion_mnist AUG=\"crop(2)+flip\""; exit 2; }
	$(PY) -m augworth worth --data "$$DATA" --augment "$$AUG" --baseline "$$BASELINE" --set-from-env P

test: data mathjax ## unit tests, every notebook with the smoke profile, the book with warnings as errors (2 processes)
	$(PY) -m pytest -n 2 --dist worksteal

bench: data ## benchmarks (prints tables)
	@ls benchmarks/*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	@for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean: ## remove build products (executed notebooks, the built book, caches)
	rm -rf book/_build book/chapters build .cache .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## also remove the environment, vendored MathJax and fetched data
	rm -rf .venv book/_static/mathjax data/raw
