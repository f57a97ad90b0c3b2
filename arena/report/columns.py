"""The leaderboard's columns, their formats and what they mean: one definition for the
terminal (``arena leaderboard``, ``arena run``), the HTML report and the notebook API.

Light on purpose (no pandas, no matplotlib): the CLI imports it at start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from arena.ranking import RANK_KEYS

__all__ = [
    "BENCHMARK_CLASSES",
    "BENCHMARK_NOTE",
    "COLUMN_GROUPS",
    "IC_COLUMNS",
    "LEADERBOARD_COLUMNS",
    "STATISTIC_HELP",
    "Column",
    "benchmark_names",
    "columns_for",
    "fmt",
    "ranked_by",
    "significance_lines",
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
        optional: shown only when some row has a value (runs recorded before the column
            existed, figures a run did not record).
        group: ``performance``, ``benchmark`` (relative figures, tail risk, trades, tests) or
            ``operational``; the terminal's ``--wide`` shows one table per group.
    """

    key: str
    head: str
    spec: str
    doc: str
    key_column: bool = False
    optional: bool = False
    group: str = "performance"


def _bench(key: str, head: str, spec: str, doc: str, key_column: bool = False) -> Column:
    return Column(key, head, spec, doc, key_column, optional=True, group="benchmark")


def _ops(key: str, head: str, spec: str, doc: str) -> Column:
    return Column(key, head, spec, doc, optional=True, group="operational")


LEADERBOARD_COLUMNS: tuple[Column, ...] = (
    Column("rank", "#", "{}", "rank by the run's rank_by (annualized Sharpe by default), 1 = best", True),
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
    Column("dsr_all", "DSR all", "{:.2f}", "DSR with N = every distinct trial recorded on this data", optional=True),
    Column("beats_benchmark", "beats", "yes/no", "better than the benchmark by Romano-Wolf StepM (5 %)", True, True),
    _bench("excess_return", "vs bench", "{:+.2%}", "total return minus the benchmark's, fraction", True),
    _bench("alpha", "alpha", "{:+.2%}", "Jensen's alpha against the benchmark, annualized fraction", True),
    _bench("beta", "beta", "{:.2f}", "regression slope on the benchmark's excess returns", True),
    _bench("tracking_error", "TE", "{:.2%}", "std of returns minus the benchmark's, annualized", True),
    _bench("information_ratio", "IR", "{:.2f}", "mean active return / tracking error, annualized", True),
    _bench("up_capture", "up cap", "{:.2f}", "annualized return / the benchmark's on bars it rose"),
    _bench("down_capture", "down cap", "{:.2f}", "annualized return / the benchmark's on bars it fell"),
    _bench("var_95", "VaR 95", "{:.2%}", "historical 95 % value at risk, loss per bar"),
    _bench("cvar_95", "CVaR 95", "{:.2%}", "historical 95 % expected shortfall, loss per bar"),
    _bench("avg_trade_bars", "hold", "{:.1f}", "mean bars a closed trade was held"),
    _bench("expectancy", "expect $", "{:,.2f}", "mean pnl per closed trade, USD"),
    _bench("in_mcs", "MCS", "yes/no", "in the 95 % Model Confidence Set (as good as the best)", True),
    _bench("mcs_pvalue", "MCS p", "{:.2f}", "Model Confidence Set p-value (in the set above 0.05)"),
    _ops("latency_p50_ms", "p50 ms", "{:.2f}", "median ms from a bar to its vetted orders"),
    _ops("latency_p99_ms", "p99 ms", "{:.2f}", "99th percentile ms from a bar to its vetted orders"),
    _ops("bars_missed", "missed", "{}", "bars not decided on (timed out, halted)"),
    _ops("halts", "halts", "{}", "halts by the risk guardian or own errors"),
    _ops("restarts", "restarts", "{}", "restarts of the contender's process"),
    _ops("train_s", "train s", "{:.1f}", "seconds spent fitting (learned contenders)"),
)
"""The leaderboard's columns, in display order."""

IC_COLUMNS: tuple[Column, ...] = (
    Column("ic", "IC", "{:+.3f}", "information coefficient of the predicted returns"),
    Column("rank_ic", "rank IC", "{:+.3f}", "Spearman rank IC of the predicted returns"),
    Column("hit_rate", "hit", "{:.0%}", "predictions with the realized sign, fraction"),
)
"""Prediction-quality columns, shown when some contender predicts returns."""

