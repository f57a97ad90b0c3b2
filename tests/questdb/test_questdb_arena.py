"""Whole arena runs on the QuestDB store: the server stopped mid-run loses and doubles
nothing, and every Serve endpoint answers the same JSON as on the DuckDB store."""

from __future__ import annotations

import threading
import time
from typing import Any

import duckdb
import psycopg
from fastapi.testclient import TestClient

from arena.config import parse_config
from arena.store import TABLES
from arena.topology import run_arena
from serve.api import create_app

WALL_CLOCK_FIELDS = ("started_at", "ended_at")
"""Run fields that are wall-clock times of each run, so they differ between two runs."""


def _config(store: str, *, paced: bool, n_bars: int = 120) -> Any:
    return parse_config(
        {
            "name": "qdb-arena",
            "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "n_bars": n_bars, "seed": 11},
            "capital": 10_000,
            "seed": 5,
            "execution": {"fill_price": "next_open", "commission_bps": 1.0, "slippage_bps": 2.0},
            "risk": {"max_position_weight": 0.6, "max_gross_leverage": 1.0},
            "contenders": [
                {"name": "bench", "class": "buy_and_hold"},
                {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}},
                {"name": "rsi", "class": "rsi_mean_reversion"},
            ],
            "replay": {"mode": "paced", "bar_interval_s": 0.15} if paced else {"mode": "replay"},
            "store": store,
        }
    )


def _duckdb_counts(path, run_id: str) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}" WHERE run_id = ?', [run_id]).fetchone()[0] for t in TABLES}
    finally:
        con.close()


def _questdb_counts(server, prefix: str, run_id: str) -> dict[str, int]:
    dsn = f"host=127.0.0.1 port={server.pg_port} user=admin password=quest dbname=qdb"
    with psycopg.connect(dsn, autocommit=True) as con:
        return {
            t: con.execute(f'SELECT count() FROM "{prefix}{t}" WHERE run_id = %s', [run_id]).fetchone()[0]
            for t in TABLES
        }


def test_server_stopped_mid_run_loses_and_doubles_nothing(ray_session, second_questdb, prefix, tmp_path) -> None:
    run_id = "qdb-fault-run"
    reference = tmp_path / "ref.duckdb"
    run_arena(_config(f"duckdb://{reference}", paced=False), run_id=run_id)
    expected = _duckdb_counts(reference, run_id)
    assert all(expected[t] > 0 for t in ("runs", "decisions", "orders", "fills", "equity", "leaderboard", "bars"))

    seen = {"bars": 0}
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            cfg = _config(second_questdb.url(prefix), paced=True)
            outcome["result"] = run_arena(cfg, run_id=run_id, progress=lambda n, total: seen.update(bars=n))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 120
    while seen["bars"] < 30 and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    second_questdb.stop()
    stopped_at = seen["bars"]
    time.sleep(3)
    second_questdb.start()
    worker.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    assert 0 < stopped_at < 120, "the server must go away while bars are being published"
    assert outcome["result"].status == "finished"
    assert _questdb_counts(second_questdb, prefix, run_id) == expected


def _serve_json(store_url: str, run_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with TestClient(create_app(store_url)) as client:

        def get(path: str, **params: Any) -> Any:
            r = client.get(path, params=params)
            assert r.status_code == 200, (path, r.text)
            return r.json()

        runs = get("/runs")
        for run in runs:
            for field in WALL_CLOCK_FIELDS:
                run.pop(field)
            run["config"].pop("store")
        out["runs"] = runs
        detail = get(f"/runs/{run_id}")
        for field in WALL_CLOCK_FIELDS:
            detail.pop(field)
        detail["config"].pop("store")
        out["run"] = detail
        out["leaderboard"] = get(f"/runs/{run_id}/leaderboard")
        for name in detail["contenders"]:
            out[f"equity/{name}"] = get(f"/runs/{run_id}/contenders/{name}/equity")
            out[f"equity/{name}/window"] = get(
                f"/runs/{run_id}/contenders/{name}/equity", start="2020-02-01", end="2020-03-01T00:00:00Z"
            )
            out[f"decisions/{name}"] = get(f"/runs/{run_id}/decisions", contender=name, limit=1000)
            out[f"equity/{name}/lttb"] = get(f"/runs/{run_id}/contenders/{name}/equity", max_points=20)
            out[f"positions/{name}"] = get(f"/runs/{run_id}/contenders/{name}/positions", max_points=30)
            out[f"fills/{name}"] = get(f"/runs/{run_id}/fills", contender=name, symbol="AAA")
        out["status"] = get(f"/runs/{run_id}/status")
        out["fills"] = get(f"/runs/{run_id}/fills")
        out["risk-verdicts"] = get(f"/runs/{run_id}/risk-verdicts")
        out["risk-verdicts/scaled"] = get(f"/runs/{run_id}/risk-verdicts", action=["SCALE", "DENY"], limit=5)
        for symbol in ("AAA", "BBB"):
            out[f"bars/{symbol}"] = get(f"/runs/{run_id}/bars/{symbol}")
            out[f"bars/{symbol}/candles"] = get(f"/runs/{run_id}/bars/{symbol}", max_points=9)
        decisions = get(f"/runs/{run_id}/decisions", limit=1000)
        out["decisions"] = decisions
        out["decisions/page"] = get(f"/runs/{run_id}/decisions", symbol="BBB", limit=7, offset=3)
        out["why"] = [get(f"/decisions/{d['decision_id']}/why") for d in decisions]
        out["why/top"] = get(f"/decisions/{decisions[0]['decision_id']}/why", top=1)
    return out


def test_every_endpoint_answers_the_same_json_on_both_stores(ray_session, questdb, qdb_url, tmp_path) -> None:
    run_id = "qdb-parity-run"
    duck_url = f"duckdb://{tmp_path / 'parity.duckdb'}"
    run_arena(_config(duck_url, paced=False, n_bars=80), run_id=run_id)
    run_arena(_config(qdb_url, paced=False, n_bars=80), run_id=run_id)
    on_duckdb = _serve_json(duck_url, run_id)
    on_questdb = _serve_json(qdb_url, run_id)
    assert on_duckdb["why"] and any(w["order_events"] for w in on_duckdb["why"])
    assert len(on_duckdb["bars/AAA"]) == 80 and len(on_duckdb["bars/AAA/candles"]) == 9
    assert on_duckdb["fills"] and on_duckdb["positions/sma"] and len(on_duckdb["equity/sma/lttb"]) <= 20
    assert on_questdb.keys() == on_duckdb.keys()
    for answers in (on_duckdb, on_questdb):  # decision latencies and fit times are wall-clock: they differ per run
        for row in answers["leaderboard"]:
            for part in (row, row.get("metrics") or {}):
                for key in ("latency_p50_ms", "latency_p99_ms", "train_s"):
                    part.pop(key, None)
    for key in on_duckdb:
        assert on_questdb[key] == on_duckdb[key], key
