# Two commands: `make demo` and `make test`. Both build .venv first if needed.
# `make test-fast` is lint and the fast tier (the tests tests/tiers.py does not mark slow).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# axe-core for the accessibility browser tests, pinned by tests/browser/axe/package-lock.json
AXE       := tests/browser/axe
AXE_STAMP := $(AXE)/node_modules/.installed

.PHONY: demo test test-fast lint format schema bench reliability labextension clean browser-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

$(AXE_STAMP): $(AXE)/package.json $(AXE)/package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --prefix $(AXE)
	@touch $@

browser-deps: $(AXE_STAMP)

demo: $(STAMP)
	$(BIN)/heron-research demo --out demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint $(AXE_STAMP)
	$(BIN)/python -m pytest

# no processes, kernels, JupyterLab, Dask, browser, packaging or reliability tier: under
# 2 minutes on 2 cores; a fast test that starts any of them fails and names its marker
test-fast: lint
	$(BIN)/python -m pytest -m "not slow"

schema: $(STAMP)
	$(BIN)/python -m heron_research.workbook.portable --write-schema schema/workbook-export.schema.json
	$(BIN)/python -m heron_research.exchange.bundle --write-schema schema/bundle.schema.json

bench: $(STAMP)
	$(BIN)/python benchmarks/store_speed.py
	$(BIN)/python benchmarks/report_speed.py
	$(BIN)/python benchmarks/report_load.py
	$(BIN)/python benchmarks/report_caseload.py
	$(BIN)/python benchmarks/exchange_speed.py --years 1 10
	$(BIN)/python benchmarks/forms_speed.py
	$(BIN)/python benchmarks/lab_open.py

# the lab's JupyterLab extension: labextension/ (TypeScript) built into
# heron_research/labextension/ (committed, shipped in the wheel; `make test` needs no Node).
# Needs Node 20 and the npm registry; node_modules/ and lib/ stay out of git.
labextension: $(STAMP)
	cd labextension && npm ci --no-audit --no-fund && npx tsc
	cd labextension && PATH="$(CURDIR)/$(BIN):$$PATH" jupyter labextension build \
	  --core-path "$$($(CURDIR)/$(BIN)/python -c 'import jupyterlab, pathlib; print(pathlib.Path(jupyterlab.__file__).parent / "staging")')" .

# issue 6's figures: the reliability tier at full scale (about 10 minutes on 2 cores)
reliability: $(STAMP)
	$(BIN)/python benchmarks/reliability.py --markdown benchmarks/reliability-figures.md

clean:
	rm -rf $(VENV) demo build dist .pytest_cache .ruff_cache $(AXE)/node_modules
