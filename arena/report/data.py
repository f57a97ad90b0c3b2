"""A recorded run read back from the store as DataFrames, and the figures a report shows.

Everything here is read through the store's public read methods
(:class:`arena.store.Store`), so a report, a plot and the notebook API
(:mod:`arena.notebook`) show the same numbers as ``arena leaderboard`` and the HTTP API.
Money is USD, returns and drawdowns are fractions (0.05 → 5 %), timestamps are UTC.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from arena.report.columns import BENCHMARK_CLASSES, benchmark_names
from arena.store import Store
from ledger.positions import PositionBook
from ledger.types import Side

__all__ = [
    "BENCHMARK_CLASSES",
    "RunData",
    "RunNotFoundError",
    "bar_returns",
    "drawdowns",
    "equity_frame",
    "fills_frame",
    "load_run",
    "monthly_returns",
    "return_stats",
    "trades_from_fills",
]

TRADE_COLUMNS = [
    "contender", "symbol", "side", "entry_ts", "exit_ts", "quantity", "entry_price", "exit_price",
    "gross_pnl", "commission", "pnl", "return_pct", "client_order_id",
]
FILL_COLUMNS = [
    "contender", "ts", "symbol", "side", "quantity", "price", "commission", "slippage",
    "decision_id", "client_order_id",
]
VERDICT_COLUMNS = ["contender", "ts", "decision_id", "symbol", "action", "scale", "reasons", "details"]
EVENT_COLUMNS = ["ts", "contender", "kind", "reason", "details"]


class RunNotFoundError(LookupError):
    """No run with this id in the store.

    Args:
        run_id: the id asked for.
        where: the store (its URL or repr), for the message.
    """

    def __init__(self, run_id: str, where: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run {run_id!r} in {where} (see `arena runs`)")


@dataclass(frozen=True)
class RunData:
    """One recorded run, as DataFrames.

    Attributes:
        run: the ``runs`` row (provenance: config, data_source, data_sha256, code_version, seed, ...).
        leaderboard: the stored leaderboard rows, rank 1 first (``Store.leaderboard``).
        contenders: contender names, in leaderboard order, then any others alphabetically.
        benchmarks: names of the benchmark contenders (class ``buy_and_hold``).
        equity: DataFrame[timestamp (UTC) × contender], equity in USD, one row per bar.
        fills: DataFrame[FILL_COLUMNS], every fill, in booking order per contender.
        trades: DataFrame[TRADE_COLUMNS], closed trades (position reductions) rebuilt from the fills.
        risk_verdicts: DataFrame[VERDICT_COLUMNS], the verdicts that scaled or denied an order.
        events: DataFrame[EVENT_COLUMNS], arena events (halts, failures, kill switch) in time order.
    """

    run: dict[str, Any]
    leaderboard: list[dict[str, Any]]
    contenders: list[str]
    benchmarks: frozenset[str]
    equity: pd.DataFrame
    fills: pd.DataFrame
    trades: pd.DataFrame
    risk_verdicts: pd.DataFrame
    events: pd.DataFrame
    capital_usd: float | None = field(default=None)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.run["run_id"])

    @property
    def pbo(self) -> float | None:
        """The run's Probability of Backtest Overfitting (the same value on every leaderboard row)."""
        return next((r["pbo"] for r in self.leaderboard if r.get("pbo") is not None), None)


