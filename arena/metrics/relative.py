"""Metrics against a benchmark, tail risk, trade statistics and the calendar of returns.

Conventions follow empyrical (``empyrical-reloaded``), against which the test suite checks
every formula on the same returns: simple per-bar returns, alpha and beta by least-squares
regression of excess returns on the benchmark's excess returns (``empyrical.alpha_beta``),
capture ratios as a ratio of annualized returns on the bars where the benchmark rose (fell)
(``empyrical.up_capture``/``down_capture``), historical VaR as the 5th percentile of per-bar
returns and CVaR as the mean of the worst 5 % (``empyrical.value_at_risk``,
``conditional_value_at_risk``), calendar returns compounded per month and year
(``empyrical.aggregate_returns``). empyrical is not a runtime dependency.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from arena.metrics._checks import json_float

__all__ = [
    "RELATIVE_KEYS",
    "TAIL_CUTOFF",
    "TAIL_KEYS",
    "TRADE_KEYS",
    "benchmark_relative",
    "calendar_returns",
    "tail_risk",
    "trade_stats",
]

RELATIVE_KEYS: tuple[str, ...] = (
    "excess_return",
    "alpha",
    "beta",
    "tracking_error",
    "information_ratio",
    "up_capture",
    "down_capture",
)
"""Keys of :func:`benchmark_relative`, in display order."""

TAIL_KEYS: tuple[str, ...] = ("var_95", "cvar_95")
"""Keys of :func:`tail_risk`."""

TRADE_KEYS: tuple[str, ...] = ("avg_trade_bars", "expectancy")
"""Keys of :func:`trade_stats`."""

TAIL_CUTOFF = 0.05
"""Share of the worst bars VaR and CVaR look at (95 % confidence)."""


def benchmark_relative(
    returns: np.ndarray, benchmark: np.ndarray, periods_per_year: float, rf_bar: float = 0.0
) -> dict[str, float | None]:
    """A contender's returns against the benchmark's on the same bars.

    Notation: ``r_t`` the contender's and ``b_t`` the benchmark's simple per-bar returns,
    ``rf`` the per-bar risk-free return, ``a_t = r_t − b_t`` the active return, ``ppy``
    bars per year.

    * ``excess_return`` (fraction): ``Π(1 + r) − Π(1 + b)``, total return minus the
      benchmark's total return.
    * ``beta``: ``cov(r − rf, b − rf) / var(b − rf)`` (least-squares slope; Sharpe 1964).
    * ``alpha`` (fraction/yr): ``(1 + mean(r − rf − β·(b − rf)))^ppy − 1`` (Jensen 1968,
      annualized as empyrical does).
    * ``tracking_error`` (fraction, annualized): ``std(a, ddof=1)·sqrt(ppy)``.
    * ``information_ratio``: ``mean(a) / std(a, ddof=1) · sqrt(ppy)`` (Grinold & Kahn 2000);
      None when the active return never varies.
    * ``up_capture`` / ``down_capture``: annualized return of ``r`` over annualized return of
      ``b``, on the bars where ``b > 0`` (``b < 0``); 1 = moves with the benchmark, an up
      capture above 1 and a down capture below 1 is the good side of both.

    Args:
        returns: float ``[T]`` the contender's per-bar returns (fraction).
        benchmark: float ``[T]`` the benchmark's returns on the same bars (fraction).
        periods_per_year: bars per year (> 0).
        rf_bar: per-bar risk-free return (fraction;
            :func:`~arena.metrics.performance.per_bar_risk_free`).

    Returns:
        A dict with the keys of :data:`RELATIVE_KEYS`; None where undefined (fewer than 2
        bars, a benchmark that never varies, no up or down bar).

    Raises:
        ValueError: if the two arrays are not 1-D of the same length or hold a non-finite value.
    """
    r = np.asarray(returns, dtype="float64")
    b = np.asarray(benchmark, dtype="float64")
    if r.ndim != 1 or r.shape != b.shape:
        raise ValueError(f"benchmark_relative: returns {r.shape} and benchmark {b.shape} must be [T] of one length")
    if not (np.isfinite(r).all() and np.isfinite(b).all()):
        raise ValueError("benchmark_relative: returns and benchmark must be finite")
    out: dict[str, float | None] = dict.fromkeys(RELATIVE_KEYS)
    if r.size == 0:
        return out
    out["excess_return"] = json_float(float(np.prod(1.0 + r) - np.prod(1.0 + b)))
    if r.size < 2:
        return out
    x, y = b - rf_bar, r - rf_bar
    var_x = float(np.mean((x - x.mean()) ** 2))
    if var_x > 0.0:
        beta = float(np.mean((x - x.mean()) * (y - y.mean()))) / var_x
        out["beta"] = beta
        with np.errstate(over="ignore"):
            out["alpha"] = json_float(float(np.float64(1.0 + np.mean(y - beta * x)) ** periods_per_year - 1.0))
    active = r - b
    sd = float(np.std(active, ddof=1))
    out["tracking_error"] = sd * math.sqrt(periods_per_year)
    out["information_ratio"] = json_float(float(active.mean()) / sd * math.sqrt(periods_per_year)) if sd > 0 else None
    out["up_capture"] = _capture(r[b > 0], b[b > 0], periods_per_year)
    out["down_capture"] = _capture(r[b < 0], b[b < 0], periods_per_year)
    return out


def _capture(r: np.ndarray, b: np.ndarray, ppy: float) -> float | None:
    if r.size == 0:
        return None
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        num = np.prod(1.0 + r) ** (ppy / r.size) - 1.0
        den = np.prod(1.0 + b) ** (ppy / b.size) - 1.0
        return json_float(float(num / den)) if den != 0.0 else None


def tail_risk(returns: np.ndarray, cutoff: float = TAIL_CUTOFF) -> dict[str, float | None]:
    """Historical Value at Risk and Conditional VaR (expected shortfall) per bar, as losses.

    * ``var_95`` (fraction per bar, positive = a loss): ``−percentile(r, 5)``, the loss not
      exceeded on 95 % of bars (linear interpolation, numpy's default).
    * ``cvar_95`` (fraction per bar): ``−mean`` of the ``⌊(T − 1)·0.05⌋ + 1`` worst returns,
      the average loss on the bars beyond the VaR (Rockafellar & Uryasev 2000).

    Args:
        returns: float ``[T]`` per-bar simple returns (fraction).
        cutoff: the tail's share (0.05 → 95 %).

    Returns:
        ``{"var_95": float | None, "cvar_95": float | None}``; None for no bars.
    """
    r = np.asarray(returns, dtype="float64")
    r = r[np.isfinite(r)]
    if r.size == 0:
        return dict.fromkeys(TAIL_KEYS)
    k = int((r.size - 1) * cutoff)
    return {
        "var_95": -float(np.percentile(r, 100.0 * cutoff)),
        "cvar_95": -float(np.mean(np.partition(r, k)[: k + 1])),
    }


def trade_stats(closed_trades: pd.DataFrame, bar_index: pd.DatetimeIndex) -> dict[str, float | None]:
    """Average holding time and expectancy of closed trades.

    * ``avg_trade_bars`` (bars): mean over closed trades of the bars from entry to exit
      (positions of ``entry_ts`` and ``exit_ts`` among the run's bars).
    * ``expectancy`` (USD per trade): mean pnl of a closed trade, ``Σ pnl / trades``
      (win rate × average win − loss rate × average loss; Tharp 2006).

    Args:
        closed_trades: DataFrame[symbol, entry_ts, exit_ts, quantity, entry_price,
            exit_price, pnl] (ns or datetime timestamps; may be empty).
        bar_index: the contender's bar timestamps (UTC), increasing.

    Returns:
        ``{"avg_trade_bars": float | None, "expectancy": float | None}``; None with no trades.
    """
    if closed_trades is None or len(closed_trades) == 0:
        return dict.fromkeys(TRADE_KEYS)
    bars = np.asarray(bar_index.asi8 if isinstance(bar_index, pd.DatetimeIndex) else bar_index, dtype="int64")
    entry = pd.to_datetime(closed_trades["entry_ts"], utc=True).astype("int64").to_numpy()
    exit_ = pd.to_datetime(closed_trades["exit_ts"], utc=True).astype("int64").to_numpy()
    held = np.searchsorted(bars, exit_, side="left") - np.searchsorted(bars, entry, side="left")
    return {
        "avg_trade_bars": float(np.mean(held)),
        "expectancy": float(np.mean(closed_trades["pnl"].to_numpy(dtype="float64"))),
    }


def calendar_returns(equity: pd.Series) -> dict[str, dict[str, float]]:
    """Monthly and yearly returns of an equity curve, compounded from its bars.

    A period's return is ``E_last / E_prev − 1``: equity at the period's last bar over
    equity at the previous period's last bar (the first period: over the first bar,
    starting capital). Same as compounding the per-bar returns within each period
    (``empyrical.aggregate_returns``).

    Args:
        equity: Series[USD] indexed by bar timestamp (UTC), every value > 0.

    Returns:
        ``{"monthly": {"YYYY-MM": fraction}, "yearly": {"YYYY": fraction}}``, in time order;
        both empty for fewer than 2 bars.
    """
    if len(equity) < 2:
        return {"monthly": {}, "yearly": {}}
    index = pd.DatetimeIndex(equity.index)
    index = index.tz_convert("UTC") if index.tz is not None else index
    values = pd.Series(np.asarray(equity, dtype="float64"), index=index)
    out: dict[str, dict[str, float]] = {}
    for key, labels in (("monthly", index.strftime("%Y-%m")), ("yearly", index.strftime("%Y"))):
        last = values.groupby(np.asarray(labels), sort=False).last()
        prev = np.concatenate([[values.iloc[0]], last.to_numpy()[:-1]])
        out[key] = {str(k): float(v) for k, v in zip(last.index, last.to_numpy() / prev - 1.0, strict=True)}
    return out
