"""LiveLeaderboard (plain Python) and RunEventFeed on a real Redis: recorder rows → events."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from arena.live import LiveLeaderboard, RedisEventStream, RunEventFeed, stream_key
from arena.metrics import max_drawdown


def test_live_leaderboard_matches_the_metrics_over_the_whole_curve():
    board = LiveLeaderboard(10_000.0, ["a", "b", "idle"])
    a = np.array([10_000, 10_500, 9_800, 10_200, 11_000, 9_900, 10_100.0])
    b = np.array([10_000, 9_000, 9_500, 9_700, 9_600, 9_800, 9_900.0])
    ts = np.arange(7, dtype=np.int64) * 86_400 * 10**9
    for lo, hi in ((0, 3), (3, 7)):  # two batches, as the recorder receives them
        for name, eq in (("a", a), ("b", b)):
            board.update(name, np.arange(lo, hi), ts[lo:hi], eq[lo:hi])
    board.set_status("b", "halted", "MAX_DRAWDOWN")
    rows = {r["contender"]: r for r in board.rows()}
    assert [r["contender"] for r in board.rows()] == ["a", "b", "idle"]
    assert rows["a"]["total_return"] == pytest.approx(10_100 / 10_000 - 1)
    assert rows["a"]["max_drawdown"] == pytest.approx(max_drawdown(a)) == pytest.approx(1 - 9_900 / 11_000)
    assert rows["b"]["max_drawdown"] == pytest.approx(0.1)
    assert rows["b"]["status"] == "halted" and rows["b"]["halt_reason"] == "MAX_DRAWDOWN"
    assert rows["a"]["bars"] == 7 and rows["a"]["ts"] == "1970-01-07T00:00:00+00:00"
    assert rows["idle"]["bars"] == 0 and rows["idle"]["total_return"] is None and rows["idle"]["rank"] == 3


def test_live_leaderboard_rejects_ragged_rows():
    with pytest.raises(ValueError, match="lengths differ"):
        LiveLeaderboard(1.0).update("a", np.arange(3), np.arange(3), np.ones(2))


def test_feed_publishes_rows_snapshots_and_the_final_leaderboard(redis_url, redis_client, run_id):
    clock = {"t": 0.0}
    feed = RunEventFeed(RedisEventStream(redis_url, run_id), snapshot_every_s=1.0, clock=lambda: clock["t"])
    feed.run_started(
        {"run_id": run_id, "name": "t", "config": {"capital": 100.0, "contenders": [{"name": "x"}]}, "symbols": ["A"]}
    )
    equity = pd.DataFrame(
        {"contender": ["x", "x"], "bar_index": [0, 1], "ts": [0, 10**9], "equity": [100.0, 90.0]}
    )
    fill = {"run_id": run_id, "contender": "x", "symbol": "A", "side": "BUY", "quantity": 1.0, "ts": 10**9}
    verdict = {"verdict_id": "v", "contender": "x", "action": "DENY", "reasons_json": ["ARENA_KILL_SWITCH"], "ts": 0}
    halt = {"run_id": run_id, "contender": "x", "kind": "CONTENDER_HALTED", "reason": "drawdown", "ts": 10**9}
    feed.on_batch({"equity": equity, "fills": [fill], "risk_verdicts": [verdict]})  # t=0: first snapshot due
    clock["t"] = 0.5
    feed.on_batch({"equity": equity.assign(bar_index=[2, 3]), "events": [halt]})  # not due yet
    feed.on_batch({"leaderboard": [{"run_id": run_id, "contender": "x", "rank": 1, "sharpe": float("nan")}]})
    feed.run_finished("2024-01-01T00:00:00+00:00", "finished", 4)
    feed.run_finished("2024-01-01T00:00:00+00:00", "failed", 0)  # a second call is ignored
    entries = redis_client.xrange(stream_key(run_id))
    kinds = [e[1]["kind"] for e in entries]
    assert kinds == ["run_started", "fill", "risk_verdict", "leaderboard", "halt", "leaderboard", "run_finished"]
    data = [json.loads(e[1]["data"]) for e in entries]
    assert data[1]["ts"] == "1970-01-01T00:00:01+00:00" and data[1]["ts_ns"] == 10**9
    assert data[2]["reasons"] == ["ARENA_KILL_SWITCH"] and "reasons_json" not in data[2]
    assert data[3]["final"] is False and data[3]["rows"][0]["total_return"] == pytest.approx(-0.1)
    assert data[5]["final"] is True and data[5]["rows"][0]["status"] == "halted"
    assert data[5]["rows"][0]["bars"] == 4
    assert data[6]["status"] == "finished" and data[6]["n_bars"] == 4
    assert data[6]["leaderboard"] == [{"run_id": run_id, "contender": "x", "rank": 1, "sharpe": None}]
    assert data[6]["standings"] == data[5]["rows"]


def test_an_unencodable_payload_skips_only_that_event(redis_url, redis_client, run_id, caplog):
    feed = RunEventFeed(RedisEventStream(redis_url, run_id))
    good = {"contender": "x", "symbol": "A", "ts": 0}
    feed.on_batch({"fills": [good, {**good, "symbol": object()}, {**good, "symbol": "B"}]})
    symbols = [json.loads(f["data"])["symbol"] for _id, f in redis_client.xrange(stream_key(run_id))]
    assert symbols == ["A", "B"]
    assert "could not encode a fill event" in caplog.text
