# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine with only Python.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# A CPU build of PyTorch; installed before anything else so that no dependency pulls a CUDA build.
TORCH  ?= torch==2.13.0

# Tests run in parallel (pytest-xdist), one PyTorch/BLAS thread per worker so workers do not oversubscribe.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

.PHONY: install demo test test-quick bench docs docs-check clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/nnsurrogate demo

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -n auto --dist loadfile

test-quick: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q -n auto --dist loadfile -m "not slow"

bench: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e ".[test,bench]"
	$(PY) benchmarks/run.py

# The documentation site in site/: notebooks in docs/tutorials/ are executed during the build; any warning fails it.
docs: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e ".[test,docs]"
	NO_MKDOCS_2_WARNING=1 $(TEST_ENV) $(VENV)/bin/mkdocs build --strict --clean -d site

# The built site checked as a reader sees it: links, images, executed outputs; screenshots in headless Chromium.
docs-check: docs
	$(TEST_ENV) NNSURROGATE_SITE=site $(PY) -m pytest -q tests/docs

clean:
	rm -rf demo_out .pytest_cache build dist site .cache