def ranked_by(rows: list[dict[str, Any]]) -> str:
    """"ranked by <metric> (highest first)" for leaderboard rows: their ``rank_by`` (rows of a
    run recorded before ``rank_by`` existed are ranked by Sharpe)."""
    key = next((r.get("rank_by") for r in rows if r.get("rank_by")), None) or "sharpe"
    return f"ranked by {RANK_KEYS.get(str(key), str(key))} (highest first)"


def significance_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Plain lines on the multiple-testing statistics of leaderboard rows: the PBO, the SPA
    and Reality Check p-values against the benchmark, who beats it (StepM), the Model
    Confidence Set, and the DSR's two N."""
    scored = [r for r in rows if r.get("status") != "failed"]
    if not scored:
        return []
    first = scored[0]
    bench = next((r.get("benchmark") for r in scored if r.get("benchmark")), None)
    n = first.get("n_trials") or len(scored)
    lines = [f"PBO (CSCV over {n} contenders): {fmt(first.get('pbo'), '{:.2f}')}"]
    if bench and first.get("spa_pvalue") is not None:
        beats = [str(r["contender"]) for r in scored if r.get("beats_benchmark") == 1]
        lines.append(
            f"does any beat {bench}? SPA p-value {fmt(first.get('spa_pvalue'), '{:.3f}')} (Hansen 2005), "
            f"Reality Check {fmt(first.get('reality_check_pvalue'), '{:.3f}')} (White 2000); {n} counted"
        )
        lines.append(f"beat {bench} (StepM, Romano & Wolf 2005, 5 %): {', '.join(beats) or 'none'}")
    elif bench:
        lines.append(f"significance against {bench}: not computed (too few bars)")
    else:
        lines.append("significance: no benchmark (set `benchmark:` or add a buy_and_hold contender)")
    mcs = [str(r["contender"]) for r in scored if r.get("in_mcs") == 1]
    if mcs:
        lines.append(f"95 % Model Confidence Set (Hansen, Lunde & Nason 2011): {', '.join(mcs)}")
    if first.get("n_trials_all") is not None:
        lines.append(f"DSR: N = {n} contenders of this run; DSR all: N = {first.get('n_trials_all')} distinct "
                     "trials on these bars (arena trials)")
    return lines
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
    "dsr_all": (
        "DSR all (Bailey & López de Prado 2014, with every trial): the same DSR, with N = every distinct "
        "contender configuration (class + params) ever run on these bars, as the trials register counts them "
        "(arena trials RUN_ID). It falls as more variants are tried, as it should."
    ),
    "spa": (
        "SPA (Superior Predictive Ability, Hansen 2005) and Reality Check (White 2000): the p-value of 'no "
        "contender beats the benchmark', computed by a stationary bootstrap over every contender of the run at "
        "once. Below 0.05: the best contender's edge over the benchmark is unlikely to come from trying many."
    ),
    "stepm": (
        "StepM (Romano & Wolf 2005): the contenders that beat the benchmark, found step by step while holding "
        "the chance of naming even one by luck (the family-wise error rate) to 5 %. 'beats: yes' is this test."
    ),
    "mcs": (
        "MCS (Model Confidence Set, Hansen, Lunde & Nason 2011): the contenders that cannot be told apart from the "
        "best at 95 % confidence, found by dropping the worst until the rest are statistically equal."
    ),
}
"""A plain sentence of what each multiple-testing statistic means."""


COLUMN_GROUPS: tuple[str, ...] = ("performance", "benchmark", "operational")
"""Groups of :data:`LEADERBOARD_COLUMNS`, in display order."""


def columns_for(rows: list[dict[str, Any]], wide: bool = True, group: str | None = None) -> list[Column]:
    """The columns to show for ``rows``: all (``wide``) or the key ones (optional ones only
    when some row has a value), plus the prediction-quality columns when some row has an IC
    (those only when ``wide``). With ``group``, only that group's columns (rank and contender
    always)."""
    cols = [
        c for c in LEADERBOARD_COLUMNS
        if (wide or c.key_column) and (not c.optional or any(row.get(c.key) is not None for row in rows))
        and (group is None or c.group == group or c.key in ("rank", "contender"))
    ]
    if wide and group in (None, "performance") and any(row.get("ic") is not None for row in rows):
        cols += IC_COLUMNS
    return cols


def fmt(value: Any, spec: str) -> str:
    """``spec.format(value)``; "–" for None, NaN and ±inf; ``str(value)`` when the spec does not fit;
    the spec ``yes/no`` shows a truth value (1/0) as "yes" or "no"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if spec == "yes/no":
        return "yes" if value else "no"
    try:
        return spec.format(value)
    except (ValueError, TypeError):
        return str(value)
