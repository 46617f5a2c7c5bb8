# Two commands on a fresh machine with Python 3.11 and make:
#   make report   set up .venv, build the demo store, run every business unit, print the index path
#   make test     set up .venv and run the tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := outputs/demo/ar_demo.sqlite
JOBS   ?= 2
# where `make kernel` registers the project's Jupyter kernel: the user's kernels (any JupyterLab
# or editor on this machine lists "Python (arlib)"); KERNEL_DEST="--prefix DIR" puts it elsewhere
KERNEL_DEST ?= --user

.PHONY: venv demo report test test-fast kernel lab bench lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed"' \
	  || { echo "make: Python 3.11 is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

$(DEMO): $(STAMP) arlib/demo.py
	$(BIN)/arlib demo

demo: $(DEMO)

report: venv demo
	$(BIN)/arlib run --jobs $(JOBS)

test: venv lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: venv
	$(BIN)/python -m pytest -n 2 -m "not slow"

kernel: venv
	$(BIN)/python -m ipykernel install $(KERNEL_DEST) --name arlib --display-name "Python (arlib)"

# the demo store if missing, the project's kernel, then JupyterLab in notebooks/ (its working folder)
lab: venv demo kernel
	$(BIN)/jupyter lab notebooks/

bench: venv
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py

lint: venv
	$(BIN)/ruff check arlib tests bench
	$(BIN)/ruff format --check arlib tests bench

clean:
	rm -rf outputs/20* outputs/demo outputs/bench .pytest_cache
