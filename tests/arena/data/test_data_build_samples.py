"""scripts/build_samples.py reproduces the bundled files byte for byte (needs the 'samples' group)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from arena.data.samples import samples_dir

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "build_samples.py"


@pytest.fixture(scope="module")
def build_samples():
    missing = [p for p in ("arch", "gym_anytrading", "pmdarima") if importlib.util.find_spec(p) is None]
    if missing:
        pytest.skip(f"{missing} not installed: install the 'samples' dependency group to rebuild the data")
    spec = importlib.util.spec_from_file_location("build_samples", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rebuild_is_byte_identical_to_the_bundle(build_samples, tmp_path):
    assert build_samples.main(["--out", str(tmp_path), "--only", "us_equities_daily", "fx_hourly"]) == 0
    for name in ("us_equities_daily", "fx_hourly"):
        for suffix in (".parquet", ".json"):
            built = (tmp_path / f"{name}{suffix}").read_bytes()
            assert built == (samples_dir() / f"{name}{suffix}").read_bytes(), f"{name}{suffix} differs"


def test_unknown_data_set_is_refused(build_samples, tmp_path, capsys):
    with pytest.raises(SystemExit):
        build_samples.main(["--out", str(tmp_path), "--only", "nasdaq_minutely"])
    assert "unknown data set(s) ['nasdaq_minutely']" in capsys.readouterr().err
