"""Walk-forward evaluation: the arena on K consecutive out-of-sample folds.

The data's bar timeline (``T`` bars, after the config's own ``since``/``until``)
is split as follows, with ``W`` = the largest ``warmup_bars`` among the
contenders::

    bar  0 ........ W ............................................ T
         [warm-up ] [ fold 0 ][ fold 1 ] ... [ fold K-1 ]
                    ^ the T - W out-of-sample bars, K consecutive, non-overlapping folds

Fold ``k`` is its own arena run (``arena.topology.run_arena``, run id
``<name>-wf<k>-<stamp>-<hex>``, same store) on the bars
``[start_k − W, end_k)``: the ``W`` bars before the fold are every contender's
warm-up (each contender's ``warmup_bars`` is set to ``W``), used only to fit,
never traded, so every fold trades only its own out-of-sample bars. A fold's
data is restricted with the data spec's ``since``/``until``
(:mod:`arena.data.window`), and the fold's index and bounds are recorded in the
run's stored config under ``walkforward``.

Scores: each fold's leaderboard is its run's own leaderboard, which the arena
computes over the traded bars only (the equity curve from the close of the last
warm-up bar, :func:`arena.topology.run_arena`), so the flat warm-up does not
dilute Sharpe or volatility. IC and hit rate score only predictions whose horizon
ends inside the fold. The aggregate per contender is the mean and standard
deviation (``ddof=1``; None with one fold) across folds of ``sharpe``,
``total_return``, ``max_drawdown``, ``ic`` and ``hit_rate`` (folds where a value
is None are left out of its mean), and the number of folds it won (rank 1).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from arena.config import ArenaConfig

__all__ = [
    "AGGREGATE_METRICS",
    "Fold",
    "WalkForwardResult",
    "aggregate",
    "fold_config",
    "plan_folds",
    "run_walkforward",
]

AGGREGATE_METRICS: tuple[str, ...] = ("sharpe", "total_return", "max_drawdown", "ic", "hit_rate")
"""Leaderboard values averaged across folds."""

FoldProgress = Callable[[int, int, "Fold"], None]


@dataclass(frozen=True, slots=True)
class Fold:
    """One out-of-sample fold, in bar indices of the whole timeline.

    Attributes:
        index: 0-based fold number.
        data_first_bar: first bar of the fold run's data (``first_bar − warmup_bars``).
        first_bar: first out-of-sample (traded) bar.
        stop_bar: one past the last out-of-sample bar.
        warmup_bars: bars before ``first_bar`` used only for fitting.
        since: timestamp of ``data_first_bar`` (ISO 8601, UTC): the run's data ``since``.
        trade_since: timestamp of ``first_bar`` (ISO 8601, UTC).
        until: timestamp of ``stop_bar − 1`` (ISO 8601, UTC): the run's data ``until``.
    """

    index: int
    data_first_bar: int
    first_bar: int
    stop_bar: int
    warmup_bars: int
    since: str
    trade_since: str
    until: str

    @property
    def n_bars(self) -> int:
        """Out-of-sample bars in the fold."""
        return self.stop_bar - self.first_bar


@dataclass
class WalkForwardResult:
    """What ``run_walkforward`` returns.

    Attributes:
        walkforward_id: ``<stamp>-<hex>``, shared by the folds' run ids.
        folds: per fold: ``{"fold": Fold fields, "run_id", "status", "failed":
            [contenders that failed in the run, so have no row], "leaderboard":
            [out-of-sample leaderboard rows, best first]}``.
        aggregate: per contender (best mean Sharpe first): ``contender``, ``folds``
            (folds it finished), ``folds_won``, and ``<metric>_mean`` /
            ``<metric>_std`` for each of :data:`AGGREGATE_METRICS`.
    """

    walkforward_id: str
    folds: list[dict[str, Any]] = field(default_factory=list)
    aggregate: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{"walkforward_id", "folds", "aggregate"}``."""
        return {"walkforward_id": self.walkforward_id, "folds": self.folds, "aggregate": self.aggregate}


def plan_folds(timestamps_ns: np.ndarray, n_folds: int, warmup_bars: int, min_fold_bars: int = 3) -> list[Fold]:
    """Split a bar timeline into ``n_folds`` consecutive out-of-sample folds after a warm-up.

    The ``T − warmup_bars`` bars after the first ``warmup_bars`` are cut into
    ``n_folds`` consecutive parts whose sizes differ by at most one bar.

    Args:
        timestamps_ns: int64 ``[T]`` bar timestamps (ns since the Unix epoch, UTC), increasing.
        n_folds: number of folds ``K``, integer >= 1.
        warmup_bars: ``W``, bars before each fold used only for fitting, >= 0.
        min_fold_bars: fewest out-of-sample bars a fold may have, >= 2.

    Returns:
        ``K`` folds, in time order.

    Raises:
        ValueError: ``n_folds`` < 1, or the bars do not fit (the message gives ``T``,
            ``W``, ``K`` and the bars a fold would get).
    """
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 1:
        raise ValueError(f"--folds must be an integer >= 1, got {n_folds!r}")
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    t, w = len(ts), int(warmup_bars)
    oos = t - w
    if oos < n_folds * min_fold_bars:
        raise ValueError(
            f"cannot split {t} bars into {n_folds} walk-forward folds: the {w}-bar warm-up leaves {max(oos, 0)} "
            f"out-of-sample bars, and {n_folds} folds need at least {n_folds} × {min_fold_bars} = "
            f"{n_folds * min_fold_bars} (use fewer folds, more data, or a shorter warm-up)"
        )
    bounds = [w + (i * oos) // n_folds for i in range(n_folds + 1)]
    return [
        Fold(
            index=k,
            data_first_bar=lo - w,
            first_bar=lo,
            stop_bar=hi,
            warmup_bars=w,
            since=_iso(ts[lo - w]),
            trade_since=_iso(ts[lo]),
            until=_iso(ts[hi - 1]),
        )
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))
    ]


