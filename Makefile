# Two commands do all the set-up on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= workspace
SAMPLES := data/samples
HOST := 127.0.0.1
LAB_PORT ?= 8888
VOILA_PORT ?= 8866
LABEL_PORT ?= 8867
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help env lab dashboards label test workspace samples lint chromium clean-workspace

help:
	@echo "make lab         set up (if needed) and start JupyterLab on notebooks/ at http://$(HOST):$(LAB_PORT)"
	@echo "make dashboards  serve the read-only dashboards (notebooks/dashboards/) with Voila on $(HOST):$(VOILA_PORT);"
	@echo "                 prints the URL with its token (\$$WORKBENCH_DASHBOARD_TOKEN, else random); viewers see masked data"
	@echo "make label       serve the labeling app (notebooks/apps/) for you, the analyst, on $(HOST):$(LABEL_PORT),"
	@echo "                 with its own token (\$$WORKBENCH_LABEL_TOKEN, else random)"
	@echo "make test        set up (if needed) and run every test, browser tests included"
	@echo "make samples     regenerate data/samples/ from the seeded generator"
	@echo "make lint        ruff over src/ tests/ benchmarks/, the import layers (import-linter), types of the public API (mypy)"

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)

# The sample workspace is prepared once; later runs keep whatever the analyst did in it.
$(WORKSPACE)/.prepared: $(STAMP)
	$(BIN)/workbench prepare --workspace $(WORKSPACE) --samples $(SAMPLES)
	@touch $@

workspace: $(WORKSPACE)/.prepared

lab: workspace
	WORKBENCH_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/jupyter lab --no-browser \
		--ServerApp.ip=$(HOST) --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

# Voila behind a token, answering only local Host names, rendering only the pages its voila.json lists
# (a preheated kernel per dashboard), with the workbench template (charts drawn from the page itself).
# Dashboard kernels open the workspace read-only, as a viewer: see src/workbench/dashboards/serve.py.
dashboards: workspace
	WORKBENCH_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/python -m workbench.dashboards.serve notebooks/dashboards \
		--ip=$(HOST) --port=$(VOILA_PORT)

# The labeling app writes labels under your login: a separate server, with its own token, for you alone.
label: workspace
	WORKBENCH_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/python -m workbench.dashboards.serve notebooks/apps \
		--ip=$(HOST) --port=$(LABEL_PORT) --token-env=WORKBENCH_LABEL_TOKEN

chromium:
	@scripts/ensure-chromium

test: $(STAMP) chromium
	$(BIN)/python -m pytest

samples: $(STAMP)
	$(BIN)/workbench samples --out $(SAMPLES)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

clean-workspace:
	rm -rf $(WORKSPACE)
