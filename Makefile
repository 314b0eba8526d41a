# The two commands README.md leads with, and the pieces they are made of.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap readiness test lint

bootstrap:
	@scripts/bootstrap

## Install what is missing, run the readiness suite on local processes, print the report path.
readiness: bootstrap
	$(BIN)/readiness run --backend local --profile smoke

## Every test: lint, unit tests of the product and the harness, integration tests.
test: bootstrap lint
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
