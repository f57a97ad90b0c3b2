"""The terminal where a new user tripped: a leaderboard that fits 100 columns, run ids never
cut, decision ids listed, exports, --version, -h, --log-level, and `arena run` saying how to
look at the run."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import arena.cli as cli
from arena.cli import app

runner = CliRunner()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.ray
def test_leaderboard_fits_100_columns_and_says_what_it_ranks_by(recorded_run, monkeypatch):
    monkeypatch.setattr(cli.out, "width", 100)
    res = runner.invoke(app, ["leaderboard", recorded_run.run_id, "--store", recorded_run.store])
    assert res.exit_code == 0, res.output
    lines = _lines(res.stdout)
    assert max(len(line) for line in lines) <= 100
    assert "…" not in res.stdout
    head = next(line for line in lines if "contender" in line)
    for col in ("#", "return", "Sharpe", "Sortino", "max DD", "trades", "PSR", "DSR"):
        assert col in head
    assert "CAGR" not in head
    flat = " ".join(lines)
    assert "ranked by annualized Sharpe ratio" in flat and "bench is the buy-and-hold benchmark" in flat
    for row in recorded_run.run.leaderboard.itertuples():
        assert any(line.split()[:2] == [str(row.rank), row.contender] for line in lines)
    monkeypatch.setattr(cli.out, "width", 160)
    wide = runner.invoke(app, ["leaderboard", recorded_run.run_id, "--store", recorded_run.store, "--wide"])
    assert "CAGR" in wide.stdout and "turnover" in wide.stdout and "--wide: all columns" not in wide.stdout


@pytest.mark.ray
def test_runs_never_cut_a_run_id(recorded_run, monkeypatch):
    monkeypatch.setattr(cli.out, "width", 60)
    res = runner.invoke(app, ["runs", "--store", recorded_run.store])
    assert res.exit_code == 0, res.output
    assert recorded_run.run_id in res.stdout and max(len(line) for line in _lines(res.stdout)) <= 60


@pytest.mark.ray
def test_decisions_lists_ids_that_why_explains(recorded_run):
    base = ["decisions", recorded_run.run_id, "--store", recorded_run.store]
    rows = json.loads(runner.invoke(app, [*base, "--contender", "sma_10_30", "--limit", "3", "--json"]).stdout)
    assert len(rows) == 3 and {r["contender"] for r in rows} == {"sma_10_30"}
    table = runner.invoke(app, [*base, "--contender", "sma_10_30", "--limit", "3"])
    assert table.exit_code == 0 and all(r["decision_id"] in table.stdout for r in rows)
    assert "more with --offset 3" in table.stdout
    why = runner.invoke(app, ["why", rows[0]["decision_id"], "--store", recorded_run.store])
    assert why.exit_code == 0 and rows[0]["decision_id"] in why.stdout
    on = json.loads(runner.invoke(app, [*base, "--symbol", "MSFT", "--limit", "50", "--json"]).stdout)
    assert on and all("MSFT" in r["symbols"] for r in on)
    bad = runner.invoke(app, [*base, "--contender", "nobody"])
    assert bad.exit_code == 2 and "no contender 'nobody'" in bad.output


@pytest.mark.ray
def test_exports_equal_the_notebook_frames(recorded_run, tmp_path):
    run = recorded_run.run
    base = [recorded_run.run_id, "--store", recorded_run.store]
    assert runner.invoke(app, ["trades", *base, "--csv", str(tmp_path / "t.csv")]).exit_code == 0
    trades = pd.read_csv(tmp_path / "t.csv")
    assert len(trades) == int(run.leaderboard["trades"].sum())
    assert list(trades["pnl"]) == pytest.approx(list(run.trades["pnl"]), rel=1e-15)
    assert runner.invoke(app, ["fills", *base, "--parquet", str(tmp_path / "f.parquet")]).exit_code == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet"), run.fills, check_dtype=False)
    assert runner.invoke(app, ["equity", *base, "--parquet", str(tmp_path / "e.parquet")]).exit_code == 0
    eq = pd.read_parquet(tmp_path / "e.parquet")
    assert len(eq) == run.equity.notna().sum().sum() and set(eq.columns) >= {"ts", "contender", "equity", "cash"}
    both = runner.invoke(app, ["fills", *base, "--csv", "a.csv", "--parquet", "b.parquet"])
    assert both.exit_code == 2 and "exactly one of --csv FILE or --parquet FILE" in both.output


def test_version_help_alias_and_log_level(monkeypatch):
    import arena

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"model-arena {arena.__version__}"
    assert runner.invoke(app, ["-h"]).exit_code == 0 and "--log-level" in runner.invoke(app, ["-h"]).stdout
    assert "--wide" in runner.invoke(app, ["leaderboard", "-h"]).stdout
    for var in ("RAY_LOGGER_LEVEL", "RAY_SERVE_LOG_TO_STDERR"):
        monkeypatch.setenv(var, "unset")
    res = runner.invoke(app, ["-q", "data", "list", "--json"])
    assert res.exit_code == 0
    assert os.environ["RAY_LOGGER_LEVEL"] == "error" and os.environ["RAY_SERVE_LOG_TO_STDERR"] == "0"
    runner.invoke(app, ["-vv", "data", "list", "--json"])
    assert os.environ["RAY_LOGGER_LEVEL"] == "debug" and "RAY_SERVE_LOG_TO_STDERR" not in os.environ
    runner.invoke(app, ["--log-level", "INFO", "data", "list", "--json"])
    assert os.environ["RAY_LOGGER_LEVEL"] == "info"
    bad = runner.invoke(app, ["--log-level", "loud", "data", "list"])
    assert bad.exit_code == 2 and "--log-level: expected one of debug, info, warning, error" in bad.output
    import logging

    logging.getLogger().setLevel(logging.WARNING)


@pytest.mark.ray
def test_run_ends_by_saying_how_to_look_at_the_run(ray_session, tmp_path):
    store = f"duckdb://{tmp_path / 'a.duckdb'}"
    cfg = {
        "name": "look", "data": {"source": "sample", "name": "us_equities_daily", "since": "2017-06-01"},
        "contenders": [{"name": "bench", "class": "buy_and_hold"}], "store": store,
        "artifacts": str(tmp_path / "artifacts"),
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    res = runner.invoke(app, ["run", str(tmp_path / "c.yaml")])
    assert res.exit_code == 0, res.output
    run_id = json.loads(runner.invoke(app, ["runs", "--store", store, "--json"]).stdout)[0]["run_id"]
    assert f"arena serve --store {store}" in res.stdout and "http://127.0.0.1:8000/" in res.stdout
    assert f"arena report {run_id} --store {store}" in res.stdout
    assert f"arena plot {run_id} --store {store}" in res.stdout
    assert "bench is the buy-and-hold benchmark" in " ".join(_lines(res.stdout))
