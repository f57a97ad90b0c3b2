"""Per-contender metrics: bar-rate inference, formulas checked against empyrical, edge cases."""

from __future__ import annotations

import json
import math

import empyrical
import numpy as np
import pandas as pd
import pytest
from metrics_helpers import empty_fills, empty_trades, invested_equity, trades_with_pnl

from arena.metrics import (
    METRIC_KEYS,
    contender_metrics,
    max_drawdown_duration_bars,
    per_bar_risk_free,
    periods_per_year,
)

# --- periods_per_year -------------------------------------------------------------------------


def test_daily_us_equity_bars_give_about_252_per_year(goog_close: pd.Series) -> None:
    ppy = periods_per_year(goog_close.index.asi8)
    assert 250.0 < ppy < 253.0


def test_hourly_24_7_bars_give_8766_per_year() -> None:
    ts = pd.date_range("2023-01-01", periods=5000, freq="h", tz="UTC")
    assert periods_per_year(ts.asi8) == pytest.approx(365.25 * 24, rel=1e-12)


def test_periods_per_year_accepts_datetime64() -> None:
    ts = pd.date_range("2023-01-01", periods=3, freq="D").to_numpy()
    assert periods_per_year(ts) == pytest.approx(365.25)


def test_periods_per_year_needs_two_timestamps() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        periods_per_year(np.array([1_700_000_000_000_000_000]))


def test_periods_per_year_rejects_unordered_timestamps() -> None:
    with pytest.raises(ValueError, match="element 2"):
        periods_per_year(np.array([0, 10, 5], dtype="int64"))


def test_periods_per_year_rejects_float_timestamps() -> None:
    with pytest.raises(ValueError, match="int nanoseconds"):
        periods_per_year(np.array([0.0, 1.0]))


# --- formulas against empyrical on real bars ---------------------------------------------------


@pytest.mark.parametrize("weight", [1.0, 0.5, -0.3])
@pytest.mark.parametrize("risk_free_rate", [0.0, 0.03])
def test_formulas_match_empyrical_on_goog_daily(
    goog_close: pd.Series, weight: float, risk_free_rate: float
) -> None:
    equity = invested_equity(goog_close, weight)
    _assert_matches_empyrical(equity, risk_free_rate)


def test_formulas_match_empyrical_on_eurusd_hourly(eurusd_close: pd.Series) -> None:
    equity = invested_equity(eurusd_close, 5.0)  # 5x leveraged FX
    _assert_matches_empyrical(equity, 0.0)


