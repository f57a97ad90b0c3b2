"""SyntheticSource: seeded, valid, consistent OHLC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arena.data import SyntheticSource, data_sha256, validate_bars


def test_same_seed_same_bars():
    a = SyntheticSource(symbols=("AAA", "BBB"), n_bars=300, seed=11).load()
    b = SyntheticSource(symbols=("AAA", "BBB"), n_bars=300, seed=11).load()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = SyntheticSource(symbols=("AAA", "BBB"), n_bars=300, seed=12).load()
    assert data_sha256(a) != data_sha256(c)


def test_symbol_streams_are_independent_of_other_symbols():
    both = SyntheticSource(symbols=("AAA", "BBB"), n_bars=100, seed=3).load()
    alone = SyntheticSource(symbols=("BBB",), n_bars=100, seed=3).load()
    pd.testing.assert_frame_equal(both[both["symbol"] == "BBB"].reset_index(drop=True), alone)


def test_bars_are_valid_and_ohlc_consistent():
    bars = SyntheticSource(symbols=("X", "Y", "Z"), n_bars=2000, seed=0, volatility_per_bar=0.05).load()
    validate_bars(bars, "synthetic")
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["volume"] >= 0).all()
    assert len(bars) == 6000


def test_drift_and_volatility_are_what_was_asked():
    bars = SyntheticSource(n_bars=20000, seed=5, drift_per_bar=0.0, volatility_per_bar=0.02).load()
    r = np.diff(np.log(bars["close"].to_numpy()))
    assert abs(r.std() - 0.02) < 0.001
    assert abs(r.mean() + 0.5 * 0.02**2) < 0.0005


def test_frequency_and_start():
    bars = SyntheticSource(n_bars=3, freq="1h", start="2021-06-01 09:00").load()
    assert bars["timestamp"].tolist() == [pd.Timestamp(f"2021-06-01 {h}:00", tz="UTC") for h in (9, 10, 11)]
    business = SyntheticSource(n_bars=10, freq="B").load()
    assert business["timestamp"].dt.weekday.max() <= 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_bars": 0}, "n_bars must be >= 1"),
        ({"freq": "fortnightly"}, "not a pandas offset alias"),
        ({"symbols": ("A", "A")}, "unique"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"start": "yesterday-ish"}, "not a date/time"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticSource(**kwargs)
