# The two commands of the README's Quickstart. Each makes its own virtual environment
# (.venv, rebuilt when pyproject.toml changes) and installs what it needs into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint sweep docs clean

demo: $(STAMP)
	$(BIN)/pcagmm data fetch mnist --quiet
	$(BIN)/pcagmm run --force

test: $(STAMP) lint
	$(BIN)/python -m pytest -n auto --dist loadfile

# the numerical tests under each OpenBLAS kernel and NumPy SIMD level (tools/kernel_sweep.py)
sweep: $(STAMP)
	$(BIN)/python tools/kernel_sweep.py

# the documentation site, offline, warnings as errors: open docs/_build/html/index.html
DOCS_STAMP := $(VENV)/.installed-docs
# (the notebooks that read MNIST take it from ../shared/data/mnist where it is, as the
# tests do; elsewhere pcagmm fetches it into its cache on first use)
SHARED_MNIST := $(abspath ../shared/data/mnist)
docs: $(DOCS_STAMP)
	$(if $(wildcard $(SHARED_MNIST)/SHA256SUMS.raw),PCAGMM_MNIST_DIR="$${PCAGMM_MNIST_DIR:-$(SHARED_MNIST)}") \
	  $(BIN)/sphinx-build -W --keep-going -n -b html docs/site docs/_build/html

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
