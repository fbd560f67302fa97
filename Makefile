# Two commands for a newcomer:  make demo   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROFILE ?= demo

# Downloaded data sets (grainlib.data.public) stay in the user's cache, shared with `python -m
# grainlib data` outside make and kept by `make clean`; GRAINLIB_DATA set by you wins.
USER_CACHE := $(if $(XDG_CACHE_HOME),$(XDG_CACHE_HOME),$(HOME)/.cache)
export GRAINLIB_DATA ?= $(USER_CACHE)/grainlib

# Keep every tool's caches inside the project, not in the home directory.
export XDG_CACHE_HOME   := $(CURDIR)/.cache
export MPLCONFIGDIR     := $(CURDIR)/.cache/matplotlib
export IPYTHONDIR       := $(CURDIR)/.cache/ipython
export JUPYTER_CONFIG_DIR := $(CURDIR)/.cache/jupyter
export NUMBA_CACHE_DIR  := $(CURDIR)/.cache/numba
unexport MPLBACKEND

.PHONY: venv demo run test browser-test tables notebooks benchmarks lab nbval-refresh clean iron-model

venv: $(STAMP)

# setuptools reports every editable install with an "Editable installation" notice,
# a warning that is information only: PYTHONWARNINGS hides it, the install is unchanged.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' $(BIN)/python -m pip install --quiet -e '.[notebooks,test]'
	mkdir -p .cache/matplotlib .cache/ipython .cache/jupyter .cache/numba
	touch $(STAMP)

## make demo: set up, sweep chapters 03-05 over the profile's sweep.fractions and seeds,
## then run every chapter at the embedded default profile
demo: venv
	$(BIN)/python -m grainlib sweep --profile $(PROFILE)
	$(BIN)/python -m grainlib run --profile $(PROFILE)

## make tables: the three-seed sweep of every real fraction: Tables 3-4, figures/*_3seeds.*
tables: venv
	$(BIN)/python -m grainlib sweep --profile $(PROFILE) --fractions all --seeds 0 1 2

## make iron-model: the shipped U-Net models/iron.pt and its record models/iron.json, made
## again from the public iron sections (fetched by name into the cache when missing): a
## held-out U-Net and the shipped one, 2000 steps each on 1 thread (about 15 CPU minutes)
iron-model: venv
	$(BIN)/python -m grainlib model train iron

## make test: unit tests, the notebook regression and the browser tests (smoke profile);
## -rs shows why tests were skipped (the browser tests without /usr/bin/chromium or Playwright)
test: venv
	$(BIN)/python -m pytest -q -rs --nbval-lax --nbval-sanitize-with tests/nbval/sanitize.cfg tests

## make browser-test: every chapter opened and run in JupyterLab in headless Chromium (no
## cell may fail, every widget's image must follow its slider); screenshots in runs/browser
browser-test: venv
	$(BIN)/python -m pytest -q -rs tests/browser

## make notebooks: re-execute notebooks/*.ipynb in place at the demo profile (the outputs a reader sees)
notebooks: venv
	$(BIN)/python -m grainlib sweep --profile demo
	$(BIN)/python -m grainlib notebooks --inplace

## make nbval-refresh: regenerate the smoke-profile reference notebooks that nbval checks against
nbval-refresh: venv
	$(BIN)/python -m grainlib sweep --profile smoke
	$(BIN)/python -m grainlib notebooks --profile smoke --out tests/nbval

benchmarks: venv
	for f in benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

lab: venv
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf runs .cache
