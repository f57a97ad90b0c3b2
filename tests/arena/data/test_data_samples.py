"""The bundled real data sets: load, validate, match their manifests, round-trip as panels."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from arena.data import (
    SampleIntegrityError,
    SampleSource,
    data_sha256,
    list_samples,
    quality_report,
    to_panel,
    validate_bars,
)
from arena.data.samples import MANIFEST_KEYS, file_sha256, samples_dir
from arena.data.schema import COLUMNS, TIMESTAMP_DTYPE

NAMES = ["crypto_hourly", "fx_hourly", "us_equities_daily"]


def test_list_samples_returns_manifests():
    manifests = list_samples()
    assert [m["name"] for m in manifests] == NAMES
    for m in manifests:
        assert all(k in m for k in MANIFEST_KEYS)
        for src in m["sources"]:
            assert src["package"] and src["version"] and src["license"] and src["path"]
        assert m["notes"]


def test_bundle_is_small():
    total = sum(p.stat().st_size for p in samples_dir().iterdir())
    assert total < 3 * 2**20


@pytest.mark.parametrize("name", NAMES)
def test_sample_loads_valid_and_matches_manifest(name):
    src = SampleSource(name)
    bars = src.load()
    m = src.describe()
    assert m["kind"] == "sample" and m["name"] == name
    assert list(bars.columns) == list(COLUMNS)
    assert bars["timestamp"].dtype == TIMESTAMP_DTYPE
    assert all(bars[c].dtype == np.float64 for c in COLUMNS[2:])
    validate_bars(bars, name)
    assert len(bars) == m["rows"]
    assert sorted(bars["symbol"].unique()) == m["symbols"]
    assert bars["timestamp"].iloc[0].isoformat() == m["first_timestamp"]
    assert bars["timestamp"].iloc[-1].isoformat() == m["last_timestamp"]
    assert file_sha256(samples_dir() / m["parquet_file"]) == m["parquet_sha256"]
    assert data_sha256(bars) == m["data_sha256"]
    assert bars.equals(bars.sort_values(["timestamp", "symbol"]).reset_index(drop=True))


@pytest.mark.parametrize("name", NAMES)
def test_sample_panel_round_trips(name):
    bars = SampleSource(name).load()
    panel = to_panel(bars)
    pd.testing.assert_frame_equal(panel.to_frame(), bars, check_exact=True)


def test_us_equities_every_timestamp_has_every_symbol():
    bars = SampleSource("us_equities_daily").load()
    panel = to_panel(bars)
    assert panel.symbols == ("GOOGL", "IXIC", "MSFT", "SPX")
    assert panel.present.all()
    assert (bars["timestamp"].dt.hour == 0).all()
    assert bars["timestamp"].dt.weekday.max() <= 4


def test_crypto_hourly_is_clean_and_reports_its_missing_hours():
    src = SampleSource("crypto_hourly")
    bars = src.load()
    assert (bars["volume"] > 0).all()
    steps = np.diff(bars["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)) // 3_600_000_000_000
    assert steps.min() == 1
    missing = int((steps - 1).sum())
    report = quality_report(bars)
    assert report["missing_bars"] == missing
    assert any(f"{missing} of" in note for note in src.describe()["notes"])


def test_unknown_sample_lists_available():
    with pytest.raises(KeyError, match="available: crypto_hourly, fx_hourly, us_equities_daily"):
        SampleSource("sp500")


def test_tampered_parquet_is_detected(tmp_path):
    for suffix in (".json", ".parquet"):
        shutil.copy(samples_dir() / f"fx_hourly{suffix}", tmp_path / f"fx_hourly{suffix}")
    assert len(SampleSource("fx_hourly", directory=tmp_path).load()) > 0
    path = tmp_path / "fx_hourly.parquet"
    bars = pd.read_parquet(path)
    bars.loc[10, "close"] = bars.loc[10, "high"]
    bars.to_parquet(path)
    with pytest.raises(SampleIntegrityError, match="does not match the manifest's parquet_sha256"):
        SampleSource("fx_hourly", directory=tmp_path).load()
    manifest = json.loads((tmp_path / "fx_hourly.json").read_text())
    manifest["parquet_sha256"] = file_sha256(path)
    (tmp_path / "fx_hourly.json").write_text(json.dumps(manifest))
    with pytest.raises(SampleIntegrityError, match="data_sha256"):
        SampleSource("fx_hourly", directory=tmp_path).load()
