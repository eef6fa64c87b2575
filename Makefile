# The two commands of the README's Quickstart. Each makes its own virtual environment
# (.venv, rebuilt when pyproject.toml changes) and installs what it needs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint sweep clean

demo: $(STAMP)
	$(BIN)/pcagmm data fetch mnist --quiet
	$(BIN)/pcagmm run --force

test: $(STAMP) lint
	$(BIN)/python -m pytest

# the numerical tests under each OpenBLAS kernel and NumPy SIMD level (tools/kernel_sweep.py)
sweep: $(STAMP)
	$(BIN)/python tools/kernel_sweep.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