def load_run(store: Store, run_id: str, contenders: Sequence[str] | None = None) -> RunData:
    """Read a run from ``store``.

    Args:
        store: an open store (read-only is enough).
        run_id: the run.
        contenders: only these contenders' equity, fills, trades and verdicts (default: all);
            the leaderboard is always whole.

    Returns:
        The run's :class:`RunData`.

    Raises:
        RunNotFoundError: when the store holds no such run.
        ValueError: naming an unknown contender.
    """
    run = store.get_run(run_id)
    if run is None:
        raise RunNotFoundError(run_id, repr(store))
    board = store.leaderboard(run_id)
    ranked = [str(r["contender"]) for r in board]
    names = ranked + [c for c in store.contenders(run_id) if c not in ranked]
    if contenders is not None:
        unknown = [c for c in contenders if c not in names]
        if unknown:
            raise ValueError(f"contenders: {unknown} not in run {run_id!r}; it has {', '.join(names)}")
        names = [c for c in names if c in set(contenders)]
    config = run.get("config") or {}
    benchmarks = frozenset(benchmark_names(config))
    fills = fills_frame(store.run_fills(run_id))
    fills = fills[fills["contender"].isin(names)].reset_index(drop=True)
    verdicts = _frame(store.run_verdicts(run_id, actions=("SCALE", "DENY")), VERDICT_COLUMNS)
    verdicts = verdicts[verdicts["contender"].isin(names)].reset_index(drop=True)
    events = _frame(store.events(run_id), EVENT_COLUMNS)
    capital = config.get("capital")
    return RunData(
        run=run,
        leaderboard=board,
        contenders=names,
        benchmarks=benchmarks & frozenset(names),
        equity=equity_frame(store, run_id, names),
        fills=fills,
        trades=trades_from_fills(fills, tuple(run.get("symbols") or ())),
        risk_verdicts=verdicts,
        events=events,
        capital_usd=float(capital) if isinstance(capital, (int, float)) else None,
    )


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Rows as a DataFrame with ``columns`` (in that order) and ``ts`` as UTC timestamps."""
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    if "ts" in frame:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def fills_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``Store.run_fills`` rows as DataFrame[FILL_COLUMNS] (ts UTC, quantity units, price and
    commission and slippage USD), in the order given."""
    frame = _frame(rows, FILL_COLUMNS)
    for col in ("quantity", "price", "commission", "slippage"):
        frame[col] = frame[col].astype("float64")
    return frame


def equity_frame(store: Store, run_id: str, contenders: Sequence[str]) -> pd.DataFrame:
    """Equity curves side by side.

    Returns:
        DataFrame[timestamp (UTC, index ``ts``) × contender], USD; a contender without a row at a
        bar (e.g. one that failed early) is NaN there.
    """
    series = {}
    for name in contenders:
        rows = store.equity_curve(run_id, name)
        idx = pd.to_datetime([r["ts"] for r in rows], utc=True)
        values = [np.nan if r["equity"] is None else float(r["equity"]) for r in rows]
        series[name] = pd.Series(values, index=idx, dtype="float64")
    frame = pd.DataFrame(series, columns=list(contenders))
    frame.index.name = "ts"
    return frame


