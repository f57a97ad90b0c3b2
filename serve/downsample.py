"""Server-side downsampling of long series for the API and the arena page.

* :func:`equity_indices` — largest-triangle-three-buckets (LTTB, Steinarsson 2013, with a
  min/max preselection: :class:`tsdownsample.MinMaxLTTBDownsampler`) on an equity curve,
  keeping its first and last bar, its highest and lowest equity and the trough of its
  deepest drawdown, so the drawn shape and the drawdown pane stay true.
* :func:`ohlc_buckets` — consecutive bars merged into at most N candles (open of the first,
  high / low over the bucket, close of the last, volume summed), as QuestDB's ``SAMPLE BY``
  would, but by bar count.
* :func:`even_indices` — N evenly spaced indices (first and last kept), for step series.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler

__all__ = ["MIN_POINTS", "equity_indices", "even_indices", "ohlc_buckets"]

MIN_POINTS = 8
"""The least ``max_points`` accepted (LTTB needs at least 3; the kept extremes take 3 more)."""


def equity_indices(ts_ns: np.ndarray, equity_usd: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` points of an equity curve that keep its shape.

    Args:
        ts_ns: int64 [n], bar timestamps (ns since the epoch), increasing.
        equity_usd: float64 [n], equity per bar (USD); NaN allowed (never chosen as an extreme).
        max_points: the most points to keep, >= :data:`MIN_POINTS`.

    Returns:
        int64 [m], m <= max_points, increasing; all of ``range(n)`` when n <= max_points.
        Always holds 0, n - 1, the argmax and argmin of equity and the trough of the deepest
        drawdown (lowest equity / running peak).

    Raises:
        ValueError: for arrays of different lengths or ``max_points`` < MIN_POINTS.
    """
    n = len(equity_usd)
    if len(ts_ns) != n:
        raise ValueError(f"ts_ns and equity_usd differ in length ({len(ts_ns)} vs {n})")
    if max_points < MIN_POINTS:
        raise ValueError(f"max_points must be >= {MIN_POINTS}, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype="int64")
    y = np.asarray(equity_usd, dtype="float64")
    finite = np.isfinite(y)
    keep = [0, n - 1]
    if finite.any():
        masked_hi = np.where(finite, y, -np.inf)
        masked_lo = np.where(finite, y, np.inf)
        keep += [int(np.argmax(masked_hi)), int(np.argmin(masked_lo))]
        peak = np.maximum.accumulate(masked_hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = np.where(finite & (peak > 0), y / peak - 1.0, 0.0)
        keep.append(int(np.argmin(dd)))
    filled = y
    if not finite.all():
        filled = y.copy()
        if finite.any():
            filled[~finite] = np.interp(np.flatnonzero(~finite), np.flatnonzero(finite), y[finite])
        else:
            filled[:] = 0.0
    n_out = max_points - 3  # room for the three kept extremes besides first and last
    chosen = MinMaxLTTBDownsampler().downsample(np.asarray(ts_ns, dtype="int64"), filled, n_out=n_out)
    out = np.union1d(np.asarray(chosen, dtype="int64"), np.asarray(keep, dtype="int64"))
    return out if len(out) <= max_points else _trim(out, set(keep), max_points)


def _trim(indices: np.ndarray, keep: set[int], max_points: int) -> np.ndarray:
    """Drop evenly spread indices not in ``keep`` until ``max_points`` remain."""
    extra = len(indices) - max_points
    droppable = [i for i in indices.tolist() if i not in keep]
    drop = set(droppable[:: max(1, len(droppable) // extra)][:extra])
    return np.asarray([i for i in indices.tolist() if i not in drop], dtype="int64")


def even_indices(n: int, max_points: int) -> np.ndarray:
    """``max_points`` evenly spaced indices of ``range(n)`` (first and last kept); all when n <= max_points.

    Raises:
        ValueError: for ``max_points`` < 2.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be >= 2, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype="int64")
    return np.unique(np.linspace(0, n - 1, max_points).round().astype("int64"))


def ohlc_buckets(
    ts_ns: np.ndarray,
    ohlcv: dict[str, np.ndarray],
    max_points: int,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Merge consecutive bars into at most ``max_points`` candles.

    Args:
        ts_ns: int64 [n], bar timestamps, increasing.
        ohlcv: ``open``, ``high``, ``low``, ``close``, ``volume``: float64 [n] each.
        max_points: the most candles, >= 1.

    Returns:
        ``(ts_ns [m], {open, high, low, close, volume: [m]}, n_bars [m])``: each candle's
        first timestamp, its OHLCV and how many bars it merges; the input itself when
        n <= max_points.

    Raises:
        ValueError: for ``max_points`` < 1.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    n = len(ts_ns)
    if n <= max_points:
        return np.asarray(ts_ns), {k: np.asarray(v) for k, v in ohlcv.items()}, np.ones(n, dtype="int64")
    size = -(-n // max_points)  # ceil: bars per candle
    starts = np.arange(0, n, size)
    ends = np.minimum(starts + size, n) - 1
    merged = {
        "open": np.asarray(ohlcv["open"])[starts],
        "high": np.maximum.reduceat(np.asarray(ohlcv["high"]), starts),
        "low": np.minimum.reduceat(np.asarray(ohlcv["low"]), starts),
        "close": np.asarray(ohlcv["close"])[ends],
        "volume": np.add.reduceat(np.asarray(ohlcv["volume"]), starts),
    }
    return np.asarray(ts_ns)[starts], merged, (ends - starts + 1).astype("int64")
