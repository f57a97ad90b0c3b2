"""HTTP API: health, runs, leaderboard, equity curves, errors and OpenAPI."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_sample_run import CONTENDERS, N_BARS, RUN_ID, SYMBOLS, SampleRun, bar_iso

from arena.store import DuckDBStore
from serve.api import create_app


def test_healthz(client: TestClient, sample_store: tuple[str, SampleRun]) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "store": sample_store[0]}


def test_healthz_of_a_missing_store_is_503(tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'nothing.duckdb'}"
    with TestClient(create_app(url)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert "not found" in answer.json()["detail"] and "nothing.duckdb" in answer.json()["detail"]


def test_create_app_rejects_a_malformed_url() -> None:
    with pytest.raises(ValueError, match="unknown scheme 'mysql'"):
        create_app("mysql://db/arena")


def test_list_runs(client: TestClient) -> None:
    answer = client.get("/runs")
    assert answer.status_code == 200
    (run,) = answer.json()
    assert run["run_id"] == RUN_ID
    assert run["status"] == "killed" and run["n_bars"] == N_BARS
    assert run["symbols"] == list(SYMBOLS)
    assert run["config"]["risk"] == {"max_weight": 0.5}
    assert run["started_at"] == "2024-01-02T20:55:00+00:00"


def test_get_run_with_contenders_and_kill_switch_events(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}")
    assert answer.status_code == 200
    run = answer.json()
    assert run["contenders"] == list(CONTENDERS)
    assert [(e["kind"], e["ts"], e["contender"]) for e in run["kill_switch_events"]] == [
        ("KILL_SWITCH_TRIPPED", bar_iso(4), None)
    ]
    assert run["kill_switch_events"][0]["details"] == {"source": "POST /kill-switch"}


@pytest.mark.parametrize(
    "path",
    [
        "/runs/nope",
        "/runs/nope/leaderboard",
        "/runs/nope/contenders/momentum/equity",
        "/runs/nope/decisions",
    ],
)
def test_unknown_run_is_404_naming_it(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "run 'nope' not found"}


def test_injection_like_ids_are_just_unknown(client: TestClient) -> None:
    answer = client.get("/runs/x' OR '1'='1/leaderboard")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "run \"x' OR '1'='1\" not found"
    assert client.get("/runs").json()[0]["run_id"] == RUN_ID


def test_leaderboard_by_rank_with_json_safe_metrics(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}/leaderboard")
    assert answer.status_code == 200
    first, second = answer.json()
    assert (first["rank"], first["contender"], first["sharpe"]) == (1, "momentum", 1.9)
    assert first["metrics"] == {"omega": 1.4, "sharpe": 1.9}
    assert (second["contender"], second["status"], second["halt_reason"]) == (
        "sma_cross",
        "halted",
        "MAX_DRAWDOWN",
    )
    assert second["sharpe"] is None and second["profit_factor"] is None  # NaN / inf
    assert second["metrics"]["final_equity"] == 100_360.0


def test_leaderboard_names_its_ranking_benchmark_and_significance(client: TestClient) -> None:
    first, second = client.get(f"/runs/{RUN_ID}/leaderboard").json()
    assert (first["rank_by"], first["benchmark"], first["spa_pvalue"]) == ("sharpe", "sma_cross", 0.03)
    assert first["beats_benchmark"] is True and second["beats_benchmark"] is None
    assert first["calendar"] == {"monthly": {"2024-01": 0.006}, "yearly": {"2024": 0.006}}
    schema = client.get("/openapi.json").json()["components"]["schemas"]["LeaderboardRow"]["properties"]
    assert "Romano-Wolf StepM" in schema["beats_benchmark"]["description"]


def test_equity_curve_whole_and_bounded(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}/contenders/momentum/equity")
    assert answer.status_code == 200
    curve = answer.json()
    assert [p["bar_index"] for p in curve] == list(range(N_BARS))
    assert curve[2] == {
        "run_id": RUN_ID,
        "contender": "momentum",
        "ts": bar_iso(2),
        "bar_index": 2,
        "equity": 100_300.0,
        "cash": 40_000.0,
        "gross_exposure": 60_000.0,
    }
    bounded = client.get(
        f"/runs/{RUN_ID}/contenders/momentum/equity",
        params={"start": bar_iso(1), "end": "2024-01-05T16:00:00-05:00"},  # = bar 3
    )
    assert [p["bar_index"] for p in bounded.json()] == [1, 2, 3]
    naive = client.get(
        f"/runs/{RUN_ID}/contenders/momentum/equity", params={"start": "2024-01-06T21:00:00"}
    )
    assert [p["bar_index"] for p in naive.json()] == [4]  # no offset → UTC


def test_unknown_contender_is_404_naming_it(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}/contenders/lstm/equity")
    assert answer.status_code == 404
    assert answer.json()["detail"].startswith(f"contender 'lstm' not found in run '{RUN_ID}'")


@pytest.mark.parametrize(
    "params",
    [
        {"start": "yesterday"},
        {"end": "2024-13-01T00:00:00Z"},
        {"start": bar_iso(3), "end": bar_iso(1)},
    ],
)
def test_bad_datetimes_are_422(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get(f"/runs/{RUN_ID}/contenders/momentum/equity", params=params)
    assert answer.status_code == 422


def test_openapi_documents_every_endpoint_with_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths) == {
        "/healthz",
        "/runs",
        "/runs/{run_id}",
        "/runs/{run_id}/leaderboard",
        "/runs/{run_id}/contenders/{name}/equity",
        "/runs/{run_id}/decisions",
        "/decisions/{decision_id}/why",
        "/kill-switch",
        "/kill-switch/reset",
        "/runs/{run_id}/contenders/{name}/release",
        "/runs/{run_id}/events",
        "/runs/{run_id}/status",
        "/runs/{run_id}/fills",
        "/runs/{run_id}/reconciliation",
        "/runs/{run_id}/risk-verdicts",
        "/runs/{run_id}/bars/{symbol}",
        "/runs/{run_id}/contenders/{name}/positions",
        "/live/runs",
        "/runs/{run_id}/trials",
        "/runs/{run_id}/sweeps",
    }
    for path, methods in paths.items():
        for method, operation in methods.items():
            if path == "/runs/{run_id}/events":  # Server-Sent Events, not JSON (tests/serve/test_api_events.py)
                assert "text/event-stream" in operation["responses"]["200"]["content"]
                continue
            ok = "202" if path == "/kill-switch" else "200"
            schema = operation["responses"][ok]["content"]["application/json"]["schema"]
            assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path)
    assert {"Run", "RunDetail", "LeaderboardRow", "EquityPoint", "DecisionOut", "Why", "RunStatus", "Bar"} <= set(
        spec["components"]["schemas"]
    )
    assert client.get("/docs").status_code == 200


_HOLD_WRITER = textwrap.dedent(
    """
    import sys
    import duckdb
    writer = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    sys.stdin.readline()
    writer.close()
    """
)


def test_store_held_by_a_writer_is_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    DuckDBStore(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with TestClient(create_app(f"duckdb://{path}", busy_timeout_s=0.0)) as client:
            answer = client.get("/runs")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert "busy" in answer.json()["detail"] and str(path) in answer.json()["detail"]
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)


def test_the_api_run_statuses_are_the_schemas():
    import typing

    from arena.store.schema import RUN_STATUSES
    from serve.models import RunState

    assert set(typing.get_args(RunState)) == set(RUN_STATUSES)
