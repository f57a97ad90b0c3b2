"""Benchmark-relative metrics, tail risk, trade statistics and calendar returns, checked
against empyrical (empyrical-reloaded) on the same returns of real bars."""

from __future__ import annotations

import math

import empyrical
import numpy as np
import pandas as pd
import pytest

from arena.metrics import benchmark_relative, calendar_returns, per_bar_risk_free, tail_risk, trade_stats

PPY = 252.0  # empyrical's capture ratios annualize with 252 (daily), whatever they are given


@pytest.fixture(scope="module")
def goog_pair(goog_close: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(contender, benchmark) per-bar returns: the benchmark holds GOOG; the contender holds
    60 % of it plus a seeded idiosyncratic return."""
    bench = goog_close.pct_change().dropna().to_numpy()
    noise = np.random.default_rng(7).normal(0.0002, 0.006, bench.size)
    return 0.6 * bench + noise, bench


@pytest.mark.parametrize("risk_free_rate", [0.0, 0.04])
def test_alpha_beta_match_empyrical(goog_pair: tuple[np.ndarray, np.ndarray], risk_free_rate: float) -> None:
    r, b = goog_pair
    rf = per_bar_risk_free(risk_free_rate, PPY)
    m = benchmark_relative(r, b, PPY, rf)
    alpha, beta = empyrical.alpha_beta(r, b, risk_free=rf, annualization=PPY)
    assert m["beta"] == pytest.approx(beta, rel=1e-9)
    assert m["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert 0.5 < m["beta"] < 0.7  # the 60 % holding shows through the noise


def test_information_ratio_and_tracking_error_match_empyrical(goog_pair: tuple[np.ndarray, np.ndarray]) -> None:
    r, b = goog_pair
    m = benchmark_relative(r, b, PPY)
    excess_sharpe = empyrical.excess_sharpe(r, b)  # mean active / std active, per bar
    assert m["information_ratio"] == pytest.approx(excess_sharpe * math.sqrt(PPY), rel=1e-9)
    active_mean = float(np.mean(r - b))
    assert m["tracking_error"] == pytest.approx(active_mean / excess_sharpe * math.sqrt(PPY), rel=1e-9)


def test_capture_ratios_match_empyrical(goog_pair: tuple[np.ndarray, np.ndarray]) -> None:
    r, b = goog_pair
    m = benchmark_relative(r, b, PPY)
    assert m["up_capture"] == pytest.approx(empyrical.up_capture(r, b), rel=1e-9)
    assert m["down_capture"] == pytest.approx(empyrical.down_capture(r, b), rel=1e-9)


def test_excess_return_is_total_return_minus_the_benchmarks() -> None:
    m = benchmark_relative(np.array([0.10, 0.10]), np.array([0.05, 0.0]), PPY)
    assert m["excess_return"] == pytest.approx(1.21 - 1.05)


def test_a_copy_of_the_benchmark_has_beta_1_alpha_0_and_no_information_ratio() -> None:
    b = np.array([0.01, -0.02, 0.015, 0.003])
    m = benchmark_relative(b, b, PPY)
    assert m["beta"] == pytest.approx(1.0)
    assert m["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert m["tracking_error"] == 0.0
    assert m["information_ratio"] is None
    assert m["up_capture"] == pytest.approx(1.0) and m["down_capture"] == pytest.approx(1.0)


def test_benchmark_relative_rejects_misaligned_returns() -> None:
    with pytest.raises(ValueError, match="one length"):
        benchmark_relative(np.zeros(3), np.zeros(4), PPY)


def test_var_and_cvar_match_empyrical_as_losses(goog_pair: tuple[np.ndarray, np.ndarray]) -> None:
    r, _ = goog_pair
    m = tail_risk(r)
    assert m["var_95"] == pytest.approx(-empyrical.value_at_risk(r, cutoff=0.05), rel=1e-12)
    assert m["cvar_95"] == pytest.approx(-empyrical.conditional_value_at_risk(r, cutoff=0.05), rel=1e-12)
    assert m["cvar_95"] > m["var_95"] > 0.0


def test_calendar_returns_match_empyrical_aggregate_returns(goog_close: pd.Series) -> None:
    equity = 10_000.0 * goog_close / goog_close.iloc[0]
    cal = calendar_returns(equity)
    returns = equity.pct_change().dropna()
    monthly = empyrical.aggregate_returns(returns, "monthly")
    yearly = empyrical.aggregate_returns(returns, "yearly")
    assert len(cal["monthly"]) == len(monthly) and len(cal["yearly"]) == len(yearly)
    for (year, month), value in monthly.items():
        assert cal["monthly"][f"{year:04d}-{month:02d}"] == pytest.approx(value, rel=1e-9, abs=1e-12)
    for year, value in yearly.items():
        assert cal["yearly"][f"{year:04d}"] == pytest.approx(value, rel=1e-9, abs=1e-12)


def test_trade_stats_worked_example() -> None:
    bars = pd.date_range("2024-01-01", periods=10, freq="D", tz="UTC")
    trades = pd.DataFrame(
        {
            "symbol": ["A", "A"],
            "entry_ts": [bars[0], bars[4]],
            "exit_ts": [bars[3], bars[5]],  # held 3 bars, then 1 bar
            "quantity": [1.0, 2.0],
            "entry_price": [100.0, 100.0],
            "exit_price": [110.0, 95.0],
            "pnl": [10.0, -4.0],
        }
    )
    assert trade_stats(trades, bars) == {"avg_trade_bars": 2.0, "expectancy": 3.0}


def test_trade_stats_without_trades_are_none() -> None:
    empty = pd.DataFrame(columns=["symbol", "entry_ts", "exit_ts", "quantity", "entry_price", "exit_price", "pnl"])
    bars = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    assert trade_stats(empty, bars) == {"avg_trade_bars": None, "expectancy": None}
