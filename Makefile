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
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: help env lab dashboards test workspace samples lint chromium clean-workspace

help:
	@echo "make lab         set up (if needed) and start JupyterLab on notebooks/ at http://$(HOST):$(LAB_PORT)"
	@echo "make dashboards  serve notebooks/dashboards/ read-only with Voila at http://$(HOST):$(VOILA_PORT)"
	@echo "make test        set up (if needed) and run every test, browser tests included"
	@echo "make samples     regenerate data/samples/ from the seeded generator"
	@echo "make lint        ruff over src/ tests/ benchmarks/"

env: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The sample workspace is prepared once; later runs keep whatever the analyst did in it.
$(WORKSPACE)/.prepared: $(STAMP)
	$(BIN)/workbench prepare --workspace $(WORKSPACE) --samples $(SAMPLES)
	@touch $@

workspace: $(WORKSPACE)/.prepared

lab: workspace
	WORKBENCH_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/jupyter lab --no-browser \
		--ServerApp.ip=$(HOST) --ServerApp.port=$(LAB_PORT) --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

# Voila with the folder's voila.json (a preheated kernel per dashboard) and its workbench template
# (charts drawn from the page itself): see src/workbench/dashboards/serve.py.
dashboards: workspace
	WORKBENCH_WORKSPACE=$(abspath $(WORKSPACE)) $(BIN)/python -m workbench.dashboards.serve notebooks/dashboards \
		--ip=$(HOST) --port=$(VOILA_PORT)

chromium:
	@scripts/ensure-chromium

test: $(STAMP) chromium
	$(BIN)/python -m pytest

samples: $(STAMP)
	$(BIN)/workbench samples --out $(SAMPLES)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean-workspace:
	rm -rf $(WORKSPACE)