def fold_config(cfg: ArenaConfig, fold: Fold) -> ArenaConfig:
    """The config of one fold run: the data restricted to the fold's bars (warm-up
    included) and every contender's ``warmup_bars`` set to the fold's warm-up."""
    data = cfg.data.model_copy(update={"since": fold.since, "until": fold.until})
    contenders = [c.model_copy(update={"warmup_bars": fold.warmup_bars}) for c in cfg.contenders]
    return cfg.model_copy(update={"data": data, "contenders": contenders})


def run_walkforward(
    cfg: ArenaConfig,
    n_folds: int,
    *,
    min_fold_bars: int = 3,
    on_fold: FoldProgress | None = None,
) -> WalkForwardResult:
    """Run the arena on ``n_folds`` out-of-sample folds (see module docstring).

    Args:
        cfg: a validated config; its data (within its own ``since``/``until``) is split.
        n_folds: number of folds, >= 1.
        min_fold_bars: fewest out-of-sample bars a fold may have.
        on_fold: called as ``on_fold(k, n_folds, fold)`` before fold ``k`` runs.

    Returns:
        The per-fold leaderboards and the aggregate per contender.

    Raises:
        ValueError: the folds do not fit the data (see :func:`plan_folds`).
        arena.data errors: the data source cannot be loaded or fails validation.
    """
    from arena.data import source_from_spec, to_panel
    from arena.topology import run_arena

    panel = to_panel(source_from_spec(cfg.data.model_dump(), cfg.base_dir).load())
    warmup = max(c.warmup_bars for c in cfg.contenders)
    folds = plan_folds(panel.timestamps, n_folds, warmup, min_fold_bars)
    wf_id = f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    out = WalkForwardResult(walkforward_id=wf_id)
    for fold in folds:
        if on_fold is not None:
            on_fold(fold.index, len(folds), fold)
        provenance = {"walkforward": {"id": wf_id, "n_folds": len(folds), **asdict(fold)}}
        run = run_arena(fold_config(cfg, fold), run_id=f"{cfg.name}-wf{fold.index}-{wf_id}", provenance=provenance)
        rows = run.leaderboard  # scored from the close of the last warm-up bar (arena.topology)
        failed = sorted(c.name for c in cfg.contenders if c.name not in run.contenders)
        out.folds.append({"fold": asdict(fold), "run_id": run.run_id, "status": run.status, "failed": failed,
                          "leaderboard": rows})
    out.aggregate = aggregate([f["leaderboard"] for f in out.folds])
    return out


def aggregate(fold_leaderboards: Sequence[Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Mean and std across folds per contender (see module docstring).

    Args:
        fold_leaderboards: one leaderboard (rows with ``contender``, ``rank`` and the
            :data:`AGGREGATE_METRICS`) per fold.

    Returns:
        One row per contender: ``contender``, ``folds``, ``folds_won`` and
        ``<metric>_mean``/``<metric>_std``; best ``sharpe_mean`` first (None last),
        ties by name.
    """
    values: dict[str, dict[str, list[float]]] = {}
    won: dict[str, int] = {}
    present: dict[str, int] = {}
    for rows in fold_leaderboards:
        for fold_row in rows:
            name = str(fold_row["contender"])
            present[name] = present.get(name, 0) + 1
            won[name] = won.get(name, 0) + (fold_row.get("rank") == 1)
            per = values.setdefault(name, {m: [] for m in AGGREGATE_METRICS})
            for m in AGGREGATE_METRICS:
                v = fold_row.get(m)
                if isinstance(v, (int, float)) and math.isfinite(v):
                    per[m].append(float(v))
    out = []
    for name, per in values.items():
        row: dict[str, Any] = {"contender": name, "folds": present[name], "folds_won": won[name]}
        for m in AGGREGATE_METRICS:
            xs = per[m]
            row[f"{m}_mean"] = float(np.mean(xs)) if xs else None
            row[f"{m}_std"] = float(np.std(xs, ddof=1)) if len(xs) >= 2 else None
        out.append(row)
    out.sort(key=lambda r: (r["sharpe_mean"] is None, -(r["sharpe_mean"] or 0.0), r["contender"]))
    return out


def _iso(ts_ns: Any) -> str:
    return pd.Timestamp(int(ts_ns), tz="UTC").isoformat()