def _assert_matches_empyrical(equity: pd.Series, risk_free_rate: float) -> None:
    ppy = periods_per_year(equity.index.asi8)
    exposure = equity * 0.5
    m = contender_metrics(equity, empty_fills(), empty_trades(), exposure, ppy, risk_free_rate)
    returns = equity.pct_change().dropna().to_numpy()
    rf = per_bar_risk_free(risk_free_rate, ppy)
    assert m["sharpe"] == pytest.approx(
        empyrical.sharpe_ratio(returns, risk_free=rf, annualization=ppy), rel=1e-9
    )
    assert m["sortino"] == pytest.approx(
        empyrical.sortino_ratio(returns, required_return=rf, annualization=ppy), rel=1e-9
    )
    assert m["volatility"] == pytest.approx(
        empyrical.annual_volatility(returns, annualization=ppy), rel=1e-9
    )
    assert m["cagr"] == pytest.approx(empyrical.cagr(returns, annualization=ppy), rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(-empyrical.max_drawdown(returns), rel=1e-9)
    assert m["calmar"] == pytest.approx(
        empyrical.calmar_ratio(returns, annualization=ppy), rel=1e-9
    )
    assert m["total_return"] == pytest.approx(equity.iloc[-1] / equity.iloc[0] - 1.0, rel=1e-12)
    assert m["n_bars"] == len(equity)


# --- hand-worked values -------------------------------------------------------------------------


def _bars(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC")


def test_hand_worked_small_run() -> None:
    """Equity 100 → 110 → 99 → 121 USD over 4 daily bars, 252 bars/yr.

    Returns 0.1, -0.1, 0.2222…; drawdown (110 − 99)/110 = 0.1 from bar 1 to
    its recovery at bar 3 (2 bars). Two fills of 10 units at 10 USD and 12 USD
    → Σ notional 220 USD; mean equity 107.5 USD; turnover = 220 / 107.5 ×
    252 / 4. Exposure 0, 100, 100, 0 USD → mean ratio (100/110 + 100/99)/4,
    exposure_time 2/4. Closed trades +30, −10, +5 USD → profit factor 35/10,
    win rate 2/3.
    """
    idx = _bars(4)
    equity = pd.Series([100.0, 110.0, 99.0, 121.0], index=idx)
    exposure = pd.Series([0.0, 100.0, 100.0, 0.0], index=idx)
    fills = pd.DataFrame(
        {
            "ts": idx[[1, 3]],
            "symbol": ["XYZ", "XYZ"],
            "side": ["BUY", "SELL"],
            "quantity": [10.0, 10.0],
            "price": [10.0, 12.0],
            "commission": [0.1, 0.1],
        }
    )
    m = contender_metrics(equity, fills, trades_with_pnl([30.0, -10.0, 5.0]), exposure, 252.0)
    returns = np.array([0.1, -0.1, 121.0 / 99.0 - 1.0])
    assert m["final_equity"] == 121.0
    assert m["total_return"] == pytest.approx(0.21)
    assert m["cagr"] == pytest.approx(1.21 ** (252.0 / 3.0) - 1.0)
    assert m["max_drawdown"] == pytest.approx(0.1)
    assert m["max_drawdown_duration_bars"] == 2
    assert m["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
    assert m["calmar"] == pytest.approx(m["cagr"] / 0.1)
    assert m["turnover"] == pytest.approx(220.0 / 107.5 * 252.0 / 4.0)
    assert m["exposure"] == pytest.approx((100.0 / 110.0 + 100.0 / 99.0) / 4.0)
    assert m["exposure_time"] == 0.5
    assert m["profit_factor"] == pytest.approx(3.5)
    assert m["win_rate"] == pytest.approx(2.0 / 3.0)
    assert (m["trades"], m["fills"], m["n_bars"]) == (3, 2, 4)
    assert list(m) == list(METRIC_KEYS)


@pytest.mark.parametrize(
    ("equity", "expected_bars"),
    [
        ([100, 90, 100], 2),  # peak bar 0, recovered at bar 2
        ([100, 90, 95], 2),  # still under water at the end
        ([100, 101, 102], 0),  # never falls
        ([100, 90, 100, 80, 85, 101, 50], 3),  # bars 2 → 5 is the longest
        ([100], 0),
    ],
)
def test_max_drawdown_duration_bars(equity: list[float], expected_bars: int) -> None:
    assert max_drawdown_duration_bars(np.array(equity, dtype=float)) == expected_bars


# --- edge cases: flat, short, one-sided --------------------------------------------------------


def test_flat_equity_has_zero_sharpe_and_undefined_psr() -> None:
    idx = _bars(50)
    equity = pd.Series(100_000.0, index=idx)
    m = contender_metrics(equity, empty_fills(), empty_trades(), equity * 0.0, 252.0)
    assert (m["sharpe"], m["sortino"], m["volatility"]) == (0.0, 0.0, 0.0)
    assert (m["total_return"], m["cagr"], m["max_drawdown"]) == (0.0, 0.0, 0.0)
    assert m["calmar"] is None and m["psr"] is None
    assert m["profit_factor"] is None and m["win_rate"] is None
    assert (m["exposure"], m["exposure_time"], m["turnover"]) == (0.0, 0.0, 0.0)
    json.dumps(m, allow_nan=False)


def test_single_bar_leaves_return_based_metrics_undefined() -> None:
    equity = pd.Series([100_000.0], index=_bars(1))
    m = contender_metrics(equity, empty_fills(), empty_trades(), equity * 0.0, 252.0)
    for key in ("cagr", "volatility", "sharpe", "sortino", "calmar", "psr"):
        assert m[key] is None, key
    assert m["total_return"] == 0.0 and m["n_bars"] == 1
    json.dumps(m, allow_nan=False)


def test_two_bars_give_cagr_but_no_sharpe() -> None:
    equity = pd.Series([100.0, 101.0], index=_bars(2))
    m = contender_metrics(equity, empty_fills(), empty_trades(), equity * 0.0, 252.0)
    assert m["cagr"] == pytest.approx(1.01**252 - 1.0)
    assert m["sharpe"] is None and m["volatility"] is None and m["sortino"] is None


def test_cagr_that_overflows_is_none() -> None:
    """+50 % in one hourly bar annualizes to 1.5^8766: beyond float range."""
    equity = pd.Series([100.0, 150.0], index=pd.date_range("2024-01-01", periods=2, freq="h"))
    m = contender_metrics(equity, empty_fills(), empty_trades(), equity * 0.0, 8766.0)
    assert m["cagr"] is None and m["calmar"] is None
    json.dumps(m, allow_nan=False)


def test_gains_without_a_losing_bar_give_infinite_sortino_as_none() -> None:
    equity = pd.Series([100.0, 101.0, 103.0, 104.0], index=_bars(4))
    m = contender_metrics(equity, empty_fills(), empty_trades(), equity * 0.0, 252.0)
    assert m["sortino"] is None
    assert m["sharpe"] is not None and m["sharpe"] > 0
    assert m["calmar"] is None  # no drawdown
    json.dumps(m, allow_nan=False)


def test_profit_factor_without_losses_is_none_and_with_only_losses_is_zero() -> None:
    equity = pd.Series([100.0, 101.0, 100.5], index=_bars(3))
    wins = contender_metrics(equity, empty_fills(), trades_with_pnl([5.0, 1.0]), equity * 0, 252.0)
    assert wins["profit_factor"] is None and wins["win_rate"] == 1.0
    losses = contender_metrics(equity, empty_fills(), trades_with_pnl([-5.0]), equity * 0, 252.0)
    assert losses["profit_factor"] == 0.0 and losses["win_rate"] == 0.0


def test_risk_free_rate_lowers_sharpe(goog_close: pd.Series) -> None:
    equity = invested_equity(goog_close, 1.0)
    ppy = periods_per_year(equity.index.asi8)
    args = (equity, empty_fills(), empty_trades(), equity, ppy)
    with_rf = contender_metrics(*args, risk_free_rate=0.05)["sharpe"]
    assert with_rf < contender_metrics(*args)["sharpe"]


def test_psr_is_high_for_a_strong_trend_and_low_for_a_loser(goog_close: pd.Series) -> None:
    ppy = periods_per_year(goog_close.index.asi8)
    long_goog = invested_equity(goog_close, 1.0)  # GOOG rose ~8x over 2004–2013
    short_goog = invested_equity(goog_close, -1.0)
    up = contender_metrics(long_goog, empty_fills(), empty_trades(), long_goog, ppy)
    down = contender_metrics(short_goog, empty_fills(), empty_trades(), short_goog, ppy)
    assert up["psr"] > 0.9 and down["psr"] < 0.1


# --- bad input ----------------------------------------------------------------------------------


def _ok_inputs() -> tuple[pd.Series, pd.DataFrame, pd.DataFrame, pd.Series]:
    equity = pd.Series([100.0, 101.0, 102.0], index=_bars(3))
    return equity, empty_fills(), empty_trades(), equity * 0.0


def test_non_positive_equity_names_the_row() -> None:
    equity, fills, trades, exposure = _ok_inputs()
    equity.iloc[1] = -5.0
    with pytest.raises(ValueError, match=r"equity: row .*2024-01-02.* must be > 0 USD"):
        contender_metrics(equity, fills, trades, exposure, 252.0)


def test_nan_equity_is_rejected() -> None:
    equity, fills, trades, exposure = _ok_inputs()
    equity.iloc[2] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        contender_metrics(equity, fills, trades, exposure, 252.0)


def test_empty_equity_is_rejected() -> None:
    _, fills, trades, _ = _ok_inputs()
    empty = pd.Series([], dtype="float64")
    with pytest.raises(ValueError, match="at least one bar"):
        contender_metrics(empty, fills, trades, empty, 252.0)


def test_misaligned_gross_exposure_is_rejected() -> None:
    equity, fills, trades, exposure = _ok_inputs()
    with pytest.raises(ValueError, match="gross_exposure: must be indexed"):
        contender_metrics(equity, fills, trades, exposure.iloc[:2], 252.0)


def test_negative_gross_exposure_is_rejected() -> None:
    equity, fills, trades, exposure = _ok_inputs()
    exposure.iloc[0] = -1.0
    with pytest.raises(ValueError, match="must be >= 0"):
        contender_metrics(equity, fills, trades, exposure, 252.0)


def test_missing_fill_column_is_named() -> None:
    equity, fills, trades, exposure = _ok_inputs()
    with pytest.raises(ValueError, match=r"fills: missing column\(s\) \['commission'\]"):
        contender_metrics(equity, fills.drop(columns="commission"), trades, exposure, 252.0)


def test_bad_fill_rows_are_named() -> None:
    equity, _, trades, exposure = _ok_inputs()
    fills = pd.DataFrame(
        {
            "ts": [0, 1],
            "symbol": ["A", "A"],
            "side": ["BUY", "HOLD"],
            "quantity": [1.0, 2.0],
            "price": [10.0, 10.0],
            "commission": [0.0, 0.0],
        }
    )
    with pytest.raises(ValueError, match=r"fills: row 1 field 'side' must be BUY or SELL"):
        contender_metrics(equity, fills, trades, exposure, 252.0)
    fills.loc[1, "side"] = "SELL"
    fills.loc[0, "quantity"] = 0.0
    with pytest.raises(ValueError, match=r"fills: row 0 field 'quantity' must be > 0 units"):
        contender_metrics(equity, fills, trades, exposure, 252.0)


def test_non_finite_trade_pnl_is_named() -> None:
    equity, fills, _, exposure = _ok_inputs()
    trades = trades_with_pnl([1.0, float("inf")])
    with pytest.raises(ValueError, match=r"closed_trades: row 1 field 'pnl' must be a finite"):
        contender_metrics(equity, fills, trades, exposure, 252.0)


@pytest.mark.parametrize("ppy", [0.0, -1.0, float("nan"), float("inf")])
def test_invalid_periods_per_year_is_rejected(ppy: float) -> None:
    with pytest.raises(ValueError, match="periods_per_year"):
        contender_metrics(*_ok_inputs(), ppy)


def test_invalid_risk_free_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="risk_free_rate"):
        contender_metrics(*_ok_inputs(), 252.0, risk_free_rate=-1.5)


def test_a_hole_in_the_data_does_not_change_the_annualization() -> None:
    """The same daily equity sessions, once with a 50-year hole in the middle: the same bars per
    year (the hole is left out); weekends, holidays and nights stay part of the calendar."""
    from arena.data import SampleSource
    from arena.metrics import data_holes

    ts = np.unique(pd.DatetimeIndex(SampleSource("us_equities_daily").load()["timestamp"]).asi8)
    half = len(ts) // 2
    holed = np.r_[ts[:half], ts[half:] + 50 * 365 * 86_400 * 10**9]
    assert data_holes(ts) == [] and len(data_holes(holed)) == 1
    assert periods_per_year(holed) == pytest.approx(periods_per_year(ts), rel=1e-3)
    assert 245 < periods_per_year(ts) < 260
    hourly_weekdays = pd.bdate_range("2024-01-01", periods=300).repeat(7) + pd.to_timedelta(
        np.tile(np.arange(7), 300), unit="h") + pd.Timedelta(hours=13)
    assert data_holes(hourly_weekdays.to_numpy().astype("datetime64[ns]").astype("int64")) == [], \
        "nights and weekends of intraday bars are no hole"
