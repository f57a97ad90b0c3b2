"""Leaderboard metrics: per-contender performance, multiple-testing statistics, ranking.

No Ray here: these are plain functions over pandas/numpy data, called by the
arena once a run has finished (or on demand for a live leaderboard).

* :mod:`arena.metrics.performance` — :func:`periods_per_year`, :func:`contender_metrics`.
* :mod:`arena.metrics.overfitting` — PSR, DSR and PBO (Bailey & López de Prado).
* :mod:`arena.metrics.prediction` — :func:`prediction_quality` (IC, rank IC, ICIR, hit rate).
* :mod:`arena.metrics.relative` — against the benchmark (alpha, beta, tracking error,
  information ratio, capture), VaR/CVaR, trade duration and expectancy, calendar returns.
* :mod:`arena.metrics.significance` — SPA, Reality Check, StepM, Model Confidence Set (arch).
* :mod:`arena.metrics.leaderboard` — :class:`ContenderResult`, :func:`build_leaderboard`,
  :func:`run_stats`, both in one pass :func:`leaderboard_and_stats`.
"""

from arena.data.holes import data_holes
from arena.metrics._checks import CLOSED_TRADE_COLUMNS, FILL_COLUMNS
from arena.metrics.leaderboard import (
    EXTRA_KEYS,
    RANK_KEYS,
    ContenderResult,
    build_leaderboard,
    leaderboard_and_stats,
    returns_matrix,
    run_stats,
)
from arena.metrics.overfitting import (
    PBOResult,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    psr_from_moments,
    sharpe_per_bar,
)
from arena.metrics.performance import (
    METRIC_KEYS,
    bar_returns,
    contender_metrics,
    max_drawdown,
    max_drawdown_duration_bars,
    per_bar_risk_free,
    periods_per_year,
)
from arena.metrics.prediction import QUALITY_KEYS, forward_log_returns, prediction_quality
from arena.metrics.relative import (
    RELATIVE_KEYS,
    TAIL_KEYS,
    TRADE_KEYS,
    benchmark_relative,
    calendar_returns,
    tail_risk,
    trade_stats,
)
from arena.metrics.significance import Significance, significance_tests

__all__ = [
    "EXTRA_KEYS",
    "RANK_KEYS",
    "RELATIVE_KEYS",
    "TAIL_KEYS",
    "TRADE_KEYS",
    "Significance",
    "benchmark_relative",
    "calendar_returns",
    "significance_tests",
    "tail_risk",
    "trade_stats",
    "CLOSED_TRADE_COLUMNS",
    "FILL_COLUMNS",
    "METRIC_KEYS",
    "ContenderResult",
    "PBOResult",
    "QUALITY_KEYS",
    "bar_returns",
    "build_leaderboard",
    "leaderboard_and_stats",
    "contender_metrics",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "forward_log_returns",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "per_bar_risk_free",
    "data_holes",
    "periods_per_year",
    "prediction_quality",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "psr_from_moments",
    "returns_matrix",
    "run_stats",
    "sharpe_per_bar",
]
