"""Leaderboard assembly: ordering, run-level statistics, JSON safety, errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from metrics_helpers import empty_fills, empty_trades, invested_equity, trades_with_pnl

from arena.metrics import (
    EXTRA_KEYS,
    METRIC_KEYS,
    QUALITY_KEYS,
    ContenderResult,
    build_leaderboard,
    contender_metrics,
    deflated_sharpe_ratio,
    periods_per_year,
    returns_matrix,
    run_stats,
    sharpe_per_bar,
)


def _result(equity: pd.Series, **kwargs: str) -> ContenderResult:
    return ContenderResult(equity, empty_fills(), empty_trades(), equity * 0.8, **kwargs)


@pytest.fixture(scope="module")
def arena_run(goog_close: pd.Series) -> dict[str, ContenderResult]:
    """Four contenders on two years of real GOOG daily bars."""
    close = goog_close.iloc[:505]
    half = invested_equity(close, 0.5)
    flat = pd.Series(100_000.0, index=close.index)
    return {
        "buy_and_hold": _result(invested_equity(close, 1.0)),
        "half_in": ContenderResult(
            half, empty_fills(), trades_with_pnl([120.0, -40.0]), half * 0.5
        ),
        "short_seller": _result(invested_equity(close, -1.0)),
        "sleeper": ContenderResult(
            flat,
            empty_fills(),
            empty_trades(),
            flat * 0.0,
            status="halted",
            halt_reason="MAX_DRAWDOWN",
        ),
    }


@pytest.fixture(scope="module")
def ppy(arena_run: dict[str, ContenderResult]) -> float:
    return periods_per_year(arena_run["buy_and_hold"].equity.index.asi8)


def test_rows_are_sorted_by_sharpe_and_ranked(
    arena_run: dict[str, ContenderResult], ppy: float
) -> None:
    rows = build_leaderboard(arena_run, ppy)
    sharpes = [r["sharpe"] for r in rows]
    assert sharpes == sorted(sharpes, reverse=True)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert {r["contender"] for r in rows} == set(arena_run)
    assert rows[-1]["contender"] == "short_seller"  # GOOG rose over 2004–2006


def test_rows_carry_every_metric_status_quality_dsr_and_pbo(
    arena_run: dict[str, ContenderResult], ppy: float
) -> None:
    rows = build_leaderboard(arena_run, ppy)
    expected = ["contender", "rank", "status", "halt_reason", *METRIC_KEYS, *QUALITY_KEYS, "dsr", "pbo", *EXTRA_KEYS]
    for row in rows:
        assert list(row) == expected
        assert [row[k] for k in QUALITY_KEYS] == [None] * 4, "none of these contenders predicts"
    by_name = {r["contender"]: r for r in rows}
    assert by_name["sleeper"]["status"] == "halted"
    assert by_name["sleeper"]["halt_reason"] == "MAX_DRAWDOWN"
    assert by_name["half_in"]["profit_factor"] == pytest.approx(3.0)
    assert by_name["sleeper"]["dsr"] is None  # flat equity: PSR undefined
    assert 0.0 <= by_name["buy_and_hold"]["dsr"] <= 1.0


def test_metrics_in_rows_equal_contender_metrics(
    arena_run: dict[str, ContenderResult], ppy: float
) -> None:
    rows = {r["contender"]: r for r in build_leaderboard(arena_run, ppy)}
    res = arena_run["half_in"]
    direct = contender_metrics(res.equity, res.fills, res.closed_trades, res.gross_exposure, ppy)
    assert {k: rows["half_in"][k] for k in METRIC_KEYS} == direct


def test_dsr_uses_every_contender_as_a_trial(
    arena_run: dict[str, ContenderResult], ppy: float
) -> None:
    rows = {r["contender"]: r for r in build_leaderboard(arena_run, ppy)}
    returns = {n: r.equity.pct_change().dropna().to_numpy() for n, r in arena_run.items()}
    trials = [sharpe_per_bar(r) for r in returns.values()]
    expected = deflated_sharpe_ratio(returns["buy_and_hold"], trials)
    assert rows["buy_and_hold"]["dsr"] == pytest.approx(expected, rel=1e-12)
    assert rows["buy_and_hold"]["dsr"] < rows["buy_and_hold"]["psr"]


def test_pbo_is_the_run_level_value_on_every_row(
    arena_run: dict[str, ContenderResult], ppy: float
) -> None:
    rows = build_leaderboard(arena_run, ppy)
    stats = run_stats(arena_run, ppy)
    assert stats["n_trials"] == 4
    assert stats["pbo_partitions"] == 16
    assert stats["pbo_combinations"] == math.comb(16, 8)
    assert stats["pbo_bars"] == 504
    assert stats["pbo"] is not None and 0.0 <= stats["pbo"] <= 1.0
    assert {r["pbo"] for r in rows} == {stats["pbo"]}


def test_leaderboard_is_strict_json(arena_run: dict[str, ContenderResult], ppy: float) -> None:
    text = json.dumps(build_leaderboard(arena_run, ppy), allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    json.dumps(run_stats(arena_run, ppy), allow_nan=False)


def test_ties_are_broken_by_name_and_undefined_sharpe_goes_last(goog_close: pd.Series) -> None:
    close = goog_close.iloc[:60]
    equity = invested_equity(close, 1.0)
    short = pd.Series([100_000.0, 100_500.0], index=close.index[:2])  # 2 bars: no Sharpe
    run = {"zeta": _result(equity), "alpha": _result(equity.copy()), "aa_short": _result(short)}
    rows = build_leaderboard(run, 252.0)
    assert [r["contender"] for r in rows] == ["alpha", "zeta", "aa_short"]
    assert rows[-1]["sharpe"] is None
    json.dumps(rows, allow_nan=False)


def test_single_contender_has_no_pbo_and_says_why(goog_close: pd.Series) -> None:
    run = {"solo": _result(invested_equity(goog_close.iloc[:100], 1.0))}
    stats = run_stats(run, 252.0)
    assert stats["pbo"] is None and "at least 2 strategies" in stats["pbo_reason"]
    rows = build_leaderboard(run, 252.0)
    assert rows[0]["pbo"] is None and rows[0]["rank"] == 1
    assert rows[0]["dsr"] == pytest.approx(rows[0]["psr"])  # one trial: nothing to deflate


def test_empty_run_gives_an_empty_leaderboard() -> None:
    assert build_leaderboard({}, 252.0) == []
    assert run_stats({}, 252.0)["n_trials"] == 0


def test_returns_matrix_counts_missing_bars_as_zero_return(goog_close: pd.Series) -> None:
    close = goog_close.iloc[:30]
    late = invested_equity(close.iloc[10:], 1.0)
    run = {"early": _result(invested_equity(close, 1.0)), "late": _result(late)}
    mat = returns_matrix(run)
    assert list(mat.columns) == ["early", "late"] and len(mat) == 29
    assert (mat["late"].iloc[:10] == 0.0).all()
    np.testing.assert_allclose(mat["late"].iloc[10:], late.pct_change().dropna())


def test_risk_free_rate_is_subtracted_per_bar(goog_close: pd.Series) -> None:
    run = {"a": _result(invested_equity(goog_close.iloc[:30], 1.0))}
    diff = returns_matrix(run) - returns_matrix(run, risk_free_rate=0.05, periods_per_year=252.0)
    np.testing.assert_allclose(diff["a"], 1.05 ** (1 / 252) - 1.0)


def test_invalid_contender_input_names_the_contender(goog_close: pd.Series) -> None:
    equity = invested_equity(goog_close.iloc[:30], 1.0)
    bad = equity.copy()
    bad.iloc[3] = -1.0
    with pytest.raises(ValueError, match=r"contender 'broken': equity: row"):
        build_leaderboard({"fine": _result(equity), "broken": _result(bad)}, 252.0)


def test_misaligned_exposure_names_the_contender(goog_close: pd.Series) -> None:
    equity = invested_equity(goog_close.iloc[:30], 1.0)
    res = ContenderResult(equity, empty_fills(), empty_trades(), equity.iloc[:-1])
    with pytest.raises(ValueError, match=r"contender 'x': gross_exposure"):
        build_leaderboard({"x": res}, 252.0)


def test_contender_result_validates_status_and_reason(goog_close: pd.Series) -> None:
    equity = invested_equity(goog_close.iloc[:5], 1.0)
    with pytest.raises(ValueError, match="status must be one of"):
        _result(equity, status="stopped")
    with pytest.raises(ValueError, match="needs a halt_reason"):
        _result(equity, status="halted")
    with pytest.raises(ValueError, match="status is 'ok'"):
        _result(equity, halt_reason="MAX_DRAWDOWN")
