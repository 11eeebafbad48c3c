# Every target works on a fresh clone: it creates .venv and installs what it needs when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RENDER_STAMP := $(VENV)/.stamp-render
TEST_STAMP := $(VENV)/.stamp-test
ENV ?= prod
PORT ?= 8000
MLFLOW_PORT ?= 5000
TO ?= green

.PHONY: install render validate check pr-check test lint golden serve demo bench promote clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(RENDER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[serve,status,test]'
	touch $@ $(RENDER_STAMP)

install: $(TEST_STAMP)

# `make pr-check`: exactly the GitOps check of .github/workflows/gitops.yaml (a test keeps the two
# equal), in a venv of its own holding only what rendering and validation need: no serving or
# test extras. Where GitHub is out of reach, set GITOPSGEN_CRD_MIRROR (see `schemas fetch`).
CHECK_VENV ?= .venv-check
CHECK_BIN := $(CHECK_VENV)/bin
CHECK_STAMP := $(CHECK_VENV)/.stamp-check
TOOL_SOURCES := pyproject.toml $(shell find generator -type f -not -path '*/__pycache__/*')

$(CHECK_BIN)/python:
	$(PYTHON) -m venv $(CHECK_VENV)

$(CHECK_STAMP): $(TOOL_SOURCES) | $(CHECK_BIN)/python
	$(CHECK_BIN)/python -m pip install --quiet .
	touch $@

pr-check: $(CHECK_STAMP)
	$(CHECK_BIN)/gitopsgen render --check
	$(CHECK_BIN)/gitopsgen schemas fetch
	$(CHECK_BIN)/gitopsgen validate --format github

render: $(RENDER_STAMP)
	$(BIN)/gitopsgen render
	$(BIN)/gitopsgen validate

validate: $(RENDER_STAMP)
	$(BIN)/gitopsgen validate

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache   # layers and acyclic packages: pyproject's [tool.importlinter]

test: lint
	@$(BIN)/python apps/fastapi/tools/local_prometheus.py --install   # verify's tests need it
	$(BIN)/pytest

check: $(TEST_STAMP)
	$(BIN)/gitopsgen render --check
	$(BIN)/gitopsgen validate
	$(MAKE) test

golden: $(TEST_STAMP)   # golden trees and the docs' example outputs; review the diff
	GITOPSGEN_UPDATE_GOLDEN=1 $(BIN)/pytest tests/generator/test_golden.py tests/generator/test_docs_examples.py -q

serve demo: $(TEST_STAMP)
	PORT=$(PORT) MLFLOW_PORT=$(MLFLOW_PORT) $(BIN)/python apps/fastapi/tools/demo.py

bench: $(TEST_STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; \
		apt-get update -qq && apt-get install -y -qq wrk; } || \
		{ echo "make bench needs wrk: install it with your package manager"; exit 1; }
	@test -x $(BIN)/py-spy || $(BIN)/pip install --quiet py-spy   # the serving profile
	$(BIN)/python -m bench.run   # each anchor in .venv-<name>, pinned, from PyPI once (bench/venvs.py)

promote: $(RENDER_STAMP)
	$(BIN)/gitopsgen promote $(ENV) --to $(TO)

clean:
	rm -rf $(VENV) $(CHECK_VENV) .pytest_cache .mypy_cache .ruff_cache
