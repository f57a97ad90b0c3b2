"""The wheel carries what an installed arena needs: the licence the metadata names, the
shipped configs, the bundled data and the page's files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
