# Two entry points for a newcomer (see README): `make repro` and `make test`.
# Both create .venv from scratch when it is missing or the pins changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# dvc.yaml's commands say `python`: the venv's interpreter must come first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup repro test bench lint
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	# The local CPU wheel; any other torch spec downloads GBs of CUDA packages.
	$(BIN)/pip install -qq torch==2.13.0
	$(BIN)/pip install -qq -r requirements.txt
	$(BIN)/pip install -qq --no-deps -r requirements-nodeps.txt
	$(BIN)/pip install -qq --no-deps -e .
	touch $@

repro: setup
	$(BIN)/dvc repro

test: setup
	$(BIN)/ruff check twainlora stages tests bench scripts
	$(BIN)/ruff format --check twainlora stages tests bench scripts
	$(BIN)/python -m pytest

# After `make repro` (the model benchmarks read models/ and data/splits/).
bench: setup
	$(BIN)/python bench/data_stages.py
	$(BIN)/python bench/dedupe.py
	$(BIN)/python bench/train.py
	$(BIN)/python bench/eval.py
	$(BIN)/python bench/decode.py
	$(BIN)/python bench/repetition.py
	$(BIN)/python bench/call_probe.py
	$(BIN)/python bench/serve.py

lint: setup
	$(BIN)/ruff check twainlora stages tests bench scripts
	$(BIN)/ruff format --check twainlora stages tests bench scripts
