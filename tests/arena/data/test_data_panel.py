"""Panel: dense [T, S] arrays, cheap slices, exact round trip, picklable."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from arena.data import Panel, SyntheticSource, to_panel


def _ragged() -> pd.DataFrame:
    bars = SyntheticSource(symbols=("AAA", "BBB", "CCC"), n_bars=50, seed=4).load()
    drop = ((bars["symbol"] == "BBB") & (bars.index % 7 == 0)) | ((bars["symbol"] == "CCC") & (bars.index < 30))
    return bars[~drop].reset_index(drop=True)


def test_shapes_and_holes():
    bars = _ragged()
    panel = to_panel(bars)
    assert len(panel) == 50
    assert panel.symbols == ("AAA", "BBB", "CCC")
    assert panel.timestamps.dtype == np.int64 and np.all(np.diff(panel.timestamps) > 0)
    assert panel.close.shape == (50, 3)
    assert int(panel.present.sum()) == len(bars)
    assert np.isnan(panel.close[:10, 2]).all()
    row = bars[(bars["symbol"] == "AAA")].iloc[5]
    t = int(np.searchsorted(panel.timestamps, row["timestamp"].value))
    assert panel.open[t, panel.symbol_index("AAA")] == row["open"]


def test_round_trip_is_exact():
    bars = _ragged()
    pd.testing.assert_frame_equal(to_panel(bars).to_frame(), bars, check_exact=True)


def test_slice_is_a_view_and_read_only():
    panel = to_panel(_ragged())
    part = panel.slice(10, 20)
    assert len(part) == 10
    assert np.shares_memory(part.close, panel.close)
    assert part.timestamps[0] == panel.timestamps[10]
    with pytest.raises(ValueError):
        part.close[0, 0] = 1.0
    pieces = list(panel.chunks(16))
    assert [len(p) for p in pieces] == [16, 16, 16, 2]
    assert pd.concat([p.to_frame() for p in pieces], ignore_index=True).equals(panel.to_frame())


def test_pickle_round_trip():
    panel = to_panel(_ragged())
    back = pickle.loads(pickle.dumps(panel))
    assert back.symbols == panel.symbols
    np.testing.assert_array_equal(back.close, panel.close)
    assert back.to_frame().equals(panel.to_frame())


def test_rejects_duplicates_and_nan_prices():
    bars = _ragged()
    with pytest.raises(ValueError, match="duplicate"):
        to_panel(pd.concat([bars, bars.iloc[:1]], ignore_index=True))
    bad = bars.copy()
    bad.loc[3, "close"] = np.nan
    with pytest.raises(ValueError, match="NaN in 'close'"):
        to_panel(bad)


def test_constructor_checks_shapes():
    with pytest.raises(ValueError, match="must be float64"):
        Panel(np.arange(3, dtype=np.int64), ("A",), *(np.zeros((3, 2)) for _ in range(5)))
    with pytest.raises(KeyError, match="symbols: AAA, BBB, CCC"):
        to_panel(_ragged()).symbol_index("ZZZ")
