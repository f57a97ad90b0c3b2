"""The wheel carries what an installed arena needs: the licence the metadata names, the
shipped configs, the bundled data and the page's files; the core installs and runs without
the `ml` extra."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from contenders.registry import BUILTINS, ML_MODULES, ML_REQUIREMENTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    uv = [shutil.which("uv")] if shutil.which("uv") else [sys.executable, "-m", "uv"]
    done = subprocess.run([*uv, "build", "--wheel", "--out-dir", str(out), str(ROOT)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("model_arena-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_carries_the_licence_configs_data_and_page(wheel):
    names = set(wheel.namelist())
    assert "model_arena-0.1.0.dist-info/licenses/LICENSE" in names
    assert "Apache License" in wheel.read("model_arena-0.1.0.dist-info/licenses/LICENSE").decode()
    shipped = {p.name for p in (ROOT / "configs").glob("*.yaml")}
    assert shipped and {n.rsplit("/", 1)[-1] for n in names if n.startswith("arena/configs/")} == shipped
    assert "arena/data/samples/us_equities_daily.parquet" in names
    assert "serve/static/index.html" in names
    metadata = wheel.read("model_arena-0.1.0.dist-info/METADATA").decode()
    assert "License-File: LICENSE" in metadata


def test_the_wheel_requires_the_ml_stack_only_with_the_ml_extra(wheel):
    from packaging.requirements import Requirement

    metadata = wheel.read("model_arena-0.1.0.dist-info/METADATA").decode().splitlines()
    assert "Provides-Extra: ml" in metadata
    requires = [Requirement(line.split(":", 1)[1]) for line in metadata if line.startswith("Requires-Dist:")]
    ml_stack = {"torch", "lightgbm", "shap", "captum", "pytorch-forecasting", "stable-baselines3", "gymnasium"}
    core = {r.name for r in requires if r.marker is None}
    with_ml = {r.name for r in requires if r.marker is not None and r.marker.evaluate({"extra": "ml"})}
    assert core and not core & ml_stack
    assert ml_stack <= with_ml
    assert {"ray", "pandas", "duckdb", "questdb", "fastapi"} <= core


# --- the core installs and runs without the `ml` extra -----------------------------------

CORE_PACKAGES = ("arena", "contenders", "ledger", "serve")

# Imports every module of the four packages with the ML modules blocked (a finder first on
# sys.meta_path refuses them, as if not installed) and prints, as JSON, the modules that
# failed (with the missing module), the built-ins' resolve answers and any ML module loaded.
_IMPORT_ALL_WITHOUT_ML = r"""
import importlib, json, pkgutil, sys
blocked = set(sys.argv[1].split(","))

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None

sys.meta_path.insert(0, Block())
failed = {}
for package in sys.argv[2].split(","):
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            failed[info.name] = exc.name
from contenders.registry import BUILTINS, MissingExtraError, resolve
resolved = {}
for short in BUILTINS:
    try:
        resolve(short)
        resolved[short] = "ok"
    except MissingExtraError as exc:
        resolved[short] = "missing extra: " + str(exc)
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in blocked)
print(json.dumps({"failed": failed, "resolved": resolved, "loaded": loaded}))
"""


def test_the_core_modules_import_without_the_ml_extra():
    """Every module outside contenders.ml imports with torch, lightgbm, shap, ... blocked; only
    the learned contenders' own modules need them, and the registry refuses those contenders
    with the install hint instead of an ImportError."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL_WITHOUT_ML, ",".join(sorted(ML_MODULES)), ",".join(CORE_PACKAGES)],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["loaded"] == []
    outside = {m: missing for m, missing in found["failed"].items() if not m.startswith("contenders.ml.")}
    assert outside == {}, f"core modules that need the ml extra: {outside}"
    assert set(found["failed"].values()) <= ML_MODULES
    for short, answer in found["resolved"].items():
        if short in ML_REQUIREMENTS:
            assert answer.startswith("missing extra:"), short
            assert repr(short) in answer and "pip install 'model-arena[ml]'" in answer and "make ml-setup" in answer
        else:
            assert answer == "ok", (short, answer)
    # the learned contenders whose module fails to import are all in the registry's table
    needs_ml = {path.partition(":")[0]: short for short, path in BUILTINS.items()}
    assert {needs_ml[m] for m in found["failed"] if m in needs_ml} <= set(ML_REQUIREMENTS)


