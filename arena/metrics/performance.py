"""Per-contender performance metrics: returns, risk, drawdown, trading activity.

Every metric is computed here from the contender's equity curve (marked at
each bar close), its fills, its closed trades and its gross exposure; formulas
are written out in :func:`contender_metrics`. They follow the conventions of
empyrical (``empyrical-reloaded``): simple per-bar returns, ``ddof=1``
volatility, empyrical's downside deviation, CAGR over ``len(returns) / ppy``
years. empyrical is not a runtime dependency; the test suite checks these
formulas against ``empyrical.sharpe_ratio``, ``sortino_ratio``,
``calmar_ratio``, ``max_drawdown``, ``annual_volatility`` and ``cagr`` called
with ``annualization=periods_per_year``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from arena.data.holes import data_holes
from arena.metrics._checks import (
    check_closed_trades,
    check_equity,
    check_fills,
    check_gross_exposure,
    check_periods_per_year,
    json_float,
)
from arena.metrics.overfitting import probabilistic_sharpe_ratio, sharpe_per_bar

__all__ = [
    "METRIC_KEYS",
    "SECONDS_PER_YEAR",
    "bar_returns",
    "contender_metrics",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "per_bar_risk_free",
    "periods_per_year",
]

SECONDS_PER_YEAR: float = 365.25 * 24 * 3600
"""Length of the year used to infer bars per year (Julian year, s)."""

METRIC_KEYS: tuple[str, ...] = (
    "final_equity",
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "profit_factor",
    "win_rate",
    "trades",
    "fills",
    "turnover",
    "exposure",
    "exposure_time",
    "psr",
    "n_bars",
)
"""Keys of :func:`contender_metrics`, in display order."""


def periods_per_year(timestamps_ns: np.ndarray) -> float:
    """Bars per year inferred from the bar timestamps.

    ``ppy = (n − 1 − h) / span_years`` with ``span_years = (last − first − Σ holes) /
    (365.25 days)``: the average bar rate over the sample, its calendar's gaps (weekends,
    holidays, nights) included, its holes (:func:`data_holes`: a step longer than 30 days
    and than 20 median steps, ``h`` of them) left out, so that a hole does not change the
    annualization. Daily US equities give ≈ 252 (≈ 251.7 for one calendar year of NYSE
    sessions); 24/7 hourly crypto gives ≈ 8766.

    Args:
        timestamps_ns: bar timestamps, shape ``[n]``, as int nanoseconds since
            the Unix epoch (UTC) or ``datetime64``; strictly increasing.

    Returns:
        Bars per year (float, > 0).

    Raises:
        ValueError: if there are fewer than 2 timestamps, or they are not
            strictly increasing.
    """
    ts = np.asarray(timestamps_ns)
    if ts.ndim != 1 or ts.size < 2:
        raise ValueError(
            f"periods_per_year: need at least 2 bar timestamps, got shape {ts.shape}"
        )
    if np.issubdtype(ts.dtype, np.datetime64):
        ts = ts.astype("datetime64[ns]").astype("int64")
    elif not np.issubdtype(ts.dtype, np.integer):
        raise ValueError(
            f"periods_per_year: timestamps must be int nanoseconds or datetime64, got {ts.dtype}"
        )
    steps = np.diff(ts.astype("int64"))
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"periods_per_year: timestamps must be strictly increasing; element {i + 1} "
            f"({int(ts[i + 1])} ns) is not after element {i} ({int(ts[i])} ns)"
        )
    holes = data_holes(ts)
    hole_ns = sum(b - a for a, b in holes)
    span_years = float(ts[-1] - ts[0] - hole_ns) / 1e9 / SECONDS_PER_YEAR
    return (ts.size - 1 - len(holes)) / span_years


def bar_returns(equity: pd.Series) -> pd.Series:
    """Simple per-bar returns of an equity curve: ``r_t = E_t / E_{t−1} − 1``.

    Args:
        equity: Series[USD] indexed by bar timestamp, every value > 0.

    Returns:
        Series[fraction] of length ``n − 1``, indexed by the later bar of each pair.

    Raises:
        ValueError: if ``equity`` is invalid (see :func:`contender_metrics`).
    """
    values = check_equity(equity)
    return pd.Series(values[1:] / values[:-1] - 1.0, index=equity.index[1:], name="return")


def per_bar_risk_free(risk_free_rate: float, periods_per_year: float) -> float:
    """Per-bar risk-free return compounding to ``risk_free_rate`` over a year.

    ``rf = (1 + risk_free_rate)^(1/ppy) − 1``; e.g. 4 %/yr over 252 bars → 0.0156 %/bar.

    Raises:
        ValueError: if ``risk_free_rate`` is not a finite fraction > -1 or
            ``periods_per_year`` is not a finite number > 0.
    """
    ppy = check_periods_per_year(periods_per_year)
    if not (math.isfinite(risk_free_rate) and risk_free_rate > -1.0):
        raise ValueError(
            f"risk_free_rate must be a finite annual fraction > -1, got {risk_free_rate!r}"
        )
    return (1.0 + risk_free_rate) ** (1.0 / ppy) - 1.0


def max_drawdown(equity_values: np.ndarray) -> float:
    """Largest peak-to-trough fall of equity, as a positive fraction.

    ``MDD = max_t (1 − E_t / max_{s<=t} E_s)``; 0.25 means a 25 % fall.
    The first bar (starting capital) counts as a peak.
    """
    values = np.asarray(equity_values, dtype="float64")
    peaks = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / peaks))


def max_drawdown_duration_bars(equity_values: np.ndarray) -> int:
    """Longest drawdown, in bars from its peak to recovery (or to the last bar).

    Recovery is the first bar whose equity is back at or above the peak.
    Example: ``[100, 90, 100]`` → 2 (peak bar 0, recovered bar 2);
    ``[100, 90, 95]`` → 2 (still under water at the end). 0 if equity never falls.
    """
    values = np.asarray(equity_values, dtype="float64")
    longest = 0
    peak, peak_i, underwater = values[0], 0, False
    for i in range(1, values.size):
        if values[i] < peak:
            underwater = True
            continue
        if underwater:
            longest = max(longest, i - peak_i)
            underwater = False
        peak, peak_i = values[i], i
    if underwater:
        longest = max(longest, values.size - 1 - peak_i)
    return int(longest)


def contender_metrics(
    equity: pd.Series,
    fills: pd.DataFrame,
    closed_trades: pd.DataFrame,
    gross_exposure: pd.Series,
    periods_per_year: float,
    risk_free_rate: float = 0.0,
) -> dict[str, float | int | None]:
    """Leaderboard metrics of one contender.

    Notation: ``E_t`` equity at bar close ``t = 0..n−1`` (USD), ``r_t = E_t /
    E_{t−1} − 1`` (n − 1 simple returns), ``ppy = periods_per_year``, per-bar
    risk-free rate ``rf = (1 + risk_free_rate)^(1/ppy) − 1``, excess returns
    ``x_t = r_t − rf``.

    Returned keys (None means undefined or infinite, so every value is JSON-safe):

    * ``final_equity`` (USD): ``E_{n−1}``.
    * ``total_return`` (fraction): ``E_{n−1} / E_0 − 1``.
    * ``cagr`` (fraction/yr): ``(E_{n−1}/E_0)^(ppy/(n−1)) − 1`` (empyrical's
      ``cagr``); None for a single bar, or when it overflows to infinity
      (a large gain over a few bars annualized).
    * ``volatility`` (fraction, annualized): ``std(r, ddof=1)·sqrt(ppy)``.
    * ``sharpe``: ``mean(x) / std(x, ddof=1) · sqrt(ppy)``; 0.0 when every
      excess return is equal (flat equity: no risk taken, no reward claimed).
    * ``sortino``: ``mean(x)·ppy / (sqrt(mean(min(x, 0)²))·sqrt(ppy))``
      (empyrical's downside deviation, target = rf); 0.0 for flat equity,
      None when there is a gain but no bar below target (infinite).
    * ``calmar``: ``cagr / max_drawdown``; None when there is no drawdown.
    * ``max_drawdown`` (fraction, positive): see :func:`max_drawdown`.
    * ``max_drawdown_duration_bars`` (int, bars): see :func:`max_drawdown_duration_bars`.
    * ``profit_factor``: Σ pnl of winning closed trades / |Σ pnl of losing
      ones|; None when there are no losing trades (infinite, or no trades).
    * ``win_rate`` (fraction): closed trades with ``pnl > 0`` / closed trades;
      None with no trades.
    * ``trades`` (int): closed trades (position reductions). ``fills`` (int): fills.
    * ``turnover`` (fraction/yr): ``Σ|quantity·price| / mean(E) · ppy / n``.
    * ``exposure`` (fraction): ``mean_t(gross_exposure_t / E_t)``.
    * ``exposure_time`` (fraction): share of bars with ``gross_exposure > 0``.
    * ``psr``: :func:`~arena.metrics.overfitting.probabilistic_sharpe_ratio`
      of ``x`` against a benchmark Sharpe of 0.
    * ``n_bars`` (int): ``n``.

    Sharpe, Sortino and volatility need at least 2 returns (3 bars), else None.

    Args:
        equity: Series[USD] indexed by bar timestamp (UTC), marked at each bar
            close; first value = starting capital; every value > 0.
        fills: DataFrame[ts, symbol, side, quantity, price, commission] (may be empty).
        closed_trades: DataFrame[symbol, entry_ts, exit_ts, quantity, entry_price,
            exit_price, pnl], one row per position reduction (may be empty).
        gross_exposure: Series[USD], Σ|position market value| at each bar
            close, same index as ``equity``.
        periods_per_year: bars per year (see :func:`periods_per_year`).
        risk_free_rate: annual risk-free rate (fraction, e.g. 0.04 = 4 %/yr).

    Returns:
        A dict with the keys of :data:`METRIC_KEYS`.

    Raises:
        ValueError: naming the input, row and field, for an empty or
            non-positive equity curve, a misaligned exposure series, a missing
            column, a non-finite value, a non-positive fill quantity or price,
            an unknown fill side, or an invalid ``periods_per_year``/``risk_free_rate``.
    """
    ppy = check_periods_per_year(periods_per_year)
    rf_bar = per_bar_risk_free(risk_free_rate, ppy)
    values = check_equity(equity)
    exposure_usd = check_gross_exposure(gross_exposure, equity)
    notional_usd = check_fills(fills)
    pnl_usd = check_closed_trades(closed_trades)

    n_bars = int(values.size)
    returns = values[1:] / values[:-1] - 1.0
    excess = returns - rf_bar
    growth = values[-1] / values[0]
    mdd = max_drawdown(values)

    cagr = None
    if returns.size >= 1:
        with np.errstate(over="ignore"):  # a huge short-run gain annualizes to inf → None
            cagr = float(np.float64(growth) ** (ppy / returns.size) - 1.0)
    volatility = sharpe = sortino = psr = None
    if returns.size >= 2:
        volatility = float(np.std(returns, ddof=1) * math.sqrt(ppy))
        sharpe = sharpe_per_bar(excess) * math.sqrt(ppy)
        sortino = _sortino(excess, ppy)
        psr = probabilistic_sharpe_ratio(excess, 0.0)

    gains = float(pnl_usd[pnl_usd > 0].sum())
    losses = float(-pnl_usd[pnl_usd < 0].sum())
    return {
        "final_equity": float(values[-1]),
        "total_return": float(growth - 1.0),
        "cagr": json_float(cagr),
        "volatility": json_float(volatility),
        "sharpe": json_float(sharpe),
        "sortino": json_float(sortino),
        "calmar": json_float(cagr / mdd) if cagr is not None and mdd > 0.0 else None,
        "max_drawdown": mdd,
        "max_drawdown_duration_bars": max_drawdown_duration_bars(values),
        "profit_factor": gains / losses if losses > 0.0 else None,
        "win_rate": float(np.mean(pnl_usd > 0)) if pnl_usd.size else None,
        "trades": int(pnl_usd.size),
        "fills": int(notional_usd.size),
        "turnover": float(notional_usd.sum() / values.mean() * ppy / n_bars),
        "exposure": float(np.mean(exposure_usd / values)),
        "exposure_time": float(np.mean(exposure_usd > 0.0)),
        "psr": json_float(psr),
        "n_bars": n_bars,
    }


def _sortino(excess: np.ndarray, ppy: float) -> float | None:
    """Annualized Sortino ratio of per-bar excess returns (empyrical's definition)."""
    mean_excess = float(excess.mean())
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2))) * math.sqrt(ppy)
    if downside == 0.0:
        return 0.0 if mean_excess <= 0.0 else None
    return mean_excess * ppy / downside
