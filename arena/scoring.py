"""A finished run's leaderboard as its config asks for it, and its rows of the trials register.

The driver (:func:`arena.topology.run_arena`) calls :func:`score_run` once every contender
has finished: the config's ``benchmark``, ``risk_free_rate``, ``rank_by`` and ``seed`` go to
:func:`arena.metrics.leaderboard_and_stats`, and the trials recorded earlier on the same
data set (read through the recorder, the store's single writer) give the DSR's every-trial N.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arena.config import ArenaConfig
from arena.metrics import ContenderResult, leaderboard_and_stats
from arena.trials import trial_id, trial_rows, trial_sharpes

__all__ = ["OPERATIONAL_KEYS", "Scored", "operational_figures", "score_run", "store_rows"]

OPERATIONAL_KEYS: tuple[str, ...] = ("latency_p50_ms", "latency_p99_ms", "bars_missed", "halts", "restarts",
                                     "train_s")
"""Keys of :func:`operational_figures`."""


@dataclass(frozen=True, slots=True)
class Scored:
    """What :func:`score_run` returns.

    Args:
        leaderboard: rows best first (:func:`arena.metrics.leaderboard_and_stats`).
        stats: run-level statistics (PBO, SPA p-value, ranking, benchmark, trials).
        trials: the run's ``trials`` rows, one per configured contender.
    """

    leaderboard: list[dict[str, Any]]
    stats: dict[str, Any]
    trials: list[dict[str, Any]]


def score_run(
    cfg: ArenaConfig,
    per_contender: Mapping[str, ContenderResult],
    periods_per_year: float,
    *,
    run_id: str,
    data_sha256: str,
    first_bar_ns: int,
    last_bar_ns: int,
    started_at: datetime,
    prior_trials: Sequence[Mapping[str, Any]] = (),
    operational: Mapping[str, Mapping[str, Any]] | None = None,
) -> Scored:
    """Score a finished run.

    Args:
        cfg: the run's config.
        per_contender: contender → result, for the contenders that finished (failed ones
            are left out; they are still trials, with no Sharpe ratio).
        periods_per_year: bars per year.
        run_id: the run.
        data_sha256: SHA-256 of its bars.
        first_bar_ns / last_bar_ns: its first and last bar (ns, UTC).
        started_at: when it started (tz-aware).
        prior_trials: ``trials`` rows recorded before on the same data set and bar range
            (``Store.trials``); this run's own rows, if any, are ignored.
        operational: contender → its runner's raw result (``ContenderRunner.finish``), whose
            :func:`operational_figures` join its row.

    Returns:
        A :class:`Scored`. The benchmark (``cfg.resolved_benchmark``) is None when it has no result
        (it failed); ``stats["benchmark_missing"]`` then names it.

    Raises:
        ValueError: naming the contender, for an invalid result.
    """
    ids = {spec.name: trial_id(spec.class_, spec.params) for spec in cfg.contenders}
    earlier = trial_sharpes([r for r in prior_trials if r.get("run_id") != run_id])
    configured = cfg.resolved_benchmark
    benchmark = configured if configured in per_contender else None
    board: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    if per_contender:
        board, stats = leaderboard_and_stats(
            per_contender, periods_per_year, cfg.risk_free_rate, benchmark=benchmark, rank_by=cfg.rank_by,
            seed=cfg.seed, prior_trial_sharpes=earlier, trial_ids={n: ids[n] for n in per_contender},
        )
    for row in board:
        raw = (operational or {}).get(str(row["contender"]))
        if raw is not None:
            row.update(operational_figures(raw, str(row["status"])))
    if configured is not None and benchmark is None:
        stats["benchmark_missing"] = configured
    per_bar = {
        str(r["contender"]): (None if r.get("sharpe") is None else float(r["sharpe"]) / math.sqrt(periods_per_year))
        for r in board
    }
    rows = trial_rows(
        run_id, data_sha256, first_bar_ns, last_bar_ns, int(started_at.timestamp() * 1e9),
        [(spec.name, spec.class_, spec.params) for spec in cfg.contenders], per_bar,
    )
    return Scored(board, stats, rows)


def operational_figures(raw: Mapping[str, Any], status: str) -> dict[str, float | int | None]:
    """A contender's operational figures from its runner's result.

    * ``latency_p50_ms`` / ``latency_p99_ms`` (ms): median and 99th percentile (numpy's linear
      interpolation) of ``decision_ns``, the wall time in the contender's process from the
      start of a bar's step to its vetted orders (``on_bars`` plus risk vetting); None with no
      decision.
    * ``bars_missed`` (bars): bars after the contender was halted, not decided on.
    * ``halts``: 1 when it ended halted (by the risk guardian or its own error), else 0.
    * ``restarts``: times its actor was restarted after a crash and restored from a snapshot
      (config ``recovery``).
    * ``train_s`` (s): seconds in its ``fit`` before trading; None for a contender that does
      not fit (0 s).

    Args:
        raw: ``ContenderRunner.finish()``'s dict.
        status: the contender's final status (``ok`` | ``halted``).
    """
    import numpy as np

    ns = np.asarray(raw.get("decision_ns") or [], dtype="float64")
    fit_s = float((raw.get("timings_s") or {}).get("fit", 0.0))
    return {
        "latency_p50_ms": float(np.percentile(ns, 50)) / 1e6 if ns.size else None,
        "latency_p99_ms": float(np.percentile(ns, 99)) / 1e6 if ns.size else None,
        "bars_missed": int(raw.get("bars_missed") or 0),
        "halts": int(status == "halted"),
        "restarts": int(raw.get("restarts") or 0),
        "train_s": fit_s if fit_s > 0.0 else None,
    }


def store_rows(run_id: str, last_bar_ns: int, leaderboard: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``leaderboard`` table's rows of a run: each leaderboard row with ``run_id`` and
    ``ts`` (the last bar), its ``calendar`` under the column ``calendar_json``."""
    out = []
    for row in leaderboard:
        rec = {"run_id": run_id, "ts": int(last_bar_ns), **{k: v for k, v in row.items() if k != "calendar"}}
        if row.get("calendar") is not None:
            rec["calendar_json"] = row["calendar"]
        out.append(rec)
    return out