ML_EXTRA = importlib.util.find_spec("torch") is not None
"""Whether this environment has the `ml` extra (`make test`'s has; `make compat`'s core ones do not)."""
needs_ml = pytest.mark.skipif(not ML_EXTRA, reason="needs the ml extra (a core environment: make compat)")


@needs_ml
def test_the_registry_names_modules_the_ml_extra_installs():
    """Each module a learned built-in is said to need is importable here (the test env has the
    extra), and is one of ML_MODULES: a misspelt name would refuse the contender for ever."""
    import importlib.util

    for short, modules in ML_REQUIREMENTS.items():
        assert short in BUILTINS
        for module in modules:
            assert module in ML_MODULES
            assert importlib.util.find_spec(module) is not None, (short, module)


@needs_ml
def test_the_registry_knows_a_module_of_every_distribution_of_the_ml_extra():
    """pyproject's `ml` extra and contenders.registry.ML_MODULES name the same libraries: a
    library added to the extra is blocked by the import test above once it is listed there."""
    import tomllib
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    extra = {canonicalize_name(Requirement(r).name)
             for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["ml"]}
    provided_by = {m: {canonicalize_name(d) for d in dists} for m, dists in packages_distributions().items()}
    covered = {dist for m in ML_MODULES for dist in provided_by.get(m, ())}
    assert extra - covered == set(), "add a top-level module of these to contenders.registry.ML_MODULES"
    assert covered - extra == set(), "ML_MODULES names modules of distributions the extra does not declare"


@pytest.mark.slow
def test_a_core_install_runs_an_arena_without_torch(tmp_path):
    """The locked core (no extra, no dev group) synced offline into a fresh virtualenv has
    neither the ML stack nor the test tools, imports every module but the learned
    contenders' own, runs `arena run` on two rule contenders and refuses a learned one
    with the install hint."""
    uv = [shutil.which("uv")] if shutil.which("uv") else [sys.executable, "-m", "uv"]
    venv = tmp_path / "core-venv"
    # no compiling at install (half a minute on two cores): the first imports (the probe's) write
    # the .pyc files the run's Ray workers then read
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "RAY_ADDRESS", "PYTHONDONTWRITEBYTECODE")}
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never", UV_COMPILE_BYTECODE="0",
               RAY_USAGE_STATS_ENABLED="0")
    synced = subprocess.run(
        [*uv, "sync", "--frozen", "--offline", "--no-default-groups", "--python", sys.executable],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )
    assert synced.returncode == 0, f"core sync (offline, from uv's cache) failed:\n{synced.stderr}"
    python = venv / "bin" / "python"
    # every module of the four packages, there: none may need the extra or a dev-group tool
    probe = subprocess.run(
        [str(python), "-c", _IMPORT_ALL_WITHOUT_ML, ",".join(sorted(ML_MODULES)), ",".join(CORE_PACKAGES)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    assert {m: e for m, e in found["failed"].items() if not m.startswith("contenders.ml.")} == {}
    assert set(found["failed"].values()) <= ML_MODULES
    assert {s for s, answer in found["resolved"].items() if answer != "ok"} == set(ML_REQUIREMENTS)
    has = subprocess.run(
        [str(python), "-c", "import importlib.util, json, sys\n"
         "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m) is not None]))",
         *sorted(ML_MODULES), "pytest", "hypothesis", "ruff", "playwright"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )
    assert has.returncode == 0, has.stderr
    assert json.loads(has.stdout) == [], "the core install holds these, from the extra or the dev group"

    def config(second: dict) -> str:
        path = tmp_path / "core.yaml"
        path.write_text(yaml.safe_dump({
            "name": "core-install",
            "data": {"source": "sample", "name": "us_equities_daily"},
            "contenders": [{"name": "bench", "class": "buy_and_hold"}, second],
            "store": f"duckdb://{tmp_path / 'core.duckdb'}",
        }))
        return str(path)

    arena = str(venv / "bin" / "arena")
    sma = {"name": "sma", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}}
    ran = subprocess.run([arena, "run", config(sma), "--json"], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert {r["contender"] for r in json.loads(ran.stdout)["leaderboard"]} == {"bench", "sma"}
    lstm = {"name": "lstm", "class": "lstm_attention"}
    refused = subprocess.run([arena, "run", config(lstm)], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "pip install 'model-arena[ml]'" in " ".join(refused.stderr.split())
