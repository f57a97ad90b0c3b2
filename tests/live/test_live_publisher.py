"""RedisEventStream against a real Redis: round trip, approximate MAXLEN, Redis going down and back."""

from __future__ import annotations

import json
import logging
import time

import pytest
import redis
from live_support import free_port, redis_sh

from arena.live import RedisEventStream, stream_key

LOGGER = "arena.live.publisher"


def test_publish_round_trips_through_xrange(redis_url, redis_client, run_id):
    stream = RedisEventStream(redis_url, run_id, batch_size=2)
    events = [
        ("run_started", {"run_id": run_id, "symbols": ["AAPL", "MSFT"]}),
        ("fill", {"contender": "sma", "symbol": "AAPL", "quantity": 10.0, "price": 185.25, "nan": float("nan")}),
        ("risk_verdict", {"contender": "sma", "action": "SCALE", "scale": 0.5, "reasons": ["MAX_POSITION_WEIGHT"]}),
    ]
    assert stream.publish_many(events) == 3
    assert stream.publish("run_finished", {"status": "finished"})
    entries = redis_client.xrange(stream_key(run_id))
    assert [e[1]["kind"] for e in entries] == ["run_started", "fill", "risk_verdict", "run_finished"]
    assert json.loads(entries[1][1]["data"]) == {**events[1][1], "nan": None}
    assert json.loads(entries[2][1]["data"]) == events[2][1]
    ids = [tuple(map(int, e[0].split("-"))) for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert stream.published == 4 and stream.dropped == 0


def test_unknown_kind_and_bad_url_are_refused(redis_url, run_id):
    stream = RedisEventStream(redis_url, run_id)
    with pytest.raises(ValueError, match="unknown live event kind 'fills'"):
        stream.publish("fills", {})
    with pytest.raises(ValueError, match="redis:// or rediss://"):
        RedisEventStream("http://127.0.0.1:6379", run_id)


def test_maxlen_trims_approximately(redis_url, redis_client, run_id):
    maxlen, n = 200, 3000
    stream = RedisEventStream(redis_url, run_id, maxlen=maxlen, batch_size=250)
    assert stream.publish_many(("fill", {"i": i}) for i in range(n)) == n
    key = stream_key(run_id)
    length = redis_client.xlen(key)
    # MAXLEN ~ trims whole radix-tree nodes (stream-node-max-entries = 100): never below maxlen,
    # at most about one node above it
    assert maxlen <= length <= maxlen + 100
    newest = redis_client.xrevrange(key, count=1)[0]
    assert json.loads(newest[1]["data"]) == {"i": n - 1}
    oldest = json.loads(redis_client.xrange(key, count=1)[0][1]["data"])["i"]
    assert oldest == n - length, "the oldest entries are the ones trimmed"


def test_redis_down_warns_once_never_raises_then_recovers(caplog, tmp_path):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    stream = RedisEventStream(url, "down-run", retry_every_s=0.3)
    caplog.set_level(logging.INFO, logger=LOGGER)
    t0 = time.perf_counter()
    results = [stream.publish("fill", {"i": i}) for i in range(500)]
    elapsed_s = time.perf_counter() - t0
    assert not any(results) and stream.dropped == 500 and stream.is_down
    assert elapsed_s < 2.0, f"publishing while Redis is down took {elapsed_s:.2f} s for 500 events"
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert url in warnings[0].getMessage() and "still recorded in the store" in warnings[0].getMessage()

    started = redis_sh("start", port, tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        time.sleep(0.4)  # past retry_every_s: the next publish tries to reconnect
        assert stream.publish("fill", {"i": 500})
        assert stream.publish("fill", {"i": 501})
        infos = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]
        assert len(infos) == 1 and "reachable again" in infos[0].getMessage()
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
        client = redis.Redis(port=port, decode_responses=True)
        assert [json.loads(e[1]["data"])["i"] for e in client.xrange(stream.key)] == [500, 501]
        client.close()
    finally:
        stream.close()
        redis_sh("stop", port, tmp_path)


def test_redis_going_away_mid_run_is_survived(caplog, tmp_path):
    port = free_port()
    assert redis_sh("start", port, tmp_path).returncode == 0
    stream = RedisEventStream(f"redis://127.0.0.1:{port}/0", "away-run", retry_every_s=60)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    try:
        assert stream.publish("fill", {"i": 0})
    finally:
        redis_sh("stop", port, tmp_path)
    assert [stream.publish("fill", {"i": i}) for i in range(1, 50)] == [False] * 49
    assert stream.dropped == 49 and len(caplog.records) == 1
