"""The sweep heat map's grid: a metric over the two swept params of a run's config."""

from __future__ import annotations

import math

import pytest

from arena.config import parse_config
from arena.report.plot import figure_svg
from arena.report.sweep import sweep_figure, sweep_grid, sweep_groups


def _config() -> dict:
    raw = {"name": "t", "data": {"source": "synthetic"},
           "contenders": [{"name": "bench", "class": "buy_and_hold"},
                          {"name": "sma", "class": "sma_crossover",
                           "sweep": {"fast": [5, 10], "slow": [50, 100, 200]}}]}
    return parse_config(raw).to_dict()


def _rows(config: dict) -> list[dict]:
    rows = [{"contender": c["name"], "sharpe": c["params"].get("fast", 0) / 10 + c["params"].get("slow", 0) / 1000}
            for c in config["contenders"]]
    rows[-1]["sharpe"] = None  # a point without a value (it failed)
    return rows


def test_the_grid_holds_each_points_metric() -> None:
    config = _config()
    assert sweep_groups(config) == ["sma"]
    grid = sweep_grid(config, _rows(config), "sma", "sharpe")
    assert (grid.index.name, grid.columns.name) == ("fast", "slow")
    assert list(grid.index) == [5, 10] and list(grid.columns) == [50, 100, 200]
    assert grid.loc[5, 100] == pytest.approx(0.6)
    assert math.isnan(grid.loc[10, 200])
    flipped = sweep_grid(config, _rows(config), "sma", "sharpe", ("slow", "fast"))
    assert flipped.loc[100, 5] == pytest.approx(0.6)
    assert "<svg" in figure_svg(sweep_figure(grid, "sharpe", title="sma"))


def test_unknown_sweeps_params_and_metrics_are_named() -> None:
    config = _config()
    with pytest.raises(ValueError, match="no sweep 'x'.*its sweeps: sma"):
        sweep_grid(config, _rows(config), "x", "sharpe")
    with pytest.raises(ValueError, match="no leaderboard column 'luck'"):
        sweep_grid(config, _rows(config), "sma", "luck")
    with pytest.raises(ValueError, match="does not vary 'period'"):
        sweep_grid(config, _rows(config), "sma", "sharpe", ("fast", "period"))


def test_the_report_maps_each_sweep_by_the_runs_ranking() -> None:
    from arena.report.html import _sweep_maps

    config = _config()
    rows = [{**r, "rank_by": "sharpe"} for r in _rows(config)]
    (sma,) = _sweep_maps(config, rows)
    assert (sma["group"], sma["metric"], sma["note"]) == ("sma", "sharpe", "")
    assert "<svg" in sma["svg"]
