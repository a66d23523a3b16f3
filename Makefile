# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# The machine's pip fails to resolve some packages: upgrade it inside the venv first.
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/koreapage-bot run

test: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

# reader, psutil and py-spy for the farm benchmarks (bench/poll_vs_reader.py and friends).
bench-deps: $(STAMP_DEV)
	$(BIN)/pip install --quiet -e '.[dev,bench]'

bench: $(STAMP_DEV)
	$(BIN)/python bench/parse_large_feed.py
	$(BIN)/python bench/poll_throughput.py
	$(BIN)/python bench/analyze.py
	$(BIN)/python bench/dispatch.py
	$(BIN)/python bench/json_memory.py
	$(BIN)/python bench/stories.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
