# The two commands README.md leads with, and the pieces they are made of.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap readiness test lint images bench

bootstrap:
	@scripts/bootstrap

## Install what is missing, run the readiness suite on local processes, print the report path.
readiness: bootstrap
	$(BIN)/readiness run --backend local --profile smoke

## Every test: lint, unit tests of the product and the harness, integration tests, and
## the Docker platform's smoke tests (harness/tests/platform/docker) when an engine is reachable.
test: bootstrap lint images
	$(BIN)/pytest

## The stack's images built locally from Debian packages (compose/offline/build; seconds when
## nothing changed). Without a Docker engine the docker smoke tests are skipped, and said so.
images:
	@if docker info >/dev/null 2>&1; then \
		compose/offline/build; \
	else \
		echo "[make] no Docker engine reachable: not building images; the docker smoke tests (harness/tests/platform/docker) will be SKIPPED"; \
	fi

lint:
	$(BIN)/ruff check .

## The figures of benchmarks/README.md's table, each script after the other (minutes; a quiet
## machine gives the figures the targets are judged on). Exits 1 if any target was missed.
BENCHMARKS := gateway_overhead gateway_streaming chat_fanout stack_capacity service_startup
bench: bootstrap
	@failed=""; for b in $(BENCHMARKS); do \
		echo "== benchmarks/$$b.py"; \
		$(BIN)/python benchmarks/$$b.py || failed="$$failed $$b"; \
	done; \
	if [ -n "$$failed" ]; then echo "[bench] targets missed by:$$failed"; exit 1; fi
