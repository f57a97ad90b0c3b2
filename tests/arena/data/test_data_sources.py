"""source_from_spec and the registry of source kinds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from arena.data import (
    SOURCE_KINDS,
    BarSource,
    FileSource,
    SampleSource,
    SyntheticSource,
    register_source_kind,
    source_from_spec,
)

CSV = "Date,Open,High,Low,Close,Volume\n2020-01-02,1,2,0.5,1.5,10\n"


def test_sample_spec():
    src = source_from_spec({"source": "sample", "name": "fx_hourly"})
    assert isinstance(src, SampleSource) and src.name == "fx_hourly"


def test_synthetic_spec():
    src = source_from_spec({"source": "synthetic", "symbols": ["A", "B"], "n_bars": 20, "seed": 3, "freq": "1h"})
    assert isinstance(src, SyntheticSource)
    assert src.describe()["symbols"] == ["A", "B"]
    assert len(src.load()) == 40


@pytest.mark.parametrize("kind", ["csv", "file"])
def test_file_spec_relative_to_base_dir(tmp_path, kind):
    (tmp_path / "goog.csv").write_text(CSV)
    src = source_from_spec({"source": kind, "path": "goog.csv", "symbol": "GOOG"}, base_dir=tmp_path)
    assert isinstance(src, FileSource)
    assert src.load()["symbol"].tolist() == ["GOOG"]
    assert src.describe()["path"] == str((tmp_path / "goog.csv").resolve())


def test_parquet_spec_forces_the_reader(tmp_path):
    path = tmp_path / "bars.data"
    pd.DataFrame({"date": pd.to_datetime(["2020-01-02"]), "open": [1.0], "high": [2.0], "low": [0.5],
                  "close": [1.5], "volume": [1.0]}).to_parquet(path)
    assert len(source_from_spec({"source": "parquet", "path": str(path), "symbol": "X"}).load()) == 1


def test_relative_path_not_found_names_both_places(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'nope.csv' not found \(looked for .* or .*\)"):
        source_from_spec({"source": "csv", "path": "nope.csv"}, base_dir=tmp_path)


def test_relative_path_found_in_two_places_is_ambiguous(tmp_path, monkeypatch):
    cfg_dir, work_dir = tmp_path / "configs", tmp_path / "work"
    cfg_dir.mkdir()
    work_dir.mkdir()
    (cfg_dir / "bars.csv").write_text(CSV)
    (work_dir / "bars.csv").write_text(CSV)
    monkeypatch.chdir(work_dir)
    with pytest.raises(ValueError, match="ambiguous"):
        source_from_spec({"source": "csv", "path": "bars.csv"}, base_dir=cfg_dir)
    src = source_from_spec({"source": "csv", "path": "bars.csv", "symbol": "X"}, base_dir=Path("."))
    assert len(src.load()) == 1


def test_unknown_kind_is_rejected_with_the_list():
    with pytest.raises(ValueError, match=r"unknown data source kind 'smaple' \(did you mean 'sample'\?\); "
                                         r"expected one of: alpaca, csv, file, parquet, sample, synthetic"):
        source_from_spec({"source": "smaple", "name": "x"})


def test_missing_source_and_unknown_keys():
    with pytest.raises(ValueError, match="no 'source' key"):
        source_from_spec({"name": "fx_hourly"})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['nbars'\] \(did you mean 'n_bars'\?\)"):
        source_from_spec({"source": "synthetic", "nbars": 10})
    with pytest.raises(ValueError, match=r"missing key\(s\) \['path'\]"):
        source_from_spec({"source": "csv"})
    with pytest.raises(ValueError, match="must be a mapping"):
        source_from_spec(["sample"])  # type: ignore[arg-type]


class _ConstantSource(BarSource):
    """A real (if tiny) source kind, registered the way a vendor source would be."""

    kind = "constant"

    def __init__(self, price: float) -> None:
        self.price = price

    def load(self) -> pd.DataFrame:
        return SyntheticSource(n_bars=2, volatility_per_bar=0.0, drift_per_bar=0.0,
                               start_price_usd=self.price).load()

    def describe(self) -> dict:
        return {"kind": self.kind, "price": self.price}


def test_register_a_new_kind():
    register_source_kind("constant", lambda spec, base: _ConstantSource(float(spec["price"])),
                         required={"price"}, summary="test kind")
    try:
        src = source_from_spec({"source": "constant", "price": 42})
        assert src.load()["close"].tolist() == pytest.approx([42.0, 42.0])
        with pytest.raises(ValueError, match="already registered"):
            register_source_kind("constant", lambda spec, base: _ConstantSource(1.0))
    finally:
        SOURCE_KINDS.pop("constant", None)
