"""HTTP API: the trials register and the sweeps' heat-map grids."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from serve_sample_run import RUN_ID

from arena.config import parse_config
from arena.store import DuckDBStore, RunRecord
from serve.api import create_app


def test_trials_of_the_runs_data_set(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}/trials")
    assert answer.status_code == 200
    rows = answer.json()
    assert [(r["contender"], r["contender_class"]) for r in rows] == [("momentum", "momentum"),
                                                                     ("sma_cross", "sma_crossover")]
    assert rows[0]["params"] == {"lookback": 3} and rows[1]["sharpe_per_bar"] is None
    assert client.get("/runs/nope/trials").status_code == 404


def test_sweeps_give_the_grid_of_the_runs_ranking_metric(tmp_path: Path) -> None:
    raw = {"name": "s", "data": {"source": "synthetic"},
           "contenders": [{"name": "bench", "class": "buy_and_hold"},
                          {"name": "sma", "class": "sma_crossover", "sweep": {"fast": [5, 10], "slow": [50, 100]}}]}
    config = parse_config(raw).to_dict()
    with DuckDBStore(tmp_path / "a.duckdb") as store:
        store.create_run(RunRecord(run_id="s1", name="s", config=config, data_source={}, data_sha256="ab" * 32,
                                   code_version="test", seed=0, started_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                                   symbols=["SYN"], periods_per_year=252.0))
        store.append("leaderboard", [
            {"run_id": "s1", "contender": c["name"], "rank": i + 1, "status": "ok", "rank_by": "sortino",
             "sortino": float(i), "sharpe": -float(i)}
            for i, c in enumerate(config["contenders"])
        ])
    with TestClient(create_app(f"duckdb://{tmp_path / 'a.duckdb'}")) as client:
        (grid,) = client.get("/runs/s1/sweeps").json()
        assert (grid["group"], grid["metric"]) == ("sma", "sortino")
        assert (grid["row_param"], grid["col_param"]) == ("fast", "slow")
        assert grid["rows"] == [5, 10] and grid["columns"] == [50, 100]
        assert grid["values"] == [[1.0, 2.0], [3.0, 4.0]]
        (by_sharpe,) = client.get("/runs/s1/sweeps", params={"metric": "sharpe"}).json()
        assert by_sharpe["values"][0] == [-1.0, -2.0]
        assert client.get("/runs/s1/sweeps", params={"metric": "luck"}).status_code == 422
