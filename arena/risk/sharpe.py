"""Rolling Sharpe ratio of bar returns, in plain Python (fast for short windows)."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

__all__ = ["MIN_STD", "annualized_sharpe"]

MIN_STD = 1e-12
"""Per-bar standard deviation below which the Sharpe ratio is undefined (flat equity)."""


def annualized_sharpe(returns: Sequence[float], periods_per_year: float) -> float | None:
    """Annualized Sharpe ratio of simple bar returns, risk-free rate 0.

    ``SR = mean(r) / std(r, ddof=1) × sqrt(periods_per_year)`` — Sharpe (1994),
    "The Sharpe Ratio", Journal of Portfolio Management 21(1); annualized by the
    square root of time, which assumes i.i.d. returns (Lo 2002, "The Statistics
    of Sharpe Ratios", Financial Analysts Journal 58(4)).

    Args:
        returns: simple bar returns (fraction; 0.01 → +1 %), any length.
        periods_per_year: bars per year (252 for daily equity bars), > 0.

    Returns:
        The annualized Sharpe ratio, or None when it is undefined: fewer than two
        returns, or a standard deviation below :data:`MIN_STD` per bar (flat
        equity takes no risk, so there is no ratio to judge).

    Example:
        >>> round(annualized_sharpe([0.01, -0.005, 0.02, 0.0], 252.0), 3)
        8.949
    """
    n = len(returns)
    if n < 2:
        return None
    mean = math.fsum(returns) / n
    dev = [r - mean for r in returns]
    std = math.sqrt(math.fsum(map(operator.mul, dev, dev)) / (n - 1))
    if std < MIN_STD:
        return None
    return mean / std * math.sqrt(periods_per_year)
