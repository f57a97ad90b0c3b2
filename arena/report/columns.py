"""The leaderboard's columns, their formats and what they mean: one definition for the
terminal (``arena leaderboard``, ``arena run``), the HTML report and the notebook API.

Light on purpose (no pandas, no matplotlib): the CLI imports it at start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BENCHMARK_CLASSES",
    "BENCHMARK_NOTE",
    "IC_COLUMNS",
    "LEADERBOARD_COLUMNS",
    "RANKED_BY",
    "STATISTIC_HELP",
    "Column",
    "benchmark_names",
    "columns_for",
    "fmt",
]

BENCHMARK_CLASSES = frozenset({"buy_and_hold"})
"""Contender classes that are benchmarks (named as such, drawn distinctly)."""


def benchmark_names(config: Any) -> list[str]:
    """Names of the benchmark contenders of a run's stored config (``runs.config``): those of
    class ``buy_and_hold``, in config order; [] for a config without contenders."""
    if not isinstance(config, dict):
        return []
    return [
        str(c.get("name")) for c in config.get("contenders") or []
        if isinstance(c, dict) and c.get("class") in BENCHMARK_CLASSES
    ]


@dataclass(frozen=True, slots=True)
class Column:
    """One leaderboard column.

    Args:
        key: the leaderboard row's key (``Store.leaderboard`` rows).
        head: the column's heading.
        spec: ``str.format`` spec of a value (``{:+.2%}`` for a fraction shown as percent).
        doc: what the value is, with its unit.
        key_column: shown by default in the terminal (the others with ``--wide``).
    """

    key: str
    head: str
    spec: str
    doc: str
    key_column: bool = False


LEADERBOARD_COLUMNS: tuple[Column, ...] = (
    Column("rank", "#", "{}", "rank by annualized Sharpe ratio, 1 = best", True),
    Column("contender", "contender", "{}", "contender name", True),
    Column("status", "status", "{}", "ok | halted | failed", True),
    Column("final_equity", "equity $", "{:,.2f}", "final equity, USD", True),
    Column("total_return", "return", "{:+.2%}", "total return over the scored bars, fraction", True),
    Column("cagr", "CAGR", "{:+.2%}", "compound annual growth rate, fraction per year"),
    Column("volatility", "vol", "{:.2%}", "annualized volatility of per-bar returns, fraction"),
    Column("sharpe", "Sharpe", "{:.2f}", "annualized Sharpe ratio of excess returns", True),
    Column("sortino", "Sortino", "{:.2f}", "annualized Sortino ratio (downside deviation)", True),
    Column("calmar", "Calmar", "{:.2f}", "CAGR / |max drawdown|"),
    Column("max_drawdown", "max DD", "{:.2%}", "deepest peak-to-trough fall of equity, fraction", True),
    Column("trades", "trades", "{}", "closed trades (position reductions)", True),
    Column("win_rate", "win", "{:.0%}", "closed trades with pnl > 0, fraction"),
    Column("turnover", "turnover", "{:.2f}", "traded notional / mean equity, per year"),
    Column("psr", "PSR", "{:.2f}", "Probabilistic Sharpe Ratio: P(true Sharpe > 0)", True),
    Column("dsr", "DSR", "{:.2f}", "Deflated Sharpe Ratio: PSR against the best of N trials by luck", True),
)
"""The leaderboard's columns, in display order."""

IC_COLUMNS: tuple[Column, ...] = (
    Column("ic", "IC", "{:+.3f}", "information coefficient of the predicted returns"),
    Column("rank_ic", "rank IC", "{:+.3f}", "Spearman rank IC of the predicted returns"),
    Column("hit_rate", "hit", "{:.0%}", "predictions with the realized sign, fraction"),
)
"""Prediction-quality columns, shown when some contender predicts returns."""

RANKED_BY = "ranked by annualized Sharpe ratio (highest first)"
BENCHMARK_NOTE = "is the buy-and-hold benchmark"

STATISTIC_HELP: dict[str, str] = {
    "psr": (
        "PSR (Probabilistic Sharpe Ratio, Bailey & López de Prado 2012): the probability that the "
        "contender's true Sharpe ratio is above 0, given how many bars it was measured on and the "
        "skew and fat tails of its returns. 0.95 or more: a positive Sharpe ratio is unlikely to be luck."
    ),
    "dsr": (
        "DSR (Deflated Sharpe Ratio, Bailey & López de Prado 2014): the PSR measured against the Sharpe "
        "ratio the best of this run's N contenders would reach by luck alone (N = number of contenders). "
        "Below 0.95, the result does not stand out from what picking the best of N gives anyway."
    ),
    "pbo": (
        "PBO (Probability of Backtest Overfitting, Bailey, Borwein, López de Prado & Zhu 2015, by CSCV): "
        "split the bars into blocks, pick the best contender on half of them, and count how often it "
        "ranks below the median on the other half. Near 0: the best in-sample stays good; 0.5 or more: "
        "choosing the best backtest is no better than a coin flip."
    ),
}
"""A plain sentence of what each multiple-testing statistic means."""


def columns_for(rows: list[dict[str, Any]], wide: bool = True) -> list[Column]:
    """The columns to show for ``rows``: all (``wide``) or the key ones, plus the
    prediction-quality columns when some row has an IC (those only when ``wide``)."""
    cols = [c for c in LEADERBOARD_COLUMNS if wide or c.key_column]
    if wide and any(row.get("ic") is not None for row in rows):
        cols += IC_COLUMNS
    return cols


def fmt(value: Any, spec: str) -> str:
    """``spec.format(value)``; "–" for None, NaN and ±inf; ``str(value)`` when the spec does not fit."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)
