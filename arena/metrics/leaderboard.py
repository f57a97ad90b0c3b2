"""Leaderboard assembly: one JSON-safe row per contender, plus run-level statistics.

A row holds every metric of :func:`~arena.metrics.performance.contender_metrics`,
the contender's Deflated Sharpe Ratio (trials = the run's contenders), the
run-level Probability of Backtest Overfitting over the contenders' bar returns,
and for contenders that predict returns the prediction quality of
:func:`~arena.metrics.prediction.prediction_quality` (IC, rank IC, ICIR, hit rate).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.ranking import RANK_KEYS
import pandas as pd

from arena.metrics._checks import json_float
from arena.metrics.overfitting import (
    deflated_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_per_bar,
)
from arena.metrics.performance import bar_returns, contender_metrics, per_bar_risk_free
from arena.metrics.prediction import QUALITY_KEYS, prediction_quality
from arena.metrics.relative import (
    RELATIVE_KEYS,
    TAIL_KEYS,
    TRADE_KEYS,
    benchmark_relative,
    calendar_returns,
    tail_risk,
    trade_stats,
)
from arena.metrics.significance import DEFAULT_REPS, Significance, significance_tests

__all__ = [
    "EXTRA_KEYS",
    "RANK_KEYS",
    "STATUSES",
    "ContenderResult",
    "build_leaderboard",
    "leaderboard_and_stats",
    "returns_matrix",
    "run_stats",
]

STATUSES: frozenset[str] = frozenset({"ok", "halted"})
"""Allowed :attr:`ContenderResult.status` values."""

EXTRA_KEYS: tuple[str, ...] = (
    "dsr_all", "n_trials", "n_trials_all", "rank_by", "benchmark",
    *RELATIVE_KEYS, *TAIL_KEYS, *TRADE_KEYS,
    "spa_pvalue", "reality_check_pvalue", "beats_benchmark", "in_mcs", "mcs_pvalue", "calendar",
)
"""Keys a row of :func:`leaderboard_and_stats` has after ``dsr`` and ``pbo``, in order."""


@dataclass(frozen=True, slots=True, eq=False)
class ContenderResult:
    """What one contender leaves behind at the end of a run.

    Args:
        equity: Series[USD] indexed by bar timestamp (UTC), marked at each bar
            close; first value = starting capital.
        fills: DataFrame[ts, symbol, side, quantity, price, commission] (may be empty).
        closed_trades: DataFrame[symbol, entry_ts, exit_ts, quantity, entry_price,
            exit_price, pnl] (may be empty).
        gross_exposure: Series[USD] Σ|position market value| at each bar close,
            same index as ``equity``.
        status: ``"ok"``, or ``"halted"`` when the risk guardian stopped it.
        halt_reason: the guardian's reason code; required when halted, empty otherwise.
        predictions: float ``[T, S]`` expected log return over ``horizon_bars`` per bar
            (rows = the equity bars) and symbol, NaN where none; None for a
            contender that does not predict.
        close: float ``[T, S]`` closes of the same bars and symbols (USD per unit);
            required with ``predictions``.
        horizon_bars: the predictions' horizon in bars, >= 1.
        prediction_quality: a precomputed
            :func:`~arena.metrics.prediction.prediction_quality` dict, used instead
            of ``predictions``/``close`` when given.

    Raises:
        ValueError: for an unknown status, a halted result without a reason,
            a reason on a result that was not halted, ``predictions`` without
            ``close`` or of another shape, or a row count that is not the
            equity's length.
    """

    equity: pd.Series
    fills: pd.DataFrame
    closed_trades: pd.DataFrame
    gross_exposure: pd.Series
    status: str = "ok"
    halt_reason: str = ""
    predictions: np.ndarray | None = None
    close: np.ndarray | None = None
    horizon_bars: int = 1
    prediction_quality: Mapping[str, float | int | str | None] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(
                f"ContenderResult.status must be one of {sorted(STATUSES)}, got {self.status!r}"
            )
        if self.status == "halted" and not self.halt_reason:
            raise ValueError("ContenderResult: a halted contender needs a halt_reason")
        if self.status == "ok" and self.halt_reason:
            raise ValueError(
                f"ContenderResult: halt_reason {self.halt_reason!r} given but status is 'ok'"
            )
        if self.predictions is not None:
            if self.close is None:
                raise ValueError("ContenderResult: predictions need the close array [T, S] to be scored")
            p, c = np.shape(self.predictions), np.shape(self.close)
            if p != c or len(p) != 2 or p[0] != len(self.equity):
                raise ValueError(
                    f"ContenderResult: predictions {p} and close {c} must both be [T, S] with "
                    f"T = {len(self.equity)} equity bars"
                )

    def quality(self) -> dict[str, float | None]:
        """The leaderboard's prediction-quality values (``ic``, ``rank_ic``, ``icir``,
        ``hit_rate``): from ``prediction_quality`` when given, else computed from
        ``predictions`` and ``close``; all None for a contender that does not predict."""
        q = self.prediction_quality
        if q is None and self.predictions is not None and self.close is not None:  # both or neither
            q = prediction_quality(self.predictions, self.close, self.horizon_bars)
        if q is None:
            return dict.fromkeys(QUALITY_KEYS)
        return {k: json_float(q.get(k)) for k in QUALITY_KEYS}  # type: ignore[arg-type]  # numbers or None


def returns_matrix(
    per_contender: Mapping[str, ContenderResult],
    risk_free_rate: float = 0.0,
    periods_per_year: float = 252.0,
) -> pd.DataFrame:
    """Per-bar excess returns of every contender, aligned on the union of bars.

    A bar on which a contender has no equity mark (it started later, or its
    series stops after a halt) counts as a 0 raw return for it: no mark, no
    change in equity. The per-bar risk-free rate
    (:func:`~arena.metrics.performance.per_bar_risk_free`) is then subtracted.

    Args:
        per_contender: contender name → result.
        risk_free_rate: annual risk-free rate (fraction).
        periods_per_year: bars per year, used to de-annualize ``risk_free_rate``.

    Returns:
        DataFrame[bar timestamp × contender name] of excess returns (fraction),
        columns in ``per_contender`` order.

    Raises:
        ValueError: if an equity curve is invalid (naming the contender).
    """
    rf_bar = per_bar_risk_free(risk_free_rate, periods_per_year)
    columns: dict[str, pd.Series] = {}
    for name, result in per_contender.items():
        try:
            columns[name] = bar_returns(result.equity)
        except ValueError as exc:
            raise ValueError(f"contender {name!r}: {exc}") from None
    if not columns:
        return pd.DataFrame()
    frame = pd.concat(columns, axis=1, join="outer").sort_index()
    return frame.fillna(0.0) - rf_bar


def run_stats(
    per_contender: Mapping[str, ContenderResult],
    periods_per_year: float,
    risk_free_rate: float = 0.0,
    n_partitions: int = 16,
) -> dict[str, float | int | str | None]:
    """Run-level multiple-testing statistics.

    Args:
        per_contender: contender name → result.
        periods_per_year: bars per year.
        risk_free_rate: annual risk-free rate (fraction).
        n_partitions: CSCV blocks requested (even; lowered for short runs).

    Returns:
        ``{"pbo": float | None, "n_trials": int, "pbo_combinations": int,
        "pbo_partitions": int, "pbo_bars": int, "pbo_reason": str}`` where
        ``pbo`` is :func:`~arena.metrics.overfitting.probability_of_backtest_overfitting`
        over the contenders' excess-return matrix (:func:`returns_matrix`),
        ``n_trials`` the number of contenders, ``pbo_bars`` the matrix's rows
        and ``pbo_reason`` why ``pbo`` is None ("" otherwise).

    Raises:
        ValueError: for invalid inputs (see :func:`returns_matrix`).
    """
    matrix = returns_matrix(per_contender, risk_free_rate, periods_per_year)
    return _pbo_stats(matrix, len(per_contender), n_partitions)


def _pbo_stats(
    matrix: pd.DataFrame, n_trials: int, n_partitions: int
) -> dict[str, float | int | str | None]:
    result = probability_of_backtest_overfitting(
        matrix.to_numpy(dtype="float64").reshape(len(matrix), n_trials),
        n_partitions=n_partitions,
    )
    return {
        "pbo": json_float(result.pbo),
        "n_trials": n_trials,
        "pbo_combinations": result.n_combinations,
        "pbo_partitions": result.n_partitions,
        "pbo_bars": result.n_observations,
        "pbo_reason": result.reason,
    }


def build_leaderboard(
    per_contender: Mapping[str, ContenderResult],
    periods_per_year: float,
    risk_free_rate: float = 0.0,
    n_partitions: int = 16,
) -> list[dict[str, float | int | str | None]]:
    """The leaderboard: one JSON-safe row per contender, best Sharpe first.

    Each row: ``contender``, ``rank`` (1 = best), ``status``, ``halt_reason``,
    every key of :data:`~arena.metrics.performance.METRIC_KEYS`, ``dsr``,
    ``pbo`` and the prediction quality ``ic``, ``rank_ic``, ``icir``,
    ``hit_rate`` (:meth:`ContenderResult.quality`; None for contenders that do
    not predict). ``dsr`` is the Deflated Sharpe Ratio of the contender's excess
    returns with ``N`` = number of contenders and the trials' per-bar Sharpe
    ratios (a contender with fewer than 3 bars enters as Sharpe 0). ``pbo`` is
    the run-level value of :func:`run_stats`, repeated on every row.

    Rows are sorted by ``sharpe`` descending (None last), ties by contender
    name. No value is NaN or ±inf: undefined or infinite values are None.

    Args:
        per_contender: contender name → result.
        periods_per_year: bars per year (see
            :func:`~arena.metrics.performance.periods_per_year`).
        risk_free_rate: annual risk-free rate (fraction).
        n_partitions: CSCV blocks requested for the PBO.

    Returns:
        A list of row dicts (empty when there are no contenders).

    Raises:
        ValueError: naming the contender, for any invalid input.
    """
    return leaderboard_and_stats(per_contender, periods_per_year, risk_free_rate, n_partitions)[0]


def leaderboard_and_stats(
    per_contender: Mapping[str, ContenderResult],
    periods_per_year: float,
    risk_free_rate: float = 0.0,
    n_partitions: int = 16,
    *,
    benchmark: str | None = None,
    rank_by: str = "sharpe",
    seed: int = 0,
    prior_trial_sharpes: Mapping[str, float] | None = None,
    trial_ids: Mapping[str, str] | None = None,
    bootstrap_reps: int = DEFAULT_REPS,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """:func:`build_leaderboard` and :func:`run_stats` in one pass: the returns matrix and
    the PBO (the costly part, CSCV over every combination of blocks) are computed once.

    Besides those of :func:`build_leaderboard`, each row carries:

    * ``rank_by`` and ``benchmark`` (the run's choices, repeated on every row);
    * against the benchmark's returns on the contender's bars,
      :func:`~arena.metrics.relative.benchmark_relative` (``excess_return``, ``alpha``,
      ``beta``, ``tracking_error``, ``information_ratio``, ``up_capture``,
      ``down_capture``; None without a benchmark), and
      :func:`~arena.metrics.relative.tail_risk` (``var_95``, ``cvar_95``),
      :func:`~arena.metrics.relative.trade_stats` (``avg_trade_bars``, ``expectancy``),
      ``calendar`` (:func:`~arena.metrics.relative.calendar_returns`);
    * :func:`~arena.metrics.significance.significance_tests` over the excess-return
      matrix: the run's ``spa_pvalue`` and ``reality_check_pvalue`` (repeated),
      ``beats_benchmark`` (StepM: 1/0, None for the benchmark itself), ``in_mcs`` (1/0)
      and ``mcs_pvalue``;
    * ``n_trials`` (contenders of the run), ``dsr_all`` and ``n_trials_all``: the DSR with
      the per-bar Sharpe ratios of every distinct trial recorded on the data
      (``prior_trial_sharpes``) and of this run's (``trial_ids``), this run's values
      replacing earlier ones of the same trial.

    Rows are sorted by ``rank_by`` descending (None last), ties by contender name.

    Args:
        per_contender, periods_per_year, risk_free_rate, n_partitions: as for
            :func:`build_leaderboard`.
        benchmark: the benchmark contender's name; None = no benchmark.
        rank_by: a key of :data:`RANK_KEYS`.
        seed: seed of the bootstrap tests.
        prior_trial_sharpes: trial id → per-bar Sharpe of trials recorded earlier on the
            same data set (:func:`arena.trials.trial_sharpes`); None = none.
        trial_ids: contender → its trial id (:func:`arena.trials.trial_id`); None = each
            contender is a trial of its own.
        bootstrap_reps: replications of each bootstrap test.

    Returns:
        ``(rows, stats)``: ``stats`` as :func:`run_stats` gives it, plus ``rank_by``,
        ``benchmark``, ``spa_pvalue``, ``reality_check_pvalue``, ``significance_reason``,
        ``significance_size``, ``significance_reps`` and ``n_trials_all``.

    Raises:
        ValueError: naming the contender, for any invalid input; for an unknown
            ``rank_by`` or a ``benchmark`` that is not a contender.
    """
    if rank_by not in RANK_KEYS:
        raise ValueError(f"rank_by must be one of {', '.join(RANK_KEYS)}, got {rank_by!r}")
    if benchmark is not None and benchmark not in per_contender:
        raise ValueError(
            f"benchmark {benchmark!r} is not a scored contender; contenders: {', '.join(map(str, per_contender))}"
        )
    for name in per_contender:
        if not isinstance(name, str) or not name:
            raise ValueError(f"contender names must be non-empty strings, got {name!r}")
    matrix = returns_matrix(per_contender, risk_free_rate, periods_per_year)
    stats = _pbo_stats(matrix, len(per_contender), n_partitions)

    rows: list[dict[str, Any]] = []
    excess: dict[str, np.ndarray] = {}
    for name, result in per_contender.items():
        try:
            metrics = contender_metrics(
                result.equity,
                result.fills,
                result.closed_trades,
                result.gross_exposure,
                periods_per_year,
                risk_free_rate,
            )
        except ValueError as exc:
            raise ValueError(f"contender {name!r}: {exc}") from None
        excess[name] = matrix[name].loc[result.equity.index[1:]].to_numpy(dtype="float64")
        rows.append(
            {
                "contender": name,
                "rank": 0,
                "status": result.status,
                "halt_reason": result.halt_reason,
                **metrics,
                **_quality(name, result),
            }
        )

    trial_sharpes = [_trial_sharpe(r) for r in excess.values()]
    ids = trial_ids or {name: f"contender:{name}" for name in per_contender}
    all_sharpes = {**(prior_trial_sharpes or {}), **{ids[name]: _trial_sharpe(r) for name, r in excess.items()}}
    rf_bar = per_bar_risk_free(risk_free_rate, periods_per_year)
    tests = significance_tests(matrix, benchmark, seed=seed, reps=bootstrap_reps)
    for row in rows:
        name = str(row["contender"])
        result = per_contender[name]
        row["dsr"] = json_float(deflated_sharpe_ratio(excess[name], trial_sharpes))
        row["pbo"] = stats["pbo"]
        row["dsr_all"] = json_float(deflated_sharpe_ratio(excess[name], list(all_sharpes.values())))
        row["n_trials"] = len(per_contender)
        row["n_trials_all"] = len(all_sharpes)
        row["rank_by"], row["benchmark"] = rank_by, benchmark
        raw = excess[name] + rf_bar
        bench = None if benchmark is None else matrix[benchmark].loc[result.equity.index[1:]].to_numpy() + rf_bar
        row.update(_relative(raw, bench, periods_per_year, rf_bar))
        row.update(tail_risk(raw))
        row.update(trade_stats(result.closed_trades, pd.DatetimeIndex(result.equity.index)))
        row.update(_tested(name, tests))
        row["calendar"] = calendar_returns(result.equity)
    stats.update(
        rank_by=rank_by, benchmark=benchmark, spa_pvalue=tests.spa_pvalue,
        reality_check_pvalue=tests.reality_check_pvalue, significance_reason=tests.reason,
        significance_size=tests.size, significance_reps=tests.reps, n_trials_all=len(all_sharpes),
    )

    rows.sort(key=lambda row: _sort_key(row, rank_by))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows, stats


def _relative(
    returns: np.ndarray, bench: np.ndarray | None, ppy: float, rf_bar: float
) -> dict[str, float | None]:
    if bench is None:
        return benchmark_relative(np.empty(0), np.empty(0), ppy, rf_bar)
    return benchmark_relative(returns, bench, ppy, rf_bar)


def _tested(name: str, tests: Significance) -> dict[str, Any]:
    beats = tests.beats_benchmark.get(name)
    in_mcs = tests.in_mcs.get(name)
    return {
        "spa_pvalue": tests.spa_pvalue,
        "reality_check_pvalue": tests.reality_check_pvalue,
        "beats_benchmark": None if beats is None else int(beats),
        "in_mcs": None if in_mcs is None else int(in_mcs),
        "mcs_pvalue": json_float(tests.mcs_pvalue.get(name)),
    }


def _quality(name: str, result: ContenderResult) -> dict[str, float | None]:
    try:
        return result.quality()
    except ValueError as exc:
        raise ValueError(f"contender {name!r}: {exc}") from None


def _trial_sharpe(returns: np.ndarray) -> float:
    sharpe = sharpe_per_bar(returns)
    return 0.0 if math.isnan(sharpe) else sharpe


def _sort_key(row: Mapping[str, object], rank_by: str = "sharpe") -> tuple[bool, float, str]:
    value = row.get(rank_by)
    descending = -float(value) if isinstance(value, int | float) else 0.0
    return (value is None, descending, str(row["contender"]))
