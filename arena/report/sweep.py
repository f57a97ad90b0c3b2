"""A sweep's heat map: one leaderboard metric over two swept parameters.

The points of a sweep (:mod:`arena.sweep`) are the contenders of a run's stored config with
the same ``sweep_group``; the two parameters are those whose values vary among them (or the
two named). ``arena plot RUN_ID --sweep GROUP --metric sharpe`` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["sweep_figure", "sweep_grid", "sweep_groups"]


def sweep_groups(config: Mapping[str, Any]) -> list[str]:
    """The sweep groups of a run's stored config, in config order."""
    seen: dict[str, None] = {}
    for c in config.get("contenders") or []:
        if isinstance(c, Mapping) and c.get("sweep_group"):
            seen.setdefault(str(c["sweep_group"]), None)
    return list(seen)


def sweep_grid(
    config: Mapping[str, Any],
    leaderboard: Sequence[Mapping[str, Any]],
    group: str,
    metric: str,
    params: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """The metric of every point of a sweep, as a grid.

    Args:
        config: the run's stored config (``runs.config``).
        leaderboard: the run's leaderboard rows (``Store.leaderboard``).
        group: the sweep's group (the entry's name).
        metric: a leaderboard key (``sharpe``, ``dsr``, ``total_return``, ...).
        params: the (rows, columns) parameters; None = the two whose values vary.

    Returns:
        DataFrame[value of params[0] × value of params[1]] of the metric (NaN where a point
        has no value, e.g. it failed), both axes sorted; ``.index.name`` and
        ``.columns.name`` are the parameters.

    Raises:
        ValueError: for an unknown group or metric, a sweep that does not vary exactly two
            params (when ``params`` is None), or a named param the sweep does not have.
    """
    points = [c for c in config.get("contenders") or [] if isinstance(c, Mapping) and c.get("sweep_group") == group]
    if not points:
        groups = sweep_groups(config)
        raise ValueError(f"no sweep {group!r} in the run; its sweeps: {', '.join(groups) or 'none'}")
    by_name = {str(r["contender"]): r for r in leaderboard}
    if leaderboard and not any(metric in r for r in leaderboard):
        raise ValueError(f"no leaderboard column {metric!r}; e.g. sharpe, sortino, dsr, total_return, excess_return")
    varying = [p for p in points[0].get("params", {}) if len({repr(c["params"].get(p)) for c in points}) > 1]
    if params is None:
        if len(varying) != 2:
            raise ValueError(
                f"sweep {group!r} varies {len(varying)} params ({', '.join(varying)}); name two to draw: --x P --y Q"
            )
        params = (varying[0], varying[1])
    for p in params:
        if p not in varying:
            raise ValueError(f"sweep {group!r} does not vary {p!r}; it varies {', '.join(varying)}")
    records = [
        {params[0]: c["params"][params[0]], params[1]: c["params"][params[1]],
         metric: by_name.get(str(c["name"]), {}).get(metric)}
        for c in points
    ]
    frame = pd.DataFrame(records)
    frame[metric] = pd.to_numeric(frame[metric], errors="coerce")
    grid = frame.pivot_table(index=params[0], columns=params[1], values=metric, aggfunc="mean", dropna=False)
    return grid.sort_index().sort_index(axis=1)


def sweep_figure(grid: pd.DataFrame, metric: str, title: str | None = None,
                 width_in: float = 7.0, height_in: float = 5.0) -> Figure:
    """A heat map of :func:`sweep_grid`'s grid, each cell labelled with its value.

    Args:
        grid: DataFrame[param value × param value] of the metric.
        metric: the metric's name (colour bar label).
        title: the figure's title; None for none.
        width_in / height_in: size (inches).
    """
    from matplotlib.figure import Figure  # here: the API imports this module for its grids only

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    ax = fig.subplots()
    values = grid.to_numpy(dtype="float64")
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto", origin="lower")
    ax.set_xticks(range(grid.shape[1]), [str(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(v) for v in grid.index])
    ax.set_xlabel(str(grid.columns.name))
    ax.set_ylabel(str(grid.index.name))
    finite = values[np.isfinite(values)]
    middle = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = values[i, j]
            text = "–" if not np.isfinite(v) else f"{v:.2f}"
            ax.text(j, i, text, ha="center", va="center", color="white" if np.isfinite(v) and v < middle else "black")
    fig.colorbar(image, ax=ax, label=metric)
    if title:
        ax.set_title(title)
    return fig
