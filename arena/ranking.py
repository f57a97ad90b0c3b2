"""The metrics a leaderboard can rank by (config ``rank_by``), with their names in words: one
table, read by the leaderboard (:mod:`arena.metrics.leaderboard`), the config's check and the
captions of the CLI and the report (no import: a caption needs neither numpy nor pandas)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["RANK_KEYS"]

RANK_KEYS: Mapping[str, str] = MappingProxyType({
    "sharpe": "annualized Sharpe ratio",
    "sortino": "annualized Sortino ratio",
    "calmar": "Calmar ratio",
    "total_return": "total return",
    "cagr": "compound annual growth rate",
    "psr": "probabilistic Sharpe ratio",
    "dsr": "deflated Sharpe ratio (N = contenders)",
    "dsr_all": "deflated Sharpe ratio (N = every trial on this data)",
    "information_ratio": "information ratio against the benchmark",
    "alpha": "alpha against the benchmark",
    "excess_return": "return in excess of the benchmark's",
})
"""Metrics a leaderboard can rank by (``rank_by``), each highest first, with its name in words."""
