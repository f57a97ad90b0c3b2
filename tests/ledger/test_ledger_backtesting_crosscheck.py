"""Cross-check: an SMA(10/30) crossover through this ledger and through backtesting.py 0.6.6.

The data is real daily OHLCV of MSFT from two sources: the arena's bundled
sample ``arena/data/samples/us_equities_daily.parquet`` (2009-05-22 onwards;
skipped while the file is absent) and the copy bundled with pmdarima
(``pmdarima/datasets/data/msft.tar.gz``: 1986-03-13 … 2017-11-10, 7,983 bars,
from Kaggle's "Huge Stock Market Dataset"). The strategy is long-only: all in
(target weight 1.0) when the fast SMA crosses above the slow one, flat (target
weight 0.0) when it crosses below; a cross is ``prev_fast < prev_slow and
fast > slow`` (backtesting.lib.crossover).

Matching conventions: backtesting.py fills market orders at the next bar's
open (``trade_on_close=False``) and sizes ``buy()`` as
``int(cash × (1 − ε) // (open × (1 + commission)))`` shares; this ledger resolves
target weight 1.0 from flat into ``floor(cash / (open × (1 + commission_bps/1e4)))``
whole shares at the next open, and both charge relative commission on the
traded notional at entry and exit.
"""

from __future__ import annotations

import importlib.util
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ledger import ExecutionConfig, Ledger, OrderRequest

pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402

FAST, SLOW = 10, 30
CASH_USD = 10_000.0


SAMPLE = Path(__file__).resolve().parents[2] / "arena" / "data" / "samples" / "us_equities_daily.parquet"


def _sample_msft() -> pd.DataFrame:
    """MSFT from the arena's bundled sample (long table ``[timestamp, symbol, open, …]``)."""
    long = pd.read_parquet(SAMPLE)
    one = long[long["symbol"] == "MSFT"].sort_values("timestamp")
    df = one[["open", "high", "low", "close", "volume"]].rename(columns=str.title).astype(float)
    df.index = pd.DatetimeIndex(one["timestamp"], name="Date")
    return df


def _msft() -> pd.DataFrame:
    """MSFT daily OHLCV read straight from pmdarima's bundled tarball (importing
    pmdarima itself would cost seconds for nothing)."""
    spec = importlib.util.find_spec("pmdarima")
    if spec is None or spec.origin is None:
        pytest.skip("pmdarima (the source of the MSFT sample) is not installed")
    path = Path(spec.origin).parent / "datasets" / "data" / "msft.tar.gz"
    with tarfile.open(path, "r:*") as tar:
        member = tar.getnames()[0]
        raw = pd.read_csv(tar.extractfile(member), header=0)
    df = raw.rename(columns=str.title)[["Open", "High", "Low", "Close", "Volume"]].astype(float)
    df.index = pd.DatetimeIndex(pd.to_datetime(raw["Date"]), name="Date")
    return df


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    """Simple moving average of the last ``n`` values; NaN for the first ``n − 1``.
    Each value is ``np.mean`` of its own window, so the ledger driver can compute
    the very same float from past closes only."""
    values = np.asarray(values, dtype=float)
    out = np.full(len(values), np.nan)
    for i in range(n - 1, len(values)):
        out[i] = np.mean(values[i - n + 1 : i + 1])
    return out


class SmaCross(Strategy):
    def init(self) -> None:
        self.fast = self.I(_sma, self.data.Close, FAST)
        self.slow = self.I(_sma, self.data.Close, SLOW)

    def next(self) -> None:
        f, s = self.fast, self.slow
        if f[-2] < s[-2] and f[-1] > s[-1]:
            self.buy()
        elif s[-2] < f[-2] and s[-1] > f[-1]:
            self.position.close()


def _run_ledger(df: pd.DataFrame, commission_bps: float) -> tuple[Ledger, np.ndarray, np.ndarray]:
    led = Ledger(["MSFT"], CASH_USD, ExecutionConfig(fill_price="next_open", sizing="whole_shares",
                                                        commission_bps=commission_bps))
    ts = df.index.asi8
    o, h, lo, c, v = (df[k].to_numpy() for k in ("Open", "High", "Low", "Close", "Volume"))
    equity = np.empty(len(df))
    fast_prev = slow_prev = np.nan
    for i in range(len(df)):
        led.on_bar(int(ts[i]), o[i : i + 1], h[i : i + 1], lo[i : i + 1], c[i : i + 1], v[i : i + 1])
        equity[i] = led.equity
        # decision on bar i's close, from past closes only
        fast = float(np.mean(c[i - FAST + 1 : i + 1])) if i >= FAST - 1 else np.nan
        slow = float(np.mean(c[i - SLOW + 1 : i + 1])) if i >= SLOW - 1 else np.nan
        if fast_prev < slow_prev and fast > slow:
            led.submit(OrderRequest("MSFT", target_weight=1.0), int(ts[i]))
        elif slow_prev < fast_prev and slow > fast:
            led.submit(OrderRequest("MSFT", target_weight=0.0), int(ts[i]))
        fast_prev, slow_prev = fast, slow
    return led, equity, ts


@pytest.mark.parametrize("commission_bps", [0.0, 10.0])
@pytest.mark.parametrize(("load", "min_trades"), [(_sample_msft, 20), (_msft, 100)], ids=["sample", "pmdarima"])
def test_sma_crossover_matches_backtesting_py(load, min_trades: int, commission_bps: float) -> None:
    df = load()
    assert len(df) > 2000 and df.index.is_monotonic_increasing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(df, SmaCross, cash=CASH_USD, commission=commission_bps / 1e4, exclusive_orders=False,
                      trade_on_close=False, finalize_trades=False)
        stats = bt.run()
    led, equity, ts = _run_ledger(df, commission_bps)
    bar_of = {int(t): k for k, t in enumerate(ts)}

    bt_trades = stats["_trades"]
    mine = led.closed_trades()
    assert len(mine) == len(bt_trades) > min_trades
    for t, (_, row) in zip(mine, bt_trades.iterrows()):
        assert (bar_of[t.entry_ts_ns], bar_of[t.exit_ts_ns]) == (row["EntryBar"], row["ExitBar"])
        assert t.quantity == row["Size"]
        assert t.entry_price == row["EntryPrice"]
        assert t.exit_price == row["ExitPrice"]
        assert t.pnl == pytest.approx(row["PnL"], rel=1e-12, abs=1e-9)
        assert t.return_pct == pytest.approx(row["ReturnPct"], rel=1e-9, abs=1e-12)

    open_bt = stats["_strategy"].trades
    pos = led.positions()["MSFT"]
    if open_bt:
        (tr,) = open_bt
        assert (pos.quantity, pos.avg_price, bar_of[pos.entry_ts_ns]) == (tr.size, tr.entry_price, tr.entry_bar)
    else:
        assert pos.quantity == 0.0

    bt_equity = stats["_equity_curve"]["Equity"].to_numpy()
    np.testing.assert_allclose(equity, bt_equity, rtol=0, atol=1e-6)
    assert led.equity == pytest.approx(stats["Equity Final [$]"], abs=1e-6)
    assert led.fees_paid > 0.0 if commission_bps else led.fees_paid == 0.0
