"""The trials register and sweep heat maps over HTTP: ``GET /runs/{run_id}/trials`` (every
configuration run on the run's data set) and ``GET /runs/{run_id}/sweeps`` (a metric over each
sweep's two parameters). :func:`router` is mounted by :func:`serve.api.create_app`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from arena.report.sweep import sweep_grid, sweep_groups
from serve.deps import StoreDep, run_or_404
from serve.models import ErrorBody, SweepGrid, TrialOut

__all__ = ["router"]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown run"},
    422: {"model": ErrorBody, "description": "unknown metric"},
    503: {"model": ErrorBody, "description": "store missing, unusable or busy"},
}


def router() -> APIRouter:
    """The routes of this module."""
    api = APIRouter()

    @api.get("/runs/{run_id}/trials", response_model=list[TrialOut], responses=_NOT_FOUND, tags=["runs"])
    def trials(run_id: str, store: StoreDep) -> list[dict[str, Any]]:
        """The trials register of the run's data set (its bars' SHA-256 and range), every run on it
        included, oldest first: the distinct ``trial_id`` are the N of the leaderboard's ``dsr_all``."""
        run_or_404(store, run_id)
        return store.run_trials(run_id)

    @api.get("/runs/{run_id}/sweeps", response_model=list[SweepGrid], responses=_NOT_FOUND, tags=["runs"])
    def sweeps(
        run_id: str,
        store: StoreDep,
        metric: Annotated[str | None, Query(description="leaderboard column; default: the run's rank_by")] = None,
    ) -> list[dict[str, Any]]:
        """Per sweep of the run, the metric over its two swept parameters (a heat map's grid)."""
        run = run_or_404(store, run_id)
        rows = store.leaderboard(run_id)
        config = run.get("config") or {}
        chosen = metric or next((str(r["rank_by"]) for r in rows if r.get("rank_by")), "sharpe")
        if rows and not any(chosen in r for r in rows):
            raise HTTPException(422, f"no leaderboard column {chosen!r}")
        out: list[dict[str, Any]] = []
        for group in sweep_groups(config):
            try:
                grid = sweep_grid(config, rows, group, chosen)
            except ValueError as exc:
                out.append({"group": group, "metric": chosen, "row_param": None, "col_param": None,
                            "rows": [], "columns": [], "values": [], "note": str(exc)})
                continue
            matrix = grid.to_numpy(dtype="float64")
            values = [[float(v) if math.isfinite(v) else None for v in row] for row in matrix]
            out.append({"group": group, "metric": chosen, "row_param": str(grid.index.name),
                        "col_param": str(grid.columns.name), "rows": [_plain(v) for v in grid.index],
                        "columns": [_plain(v) for v in grid.columns], "values": values, "note": ""})
        return out

    return api


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
