"""Walk-forward evaluation: fold planning, fold configs, aggregation, and
`arena walkforward` end to end on the session Ray instance with bundled data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from arena.cli import app
from arena.config import parse_config
from arena.walkforward import aggregate, fold_config, plan_folds

runner = CliRunner()
TS = pd.date_range("2020-01-01", periods=100, freq="D", tz="UTC").as_unit("ns").asi8


def test_folds_are_consecutive_non_overlapping_and_follow_the_warmup() -> None:
    folds = plan_folds(TS, 3, warmup_bars=10)
    assert [(f.first_bar, f.stop_bar) for f in folds] == [(10, 40), (40, 70), (70, 100)]
    assert [f.data_first_bar for f in folds] == [0, 30, 60], "each fold's warm-up is the bars just before it"
    assert folds[1].since == pd.Timestamp(TS[30], tz="UTC").isoformat() and folds[1].trade_since == pd.Timestamp(
        TS[40], tz="UTC").isoformat()
    assert folds[2].until == pd.Timestamp(TS[99], tz="UTC").isoformat()
    sizes = [f.n_bars for f in plan_folds(TS, 7, warmup_bars=0)]
    assert sum(sizes) == 100 and max(sizes) - min(sizes) <= 1


def test_folds_that_do_not_fit_name_the_numbers() -> None:
    with pytest.raises(ValueError, match=r"cannot split 100 bars into 5 .* 90-bar warm-up leaves 10 .* 5 × 3 = 15"):
        plan_folds(TS, 5, warmup_bars=90)
    with pytest.raises(ValueError, match="--folds must be an integer >= 1"):
        plan_folds(TS, 0, warmup_bars=0)


def test_fold_config_restricts_the_data_and_sets_every_warmup() -> None:
    cfg = parse_config({
        "name": "wf", "data": {"source": "sample", "name": "us_equities_daily"},
        "contenders": [{"name": "a", "class": "buy_and_hold"}, {"name": "b", "class": "buy_and_hold",
                                                                "warmup_bars": 10}],
    })
    fold = plan_folds(TS, 2, warmup_bars=10)[1]
    fc = fold_config(cfg, fold)
    assert (fc.data.since, fc.data.until) == (fold.since, fold.until)
    assert [c.warmup_bars for c in fc.contenders] == [10, 10]
    assert cfg.data.since is None, "the original config is unchanged"


def test_aggregate_means_stds_and_wins() -> None:
    folds = [
        [{"contender": "a", "rank": 1, "sharpe": 1.0, "total_return": 0.1, "max_drawdown": 0.05, "ic": None,
          "hit_rate": None},
         {"contender": "b", "rank": 2, "sharpe": 0.5, "total_return": 0.0, "max_drawdown": 0.1, "ic": 0.02,
          "hit_rate": 0.55}],
        [{"contender": "b", "rank": 1, "sharpe": 2.0, "total_return": 0.2, "max_drawdown": 0.02, "ic": 0.04,
          "hit_rate": 0.6},
         {"contender": "a", "rank": 2, "sharpe": 0.0, "total_return": -0.1, "max_drawdown": 0.2, "ic": None,
          "hit_rate": None}],
    ]
    rows = {r["contender"]: r for r in aggregate(folds)}
    assert [r["contender"] for r in aggregate(folds)] == ["b", "a"], "best mean Sharpe first"
    assert rows["b"]["sharpe_mean"] == pytest.approx(1.25) and rows["b"]["sharpe_std"] == pytest.approx(
        np.std([0.5, 2.0], ddof=1))
    assert rows["b"]["ic_mean"] == pytest.approx(0.03) and rows["a"]["ic_mean"] is None
    assert (rows["a"]["folds_won"], rows["b"]["folds_won"], rows["a"]["folds"]) == (1, 1, 2)


def _config(tmp_path, folds_data: dict) -> str:
    raw = {
        "name": "wf-test",
        "data": {"source": "sample", "name": "us_equities_daily", **folds_data},
        "contenders": [
            {"name": "bench", "class": "buy_and_hold", "symbols": ["MSFT"]},
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}, "symbols": ["MSFT"],
             "warmup_bars": 20},
        ],
        "store": f"duckdb://{tmp_path / 'wf.duckdb'}",
    }
    path = tmp_path / "wf.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_cli_rejects_more_folds_than_the_bars_allow(tmp_path) -> None:
    path = _config(tmp_path, {"since": "2012-01-01", "until": "2012-02-15"})
    res = runner.invoke(app, ["walkforward", path, "--folds", "5"])
    assert res.exit_code == 2
    assert "cannot split 31 bars into 5 walk-forward folds" in res.output and "20-bar warm-up" in res.output


@pytest.mark.ray
def test_walkforward_runs_each_fold_on_its_own_out_of_sample_bars(ray_session, tmp_path) -> None:
    path = _config(tmp_path, {"since": "2012-01-01", "until": "2012-12-31"})
    res = runner.invoke(app, ["walkforward", path, "--folds", "2", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    folds = out["folds"]
    assert [f["fold"]["index"] for f in folds] == [0, 1]
    assert folds[0]["fold"]["stop_bar"] == folds[1]["fold"]["first_bar"], "consecutive, non-overlapping"
    from arena.store import open_store

    store = open_store(f"duckdb://{tmp_path / 'wf.duckdb'}", read_only=True)
    for f in folds:
        fold = f["fold"]
        assert f["run_id"].startswith(f"wf-test-wf{fold['index']}-{out['walkforward_id']}")
        run = store.get_run(f["run_id"])
        assert run["config"]["walkforward"]["first_bar"] == fold["first_bar"]
        assert run["config"]["data"]["since"] == fold["since"] and run["n_bars"] == 20 + fold["stop_bar"] - \
            fold["first_bar"]
        first_trade = pd.Timestamp(fold["trade_since"])
        decisions = store.decisions(f["run_id"], limit=10_000)
        assert decisions, "the contenders traded"
        assert min(pd.Timestamp(d["ts"]) for d in decisions) == first_trade, "nothing decides in the warm-up"
        rows = {r["contender"]: r for r in f["leaderboard"]}
        assert set(rows) == {"bench", "sma"}
        assert all(r["n_bars"] == fold["stop_bar"] - fold["first_bar"] + 1 for r in rows.values()), \
            "scored from the close of the last warm-up bar"
        assert rows["bench"]["ic"] is None, "rule contenders do not predict"
        assert rows["bench"]["trades"] is not None
    agg = {r["contender"]: r for r in out["aggregate"]}
    assert sum(r["folds_won"] for r in agg.values()) == 2
    totals = [next(r for r in f["leaderboard"] if r["contender"] == "bench")["total_return"] for f in folds]
    assert agg["bench"]["total_return_mean"] == pytest.approx(np.mean(totals))
    assert agg["bench"]["total_return_std"] == pytest.approx(np.std(totals, ddof=1))