def drawdowns(equity: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
    """Drawdown from the running peak, ``equity / cummax(equity) − 1``: fractions ≤ 0
    (−0.25 = 25 % below the peak). Same shape as ``equity``."""
    return equity / equity.cummax() - 1.0


def bar_returns(equity: pd.Series) -> pd.Series:
    """Simple returns per bar, ``equity[t] / equity[t−1] − 1`` (fractions), NaNs dropped."""
    return equity.pct_change(fill_method=None).dropna()


def monthly_returns(equity: pd.Series, capital_usd: float | None = None) -> pd.DataFrame:
    """Calendar-month returns (UTC months) of one equity curve.

    Each month's return is its last equity over the previous month's last equity, minus 1;
    the first month is measured from ``capital_usd`` (the starting cash) when given, else
    from the curve's first value.

    Returns:
        DataFrame[year × month 1..12, plus ``year``: the compounded return of the year's
        months], fractions; months without bars are NaN.

    Raises:
        ValueError: when ``capital_usd`` is not > 0.
    """
    equity = equity.dropna()
    cols = list(range(1, 13)) + ["year"]
    if equity.empty:
        return pd.DataFrame(columns=cols, dtype="float64")
    if capital_usd is not None and not capital_usd > 0:
        raise ValueError(f"capital_usd: expected a number > 0 (USD), got {capital_usd!r}")
    naive = equity.copy()
    naive.index = naive.index.tz_convert("UTC").tz_localize(None)
    month_end = naive.groupby(naive.index.to_period("M")).last()
    base = capital_usd if capital_usd is not None else float(equity.iloc[0])
    previous = month_end.shift(1)
    previous.iloc[0] = base
    rets = month_end / previous - 1.0
    table = pd.DataFrame(index=sorted({p.year for p in rets.index}), columns=cols, dtype="float64")
    table.index.name = "year"
    for period, value in rets.items():
        table.loc[period.year, period.month] = value
    for year in table.index:
        months = table.loc[year, list(range(1, 13))].dropna()
        table.loc[year, "year"] = float(np.prod(1.0 + months.to_numpy()) - 1.0) if len(months) else np.nan
    return table


def return_stats(returns: pd.Series) -> dict[str, float | int | None]:
    """Summary of a distribution of per-bar returns (fractions).

    Returns:
        ``{n, mean, std, skew, excess_kurtosis, best, worst, var_95, cvar_95}``: ``var_95`` is the
        historical 5 % quantile (a loss is negative), ``cvar_95`` the mean of returns at or below
        it; None where undefined (fewer than 2 returns, zero variance).
    """
    r = returns.dropna().to_numpy(dtype="float64")

    def fin(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    if r.size == 0:
        return dict.fromkeys(("mean", "std", "skew", "excess_kurtosis", "best", "worst", "var_95", "cvar_95"),
                             None) | {"n": 0}
    s = pd.Series(r)
    var = float(np.quantile(r, 0.05))
    return {
        "n": int(r.size),
        "mean": fin(float(r.mean())),
        "std": fin(float(r.std(ddof=1))) if r.size > 1 else None,
        "skew": fin(float(s.skew())) if r.size > 2 else None,
        "excess_kurtosis": fin(float(s.kurt())) if r.size > 3 else None,
        "best": fin(float(r.max())),
        "worst": fin(float(r.min())),
        "var_95": fin(var),
        "cvar_95": fin(float(r[r <= var].mean())),
    }


def trades_from_fills(fills: pd.DataFrame, symbols: Sequence[str] = ()) -> pd.DataFrame:
    """Closed trades rebuilt from the recorded fills with the ledger's own position book
    (average cost; one trade per position reduction, its round-trip commission pro rata),
    so they are the trades the leaderboard counted.

    Args:
        fills: DataFrame[FILL_COLUMNS] in booking order per contender (``Store.run_fills``).
        symbols: the run's symbols (array order; symbols only seen in fills are appended).

    Returns:
        DataFrame[TRADE_COLUMNS]: ``side`` LONG | SHORT (the position that was reduced),
        entry/exit timestamps UTC, quantity in units, prices USD per unit, pnl and commission
        USD, ``return_pct`` = pnl / (entry price × quantity), a fraction.

    Raises:
        ValueError: naming the row, for a side other than BUY | SELL or a non-positive quantity.
    """
    if fills.empty:
        return _frame([], TRADE_COLUMNS)
    names = list(dict.fromkeys([*symbols, *fills["symbol"].astype(str)]))
    index = {s: i for i, s in enumerate(names)}
    rows: list[dict[str, Any]] = []
    for contender, group in fills.groupby("contender", sort=False):
        book = PositionBook(tuple(names))
        for i, f in enumerate(group.itertuples(index=False)):
            if f.side not in ("BUY", "SELL"):
                raise ValueError(f"fills of {contender!r}, row {i}: side {f.side!r}; expected BUY or SELL")
            if not f.quantity > 0:
                raise ValueError(f"fills of {contender!r}, row {i}: quantity {f.quantity!r}; expected > 0")
            book.apply_fill(index[f.symbol], Side(f.side), float(f.quantity), float(f.price),
                            float(f.commission), int(f.ts.value), str(f.client_order_id))
        for t in book.trades:
            rows.append({
                "contender": contender, "symbol": t.symbol, "side": "LONG" if t.side is Side.BUY else "SHORT",
                "entry_ts": pd.Timestamp(t.entry_ts_ns, tz="UTC"), "exit_ts": pd.Timestamp(t.exit_ts_ns, tz="UTC"),
                "quantity": t.quantity, "entry_price": t.entry_price, "exit_price": t.exit_price,
                "gross_pnl": t.gross_pnl, "commission": t.commission, "pnl": t.pnl, "return_pct": t.return_pct,
                "client_order_id": t.client_order_id,
            })
    return pd.DataFrame(rows, columns=TRADE_COLUMNS)
