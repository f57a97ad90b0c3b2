"""The shared feature set of the learned contenders, computed from past bars only.

Every feature row at bar ``t`` is a function of bars ``t - 63 .. t`` and of
nothing else (a fixed, finite window: :data:`FEATURE_WINDOW_BARS`). Computing one
row or a whole block therefore gives the same numbers, and a change to any bar
after ``t`` cannot change the row at ``t`` — the no-look-ahead tests rely on it.

Features (per symbol, per bar; ``c`` = close, ``v`` = volume):

===================  ==========================================================
``ret_1 … ret_63``   log return over 1, 5, 21, 63 bars: ``log c[t] − log c[t−h]``
``vol_21``           sample std (ddof 1) of the last 21 one-bar log returns
``rsi_14``           Cutler's RSI over 14 changes (simple means of gains and
                     losses), scaled from [0, 100] to [−0.5, 0.5]
``macd``             ``(EMA12 − EMA26) / c[t]``; the EMAs are exponential
                     weights ``α(1−α)^k`` truncated at 64 bars and renormalized
                     (Appel's MACD, finite-window form)
``range_21``         mean of ``(high − low) / close`` over 21 bars
``volume_z_21``      ``(v[t] − mean) / std`` of volume over 21 bars (0 when the
                     volume is constant or missing, e.g. FX quotes)
``xs_rank_ret_5``,   with two or more symbols: the cross-sectional rank of
``xs_rank_ret_21``   ``ret_5`` / ``ret_21`` among the symbols, scaled to [0, 1]
===================  ==========================================================

Labels: :func:`forward_log_returns` — ``log c[t+h] − log c[t]``, known only at
bar ``t + h``.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from contenders.market import History

__all__ = [
    "FEATURE_WINDOW_BARS",
    "BASE_FEATURES",
    "FeatureCache",
    "compute_features",
    "feature_names",
    "forward_log_returns",
]

FEATURE_WINDOW_BARS = 64
"""Bars of history one feature row reads (the current bar included)."""

_RET_HORIZONS = (1, 5, 21, 63)
BASE_FEATURES: tuple[str, ...] = (
    *(f"ret_{h}" for h in _RET_HORIZONS),
    "vol_21",
    "rsi_14",
    "macd",
    "range_21",
    "volume_z_21",
)
"""Per-symbol features, in column order."""

_XS_FEATURES = ("xs_rank_ret_5", "xs_rank_ret_21")


def feature_names(n_symbols: int) -> tuple[str, ...]:
    """Column names of the feature array for ``n_symbols`` symbols (cross-sectional
    ranks are added when there are two or more)."""
    if n_symbols < 1:
        raise ValueError(f"n_symbols must be >= 1, got {n_symbols}")
    return BASE_FEATURES + (_XS_FEATURES if n_symbols >= 2 else ())


def _ema_weights(span: int, length: int) -> np.ndarray:
    """Truncated EMA weights, oldest first, summing to 1 (α = 2 / (span + 1))."""
    alpha = 2.0 / (span + 1.0)
    w: np.ndarray = alpha * (1.0 - alpha) ** np.arange(length)[::-1]
    return w / float(w.sum())


_EMA12 = _ema_weights(12, FEATURE_WINDOW_BARS)
_EMA26 = _ema_weights(26, FEATURE_WINDOW_BARS)


def compute_features(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    volume: np.ndarray,
    start: int = 0,
    end: int | None = None,
) -> np.ndarray:
    """Feature rows ``start .. end-1`` from OHLCV arrays.

    Args:
        close, high, low, volume: float64 ``[T, S]`` (quote currency; volume in
            units), bars in time order, NaN where a symbol had no bar.
        start: first row to compute (0-based bar index).
        end: one past the last row (default ``T``).

    Returns:
        float64 ``[end − start, S, F]`` with ``F = len(feature_names(S))``; a row
        is NaN where fewer than :data:`FEATURE_WINDOW_BARS` bars precede it (or
        where an input in its window is NaN).

    Raises:
        ValueError: if the arrays' shapes differ or the row range is invalid.
    """
    close = np.asarray(close, dtype=np.float64)
    t_all, n_sym = close.shape
    for name, arr in (("high", high), ("low", low), ("volume", volume)):
        if np.shape(arr) != close.shape:
            raise ValueError(f"compute_features: {name} has shape {np.shape(arr)}, expected {close.shape} like close")
    end = t_all if end is None else end
    if not 0 <= start <= end <= t_all:
        raise ValueError(f"compute_features: rows [{start}, {end}) are outside [0, {t_all}]")
    n_feat = len(feature_names(n_sym))
    out = np.full((end - start, n_sym, n_feat), np.nan)
    w = FEATURE_WINDOW_BARS
    first = max(start, w - 1)  # first row with a full window
    if first >= end:
        return out
    lo = first - (w - 1)
    win = {  # [rows, S, W], oldest first
        "c": sliding_window_view(close[lo:end], w, axis=0),
        "h": sliding_window_view(np.asarray(high, dtype=np.float64)[lo:end], w, axis=0),
        "l": sliding_window_view(np.asarray(low, dtype=np.float64)[lo:end], w, axis=0),
        "v": sliding_window_view(np.asarray(volume, dtype=np.float64)[lo:end], w, axis=0),
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        logc = np.log(win["c"])
        last = logc[..., -1]
        cols = [last - logc[..., -1 - h] for h in _RET_HORIZONS]
        r1 = np.diff(logc[..., -22:], axis=-1)
        cols.append(r1.std(axis=-1, ddof=1))
        d = np.diff(win["c"][..., -15:], axis=-1)
        gain = np.where(d > 0, d, 0.0).mean(axis=-1)
        loss = np.where(d < 0, -d, 0.0).mean(axis=-1)
        tot = gain + loss
        rsi = np.where(tot > 0, gain / np.where(tot > 0, tot, 1.0), 0.5) - 0.5
        cols.append(np.where(np.isnan(tot), np.nan, rsi))
        macd = (win["c"] @ _EMA12 - win["c"] @ _EMA26) / win["c"][..., -1]
        cols.append(macd)
        cols.append(((win["h"][..., -21:] - win["l"][..., -21:]) / win["c"][..., -21:]).mean(axis=-1))
        v = win["v"][..., -21:]
        vsd = v.std(axis=-1, ddof=1)
        vz = np.where(vsd > 0, (v[..., -1] - v.mean(axis=-1)) / np.where(vsd > 0, vsd, 1.0), 0.0)
        cols.append(np.where(np.isnan(v).any(axis=-1), 0.0, vz))
    feats = np.stack(cols, axis=-1)  # [rows, S, F_base]
    if n_sym >= 2:
        ranks = [_xs_rank(feats[..., BASE_FEATURES.index(name)]) for name in ("ret_5", "ret_21")]
        feats = np.concatenate([feats, np.stack(ranks, axis=-1)], axis=-1)
    out[first - start :] = feats
    return out


def _xs_rank(x: np.ndarray) -> np.ndarray:
    """Cross-sectional rank of ``x`` [rows, S] scaled to [0, 1] (ties by order; NaN stays NaN)."""
    out = np.full(x.shape, np.nan)
    for i, row in enumerate(x):
        ok = ~np.isnan(row)
        k = int(ok.sum())
        if k >= 2:
            order = np.argsort(np.argsort(row[ok], kind="stable"), kind="stable")
            out[i, ok] = order / (k - 1)
        elif k == 1:
            out[i, ok] = 0.5
    return out


def forward_log_returns(close: np.ndarray, horizon_bars: int) -> np.ndarray:
    """The label, and the realized return predictions are scored against:
    ``ln(close[t + h] / close[t])`` per bar and symbol, known only at bar ``t + h``.

    Args:
        close: float ``[T, S]`` closes (quote currency per unit); NaN where there is no bar.
        horizon_bars: ``h``, bars ahead, integer >= 1.

    Returns:
        float64 ``[T, S]`` (fraction); NaN for the last ``h`` rows (not yet known) and
        where either close is missing or not > 0.

    Raises:
        ValueError: ``close`` is not 2-D, or ``horizon_bars`` is not an integer >= 1.
    """
    if isinstance(horizon_bars, bool) or not isinstance(horizon_bars, numbers.Integral) or horizon_bars < 1:
        raise ValueError(f"horizon_bars must be an integer number of bars >= 1, got {horizon_bars!r}")
    c = np.asarray(close, dtype=np.float64)
    if c.ndim != 2:
        raise ValueError(f"close must be a 2-D array [T bars, S symbols], got shape {c.shape}")
    h = int(horizon_bars)
    out = np.full(c.shape, np.nan)
    if h < len(c):
        a, b = c[:-h], c[h:]
        ok = (a > 0) & (b > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:-h] = np.where(ok, np.log(np.where(ok, b, 1.0) / np.where(ok, a, 1.0)), np.nan)
    return out


class FeatureCache:
    """Feature rows of a growing :class:`~contenders.market.History`, computed once per bar.

    Example:
        >>> cache = FeatureCache(n_symbols=4)
        >>> feats = cache.update(history)   # float64 [len(history), S, F]
    """

    def __init__(self, n_symbols: int, capacity: int = 1024) -> None:
        self.names = feature_names(n_symbols)
        self._rows = np.full((max(capacity, 1), n_symbols, len(self.names)), np.nan)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def update(self, history: History) -> np.ndarray:
        """Compute the rows not yet seen and return all rows ``[len(history), S, F]`` (a view).

        Raises:
            ValueError: if the history is shorter than what was already seen (a new run
                needs a new cache).
        """
        n = len(history)
        if n < self._n:
            raise ValueError(f"FeatureCache: history shrank from {self._n} to {n} bars; use a new cache per run")
        if n > len(self._rows):
            grown = np.full((max(n, 2 * len(self._rows)),) + self._rows.shape[1:], np.nan)
            grown[: self._n] = self._rows[: self._n]
            self._rows = grown
        if n > self._n:
            self._rows[self._n : n] = compute_features(
                history.close, history.high, history.low, history.volume, start=self._n, end=n
            )
            self._n = n
        return self._rows[:n]

    def rows(self, n: int) -> np.ndarray:
        """The first ``n`` rows computed so far, ``[n, S, F]`` (a view).

        Raises:
            ValueError: if fewer than ``n`` rows were computed.
        """
        if not 0 <= n <= self._n:
            raise ValueError(f"FeatureCache: {n} rows asked, {self._n} computed")
        return self._rows[:n]
