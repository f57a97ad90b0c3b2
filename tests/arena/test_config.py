"""Config-time warnings: what a valid config asks for but the arena will not do."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner

from arena.cli import app
from arena.config import config_warnings, parse_config

_BASE = {
    "name": "warn",
    "data": {"source": "sample", "name": "us_equities_daily"},
    "contenders": [
        {"name": "bench", "class": "buy_and_hold"},
        {"name": "lgbm", "class": "lightgbm", "params": {"long_only": False}},
        {"name": "sma", "class": "sma_crossover", "params": {"allow_short": True}},
    ],
}


def test_shorts_asked_for_without_allow_short_are_warned_per_contender():
    found = config_warnings(parse_config(_BASE))
    assert len(found) == 2
    assert found[0].startswith("contenders[1] (lgbm): params.long_only is false")
    assert found[1].startswith("contenders[2] (sma): params.allow_short is true")
    assert all("execution.allow_short" in w and "SHORT_NOT_ALLOWED" in w for w in found)


def test_no_warning_when_the_execution_allows_shorts_or_none_are_asked_for():
    assert config_warnings(parse_config({**_BASE, "execution": {"allow_short": True}})) == []
    plain = {**_BASE, "contenders": [{"name": "lgbm", "class": "lightgbm", "params": {"long_only": True}}]}
    assert config_warnings(parse_config(plain)) == []


def test_arena_run_prints_the_warning_before_anything_starts(tmp_path):
    cfg = {**_BASE, "data": {"source": "csv", "path": str(tmp_path / "missing.csv"), "symbol": "X"},
           "store": f"duckdb://{tmp_path / 'w.duckdb'}"}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(app, ["run", str(path)], terminal_width=400)
    assert res.exit_code == 2  # the missing file stops it before Ray; the warning came first
    assert "warning:" in res.output and "contenders[1] (lgbm): params.long_only is false" in res.output
