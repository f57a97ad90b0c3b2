"""Prediction quality: how well a contender's predicted returns match the realized ones.

A predicting contender (``Decision.predictions``) states, at the close of bar
``t``, the log return it expects per symbol over its ``horizon_bars``. The
realized value is the forward log return over the same horizon, from closes:

    r[t, s] = ln(close[t + h, s] / close[t, s])

(undefined, so not scored, where ``t + h`` is past the last bar or a close is
missing). Scored pairs are those where both the prediction and ``r`` exist.

* **IC** (information coefficient): with ``S >= 3`` symbols, the mean over bars
  of the cross-sectional Pearson correlation between predicted and realized
  returns (Grinold & Kahn, *Active Portfolio Management*, 2nd ed., ch. 6); a
  bar enters when it has at least 3 scored symbols and neither side is constant
  across them. With ``S < 3`` there is no cross-section to correlate, so the
  periods are non-overlapping blocks of ``block_bars`` bars (default 21, about
  a trading month of daily bars), starting at the first scored bar, and each
  block's IC is the Pearson correlation of all its scored pairs pooled over
  bars and symbols (at least 3 pairs, neither side constant).
* **Rank IC**: the same with Spearman's rank correlation (Pearson on ranks,
  ties given their average rank).
* **ICIR**: ``mean(IC_p) / std(IC_p)`` over the periods (bars or blocks),
  ``ddof=1``; not annualized. None with fewer than 2 periods or a zero std.
* **Hit rate**: fraction of scored predictions whose sign matches the realized
  return's; pairs where either is exactly 0 are left out.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from scipy.stats import rankdata

from contenders.ml.features import forward_log_returns  # the label the learned contenders train on

__all__ = ["MIN_PAIRS", "QUALITY_KEYS", "forward_log_returns", "prediction_quality"]

MIN_PAIRS = 3
"""Scored pairs a period needs for its correlation to count."""

QUALITY_KEYS: tuple[str, ...] = ("ic", "rank_ic", "icir", "hit_rate")
"""The prediction-quality values a leaderboard row carries."""


def prediction_quality(
    predictions: np.ndarray,
    close: np.ndarray,
    horizon_bars: int,
    *,
    block_bars: int = 21,
) -> dict[str, float | int | str | None]:
    """IC, rank IC, ICIR and hit rate of predicted against realized forward log returns.

    Definitions in the module docstring.

    Args:
        predictions: float ``[T, S]``, the expected log return over ``horizon_bars``
            stated at the close of each bar (fraction); NaN where none was made.
        close: float ``[T, S]`` closes (USD per unit), same shape; NaN where no bar.
        horizon_bars: the prediction horizon in bars, integer >= 1.
        block_bars: block length in bars for the pooled IC when ``S < 3``, integer >= 2.

    Returns:
        ``{"ic", "rank_ic", "icir", "hit_rate", "n_predictions", "n_periods", "ic_method"}``:
        the four quality values (float, or None when undefined), ``n_predictions``
        the number of scored pairs, ``n_periods`` the number of periods the IC
        averages over, and ``ic_method`` ``"cross_sectional"`` (``S >= 3``) or
        ``"pooled_blocks"``. With no scored pairs every quality value is None.

    Raises:
        ValueError: the arrays are not 2-D of the same shape, a prediction is ±inf,
            or ``horizon_bars`` / ``block_bars`` is out of range.

    Example:
        >>> close = np.array([[100.0, 50.0, 20.0], [101.0, 49.0, 21.0], [103.0, 48.0, 20.0]])
        >>> perfect = forward_log_returns(close, 1)
        >>> prediction_quality(perfect, close, 1)["ic"]
        1.0
    """
    pred = _matrix(predictions, "predictions")
    c = _matrix(close, "close")
    if pred.shape != c.shape:
        raise ValueError(f"predictions {pred.shape} and close {c.shape} must have the same [T, S] shape")
    inf = np.argwhere(np.isinf(pred))
    if len(inf):
        t, s = inf[0]
        raise ValueError(f"predictions[{t}, {s}] is {pred[t, s]}; expected a finite log return or NaN (none)")
    if isinstance(block_bars, bool) or not isinstance(block_bars, numbers.Integral) or block_bars < 2:
        raise ValueError(f"block_bars must be an integer number of bars >= 2, got {block_bars!r}")
    realized = forward_log_returns(c, horizon_bars)
    scored = np.isfinite(pred) & np.isfinite(realized)
    n_scored = int(scored.sum())
    method = "cross_sectional" if pred.shape[1] >= MIN_PAIRS else "pooled_blocks"
    out: dict[str, float | int | str | None] = {
        "ic": None,
        "rank_ic": None,
        "icir": None,
        "hit_rate": None,
        "n_predictions": n_scored,
        "n_periods": 0,
        "ic_method": method,
    }
    if n_scored == 0:
        return out
    x = np.where(scored, pred, np.nan)
    y = np.where(scored, realized, np.nan)
    if method == "pooled_blocks":
        x, y = _blocks(x, y, int(block_bars))
    ic = _row_correlations(x, y)
    rank_ic = _row_correlations(_ranks(x), _ranks(y))
    ic = ic[np.isfinite(ic)]
    rank_ic = rank_ic[np.isfinite(rank_ic)]
    out["n_periods"] = len(ic)
    if len(ic):
        out["ic"] = float(ic.mean())
    if len(rank_ic):
        out["rank_ic"] = float(rank_ic.mean())
    if len(ic) >= 2:
        sd = float(ic.std(ddof=1))
        out["icir"] = float(ic.mean()) / sd if sd > 0 and math.isfinite(sd) else None
    sx, sy = np.sign(x[np.isfinite(x)]), np.sign(y[np.isfinite(y)])
    signed = (sx != 0) & (sy != 0)
    if signed.any():
        out["hit_rate"] = float((sx[signed] == sy[signed]).mean())
    return out


def _matrix(a: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a float array [T, S] ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [T bars, S symbols], got shape {arr.shape}")
    return arr


def _blocks(x: np.ndarray, y: np.ndarray, block_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """Regroup ``[T, S]`` into ``[n_blocks, block_bars × S]``: one row per block of bars,
    starting at the first bar with a scored pair (NaN padding at the end)."""
    first = int(np.flatnonzero(np.isfinite(x).any(axis=1))[0])
    x, y = x[first:], y[first:]
    n_blocks = -(-len(x) // block_bars)
    pad = n_blocks * block_bars - len(x)
    s = x.shape[1]
    fill = np.full((pad, s), np.nan)
    xb = np.vstack([x, fill]).reshape(n_blocks, block_bars * s)
    yb = np.vstack([y, fill]).reshape(n_blocks, block_bars * s)
    return xb, yb


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks per row, NaN kept as NaN."""
    return rankdata(a, axis=1, nan_policy="omit")


def _row_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation per row over the entries finite in both (same mask assumed);
    NaN for rows with fewer than :data:`MIN_PAIRS` entries or a constant side."""
    m = np.isfinite(x) & np.isfinite(y)
    n = m.sum(axis=1)
    xs, ys = np.where(m, x, 0.0), np.where(m, y, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(m, xs - xs.sum(axis=1, keepdims=True) / n[:, None], 0.0)
        dy = np.where(m, ys - ys.sum(axis=1, keepdims=True) / n[:, None], 0.0)
        cov = (dx * dy).sum(axis=1)
        r = cov / np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    ok = (n >= MIN_PAIRS) & ~_constant(xs, m) & ~_constant(ys, m)
    return np.where(ok, np.clip(r, -1.0, 1.0), np.nan)


def _constant(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    """True per row where the masked values are all equal (or absent)."""
    hi = np.where(m, a, -np.inf).max(axis=1)
    lo = np.where(m, a, np.inf).min(axis=1)
    return ~(hi > lo)
