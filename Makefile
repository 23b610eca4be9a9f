# Everything a fresh machine needs is installed here; CI runs `make test` via .ci/run.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared

.PHONY: install demo test lint bench conformance clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/podnet analyze -f examples/oslo
	$(BIN)/podnet reach -f examples/oslo --ports 8080/TCP,80/TCP,5432/TCP
	$(BIN)/podnet explain -f examples/oslo --from production/frontend-0 --to production/backend-0 --port 8080/TCP

test: install lint
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check podnet tests $(wildcard bench)
	$(BIN)/mypy podnet

conformance: install
	$(BIN)/python -m podnet.conformance $(SHARED)/conformance/netpol-analyzer

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info
