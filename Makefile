# Every target creates or reuses the local virtual environment: on a fresh machine
# `make run` and `make test` are the only set-up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint bench bench-quick fuzz crash clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hftbook serve

demo: $(STAMP)
	$(BIN)/hftbook demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/property
	HFTBOOK_PIPELINE_FLOWS=20 $(BIN)/python -m pytest tests/integration/test_pipeline.py -k equal

crash: $(STAMP)
	HFTBOOK_CRASH_POINTS=2000 $(BIN)/python -m pytest tests/integration/test_journal_crash.py
	HFTBOOK_POWER_SEEDS=20000 $(BIN)/python -m pytest tests/property/test_journal_power_loss.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
