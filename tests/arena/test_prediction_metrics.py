"""Prediction quality (IC, rank IC, ICIR, hit rate) against scipy, on real closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr, spearmanr

from arena.data import SampleSource, to_panel
from arena.metrics import ContenderResult, build_leaderboard, forward_log_returns, prediction_quality


@pytest.fixture(scope="module")
def close() -> np.ndarray:
    """Real daily closes [T=300, S=4] (GOOGL, IXIC, MSFT, SPX)."""
    return np.array(to_panel(SampleSource("us_equities_daily").load()).close[:300])


def _noisy(close: np.ndarray, h: int, noise: float, seed: int = 0) -> np.ndarray:
    real = forward_log_returns(close, h)
    return real + np.random.default_rng(seed).normal(0.0, noise, real.shape)


def test_forward_log_return_is_log_of_close_ratio_and_nan_past_the_end(close: np.ndarray) -> None:
    r = forward_log_returns(close, 5)
    assert r[10, 2] == pytest.approx(np.log(close[15, 2] / close[10, 2]), rel=1e-14)
    assert np.isnan(r[-5:]).all() and np.isfinite(r[:-5]).all()


@pytest.mark.parametrize("h", [1, 5])
def test_a_predictor_that_knows_the_future_has_ic_one(close: np.ndarray, h: int) -> None:
    perfect = np.log(np.roll(close, -h, axis=0) / close)  # wraps around at the end: excluded
    q = prediction_quality(perfect, close, h)
    assert q["ic"] == pytest.approx(1.0, abs=1e-12) and q["rank_ic"] == pytest.approx(1.0, abs=1e-12)
    assert q["hit_rate"] == 1.0
    assert q["n_predictions"] == (len(close) - h) * close.shape[1], "the last h bars have no realized return"


def test_inverse_predictor_has_ic_minus_one(close: np.ndarray) -> None:
    q = prediction_quality(-forward_log_returns(close, 3), close, 3)
    assert q["ic"] == pytest.approx(-1.0, abs=1e-12) and q["rank_ic"] == pytest.approx(-1.0, abs=1e-12)
    assert q["hit_rate"] == 0.0


def test_a_prediction_shifted_by_one_bar_is_not_perfect(close: np.ndarray) -> None:
    real = forward_log_returns(close, 1)
    late = np.vstack([np.full((1, close.shape[1]), np.nan), real[:-1]])  # yesterday's realized return
    q = prediction_quality(late, close, 1)
    assert abs(q["ic"]) < 0.5
    early = forward_log_returns(close, 1)
    q_wrong_h = prediction_quality(early, close, 2)  # scored over the wrong horizon
    assert q_wrong_h["ic"] < 0.95


def test_ic_is_the_mean_of_scipy_cross_sectional_correlations(close: np.ndarray) -> None:
    h = 5
    pred = _noisy(close, h, 0.03)
    real = forward_log_returns(close, h)
    pearson = [pearsonr(pred[t], real[t])[0] for t in range(len(close) - h)]
    spearman = [spearmanr(pred[t], real[t])[0] for t in range(len(close) - h)]
    q = prediction_quality(pred, close, h)
    assert q["ic_method"] == "cross_sectional" and q["n_periods"] == len(pearson)
    assert q["ic"] == pytest.approx(np.mean(pearson), rel=1e-10)
    assert q["rank_ic"] == pytest.approx(np.mean(spearman), rel=1e-10)
    assert q["icir"] == pytest.approx(np.mean(pearson) / np.std(pearson, ddof=1), rel=1e-10)
    sp, sr = np.sign(pred[:-h]), np.sign(real[:-h])
    assert (sr == 0).any(), "real closes repeat: zero returns exist and are left out of the hit rate"
    assert q["hit_rate"] == pytest.approx((sp == sr)[(sp != 0) & (sr != 0)].mean(), rel=1e-12)


def test_random_predictions_have_ic_near_zero(close: np.ndarray) -> None:
    pred = np.random.default_rng(3).normal(0.0, 0.01, close.shape)
    q = prediction_quality(pred, close, 1)
    assert abs(q["ic"]) < 0.1 and abs(q["rank_ic"]) < 0.1
    assert 0.4 < q["hit_rate"] < 0.6


def test_missing_predictions_and_closes_are_skipped_not_zero(close: np.ndarray) -> None:
    h = 2
    pred = _noisy(close, h, 0.02, seed=1)
    pred[::3, 0] = np.nan  # no prediction on these bars
    c = close.copy()
    c[50, 1] = np.nan  # a missing bar: realized returns at 48 and 50 are undefined for symbol 1
    real = forward_log_returns(c, h)
    ok = np.isfinite(pred) & np.isfinite(real)
    ics = [pearsonr(pred[t, ok[t]], real[t, ok[t]])[0] for t in range(len(c)) if ok[t].sum() >= 3]
    q = prediction_quality(pred, c, h)
    assert q["n_predictions"] == int(ok.sum())
    assert q["ic"] == pytest.approx(np.mean(ics), rel=1e-10)


def test_no_predictions_gives_none_everywhere(close: np.ndarray) -> None:
    q = prediction_quality(np.full(close.shape, np.nan), close, 1)
    assert (q["ic"], q["rank_ic"], q["icir"], q["hit_rate"], q["n_predictions"]) == (None, None, None, None, 0)


def test_fewer_than_three_symbols_pool_blocks_of_bars(close: np.ndarray) -> None:
    one = close[:, :1]
    h, block = 1, 21
    pred = _noisy(one, h, 0.01, seed=2)
    real = forward_log_returns(one, h)
    pred[:4] = np.nan  # blocks start at the first scored bar
    x, y = pred[4:-h, 0], real[4:-h, 0]
    starts = [i for i in range(0, len(x), block) if len(x[i : i + block]) >= 3]  # a 1-pair tail block: left out
    assert len(starts) == len(range(0, len(x), block)) - 1
    expected = [pearsonr(x[i : i + block], y[i : i + block])[0] for i in starts]
    q = prediction_quality(pred, one, h, block_bars=block)
    assert q["ic_method"] == "pooled_blocks" and q["n_periods"] == len(expected)
    assert q["ic"] == pytest.approx(np.mean(expected), rel=1e-10)
    assert q["icir"] == pytest.approx(np.mean(expected) / np.std(expected, ddof=1), rel=1e-10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon_bars": 0}, "horizon_bars must be an integer"),
        ({"horizon_bars": 1, "block_bars": 1}, "block_bars must be"),
    ],
)
def test_bad_parameters_are_named(close: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        prediction_quality(close * 0, close, **kwargs)


def test_shape_mismatch_and_inf_are_rejected(close: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"same \[T, S\] shape"):
        prediction_quality(close[:, :2], close, 1)
    bad = np.zeros_like(close)
    bad[7, 1] = np.inf
    with pytest.raises(ValueError, match=r"predictions\[7, 1\] is inf"):
        prediction_quality(bad, close, 1)


def _result(close: np.ndarray, predictions: np.ndarray | None, h: int = 1) -> ContenderResult:
    idx = pd.date_range("2020-01-01", periods=len(close), freq="D", tz="UTC")
    equity = pd.Series(10_000.0 * np.cumprod(1 + np.random.default_rng(len(idx)).normal(0, 0.01, len(idx))), idx)
    fills = pd.DataFrame(columns=["ts", "symbol", "side", "quantity", "price", "commission"])
    trades = pd.DataFrame(columns=["symbol", "entry_ts", "exit_ts", "quantity", "entry_price", "exit_price", "pnl"])
    return ContenderResult(
        equity, fills, trades, pd.Series(0.0, idx), predictions=predictions,
        close=None if predictions is None else close, horizon_bars=h,
    )


def test_leaderboard_rows_carry_quality_for_predictors_and_none_for_others(close: np.ndarray) -> None:
    pred = _noisy(close, 3, 0.02)
    rows = {r["contender"]: r for r in build_leaderboard({"ml": _result(close, pred, 3), "rule": _result(close, None)},
                                                         252.0)}
    q = prediction_quality(pred, close, 3)
    assert {k: rows["ml"][k] for k in ("ic", "rank_ic", "icir", "hit_rate")} == pytest.approx(
        {k: q[k] for k in ("ic", "rank_ic", "icir", "hit_rate")}
    )
    assert [rows["rule"][k] for k in ("ic", "rank_ic", "icir", "hit_rate")] == [None] * 4


def test_contender_result_rejects_predictions_without_close(close: np.ndarray) -> None:
    r = _result(close, None)
    with pytest.raises(ValueError, match="need the close array"):
        ContenderResult(r.equity, r.fills, r.closed_trades, r.gross_exposure, predictions=close)
    with pytest.raises(ValueError, match="T = 300 equity bars"):
        ContenderResult(r.equity, r.fills, r.closed_trades, r.gross_exposure, predictions=close[:10],
                        close=close[:10])
