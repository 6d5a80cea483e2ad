# Every target bootstraps .venv when it is missing: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui web sandbox lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,clv]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/marketing-pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup

ui: $(STAMP)  # the Dagster UI on the sandbox's generated data
	$(BIN)/marketing-pipeline ui --sandbox

web: $(STAMP)
	$(BIN)/marketing-pipeline web

sandbox: $(STAMP)
	$(BIN)/marketing-pipeline sandbox

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check marketing_pipeline marketing_pipeline_tests bench
	$(BIN)/ruff format --check marketing_pipeline marketing_pipeline_tests bench

bench: $(STAMP)
	$(BIN)/marketing-pipeline bench

clean:
	rm -rf $(VENV) .marketing_pipeline
