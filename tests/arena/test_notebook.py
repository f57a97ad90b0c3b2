"""The notebook API (``import arena``): the same figures as the CLI, clear errors, a light import."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

import arena
from arena.cli import app
from arena.notebook import OverrideError

runner = CliRunner()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b


@pytest.mark.ray
def test_leaderboard_equals_the_clis_json(recorded_run):
    run = arena.open_run(recorded_run.run_id, store=recorded_run.store)
    cli = json.loads(runner.invoke(app, ["leaderboard", run.run_id, "--store", run.store, "--json"]).stdout)
    frame = run.leaderboard
    assert list(frame["contender"]) == [r["contender"] for r in cli]
    for got, want in zip(frame.to_dict("records"), cli):
        assert set(got) == set(want)
        for key in want:
            assert _same(got[key], want[key]), (want["contender"], key, got[key], want[key])


@pytest.mark.ray
def test_equity_is_timestamp_by_contender_in_usd(recorded_run):
    run = recorded_run.run
    eq, board = run.equity, run.leaderboard.set_index("contender")
    assert isinstance(eq.index, pd.DatetimeIndex) and str(eq.index.tz) == "UTC"
    assert set(eq.columns) == set(board.index)
    assert eq.index[0] >= pd.Timestamp("2015-06-01", tz="UTC")
    for name in eq.columns:
        assert eq[name].iloc[-1] == pytest.approx(board.loc[name, "final_equity"], rel=1e-12)
    assert (run.drawdown <= 0).all().all()
    cli = runner.invoke(app, ["equity", run.run_id, "--store", run.store, "--contender", "tsmom", "--csv", "-"])
    from io import StringIO

    rows = pd.read_csv(StringIO(cli.stdout))
    assert list(rows["equity"]) == pytest.approx(list(eq["tsmom"]), rel=1e-15)


@pytest.mark.ray
def test_decisions_fills_and_why_agree_with_the_cli(recorded_run):
    run = recorded_run.run
    decisions, fills = run.decisions, run.fills
    assert decisions["decision_id"].is_unique and set(fills["decision_id"].dropna()) <= set(decisions["decision_id"])
    did = fills[fills["contender"] == "sma_10_30"]["decision_id"].iloc[-1]
    why = run.why(did)
    cli = json.loads(runner.invoke(app, ["why", did, "--store", run.store, "--json"]).stdout)
    assert json.loads(json.dumps(why, default=str)) == cli
    assert why["fills"] and why["explanation"][0]["method"] == "rule"
    with pytest.raises(KeyError, match="no decision 'nope'"):
        run.why("nope")


@pytest.mark.ray
def test_example_variables_and_plot(recorded_run):
    ns = recorded_run.namespace
    assert (recorded_run.out / "equity.png").read_bytes()[:4] == b"\x89PNG"
    fig = recorded_run.run.plot(["bench", "tsmom"], log_scale=True)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["bench (benchmark)", "tsmom"]
    assert fig.axes[0].get_yscale() == "log"
    assert ns["trades"]["pnl"].sum() == pytest.approx(recorded_run.run.trades["pnl"].sum())


def test_overrides_are_checked_before_anything_runs():
    with pytest.raises(OverrideError, match=r"unknown override 'sead'; did you mean 'seed'\?"):
        arena.run("configs/local.yaml", sead=3)
    with pytest.raises(OverrideError, match="override 'risk': expected a mapping"):
        arena.run("configs/local.yaml", risk=0.5)
    from arena.config import ConfigError

    with pytest.raises(ConfigError, match="risk.max_drawdwn: unknown key"):
        arena.run("configs/local.yaml", risk={"max_drawdwn": 0.2})


def test_overrides_merge_sections(tmp_path):
    from arena.notebook import _config

    cfg = _config("configs/local.yaml", {"seed": 3, "data": {"since": "2016-01-01"}, "risk": {"max_drawdown": 0.3},
                                         "store": f"duckdb://{tmp_path / 'x.duckdb'}"})
    assert cfg.seed == 3 and cfg.data.since is not None and cfg.data.name == "us_equities_daily"
    assert cfg.risk.max_drawdown == 0.3 and cfg.risk.max_position_weight == 0.5  # the rest kept


def test_open_run_of_an_unknown_run(tmp_path):
    from arena.report.data import RunNotFoundError
    from arena.store import DuckDBStore

    DuckDBStore(tmp_path / "empty.duckdb").close()
    with pytest.raises(RunNotFoundError, match="no run 'r1'"):
        arena.open_run("r1", store=f"duckdb://{tmp_path / 'empty.duckdb'}")


def test_import_arena_is_light():
    code = ("import sys, arena; heavy = [m for m in ('pandas', 'ray', 'torch', 'matplotlib', 'numpy', 'jinja2') "
            "if m in sys.modules]; print(heavy); print(callable(arena.run), arena.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1].startswith("True ")


def test_a_config_may_be_a_mapping_or_an_arena_config(tmp_path):
    import yaml

    from arena.config import load_config
    from arena.notebook import _config

    raw = yaml.safe_load(open("configs/local.yaml"))
    from_mapping = _config(raw, {"capital": 5_000, "execution": {"commission_bps": 0.0}})
    assert from_mapping.capital == 5_000 and from_mapping.execution.commission_bps == 0.0
    assert from_mapping.execution.slippage_bps == 2.0  # merged, not replaced
    parsed = load_config("configs/local.yaml")
    again = _config(parsed, {"contenders": [{"name": "b", "class": "buy_and_hold"}]})
    assert [c.name for c in again.contenders] == ["b"] and again.risk == parsed.risk
