"""A real arena run on Ray publishing live events to a real Redis, read live over SSE.

One paced run (a few seconds) is started in a background thread; the SSE test
reads it while it goes on, the other tests check the finished stream against
the store.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import duckdb
import httpx
import pytest
import redis
import uvicorn
from httpx_sse import EventSource, ServerSentEvent, connect_sse
from live_support import free_port

from arena.config import parse_config
from arena.live import stream_key
from arena.topology import RunResult, run_arena
from serve.api import create_app

pytestmark = [pytest.mark.ray, pytest.mark.slow]


class BackgroundRun:
    """``run_arena`` in a thread; :meth:`result` joins it."""

    def __init__(self, cfg, run_id: str) -> None:
        self.cfg, self.run_id = cfg, run_id
        self._box: dict[str, object] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self._box["result"] = run_arena(self.cfg, run_id=self.run_id)
        except BaseException as exc:  # noqa: BLE001 - re-raised in result()
            self._box["error"] = exc

    def result(self, timeout_s: float = 240) -> RunResult:
        self.thread.join(timeout_s)
        assert not self.thread.is_alive(), f"run {self.run_id} did not finish within {timeout_s} s"
        if "error" in self._box:
            raise self._box["error"]  # type: ignore[misc]
        return self._box["result"]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def live_run(ray_session, redis_url, tmp_path_factory) -> Iterator[BackgroundRun]:
    tmp = tmp_path_factory.mktemp("live")
    cfg = parse_config(
        {
            "name": "live-arena",
            "data": {"source": "synthetic", "symbols": ["AAA", "BBB", "CCC", "DDD"], "n_bars": 240, "seed": 7},
            "capital": 10_000,
            "seed": 1,
            "execution": {"commission_bps": 1.0},
            # 4 symbols at 0.25 each against a 0.2 cap: the benchmark's orders are scaled
            "risk": {"max_position_weight": 0.2, "max_gross_leverage": 1.0, "max_drawdown": 0.2},
            "contenders": [
                {"name": "bench", "class": "buy_and_hold"},
                {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}},
                {"name": "flip", "class": "arena_test_contenders:FlipEveryBar"},
            ],
            "replay": {"mode": "paced", "bar_interval_s": 0.015},
            "store": f"duckdb://{tmp / 'arena.duckdb'}",
            "events": redis_url,
        }
    )
    # the driver's first Ray call imports and registers serializers: done here, not in the
    # run's thread, where it would race the imports of the main thread (uvicorn, FastAPI)
    ray_session.get(ray_session.put(0))
    run = BackgroundRun(cfg, f"live-{uuid.uuid4().hex[:8]}")
    yield run
    run.result()
    client = redis.Redis.from_url(redis_url)
    client.delete(stream_key(run.run_id))
    client.close()


@pytest.fixture(scope="module")
def api(live_run, redis_url) -> Iterator[str]:
    """Base URL of a uvicorn server of ``create_app`` (store + events) on a free local port."""
    app = create_app(live_run.cfg.store, redis_url, events_ping_s=1.0, events_block_ms=500)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        assert time.time() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(10)


def _events(source: EventSource) -> Iterator[ServerSentEvent]:
    """The SSE events of a response, without keep-alive pings: httpx-sse turns a ping comment
    into an empty ``message`` event (the SSE spec dispatches nothing for it)."""
    return (sse for sse in source.iter_sse() if sse.data)


def _entries(redis_url: str, run_id: str) -> list[tuple[str, str, dict]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [(i, f["kind"], json.loads(f["data"])) for i, f in client.xrange(stream_key(run_id))]
    finally:
        client.close()


def _store_count(cfg, table: str, run_id: str) -> int:
    con = duckdb.connect(cfg.store.removeprefix("duckdb://"), read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]).fetchone()[0]
    finally:
        con.close()


def test_sse_is_live_and_resumes_with_last_event_id(live_run, api, redis_url):
    client = redis.Redis.from_url(redis_url)
    deadline = time.time() + 180
    while not client.exists(stream_key(live_run.run_id)):
        assert time.time() < deadline and live_run.thread.is_alive(), "the run's stream never appeared"
        time.sleep(0.05)
    client.close()
    url = f"{api}/runs/{live_run.run_id}/events"
    k = 5
    first: list[tuple[str, str, str]] = []
    with httpx.Client(timeout=httpx.Timeout(30.0)) as http:
        with connect_sse(http, "GET", url) as source:
            assert source.response.headers["content-type"].startswith("text/event-stream")
            for sse in _events(source):
                first.append((sse.id, sse.event, sse.data))
                if len(first) == k:
                    break
        assert live_run.thread.is_alive(), "the first events must arrive while the run goes on"
        assert first[0][1] == "run_started"
        rest: list[tuple[str, str, str]] = []
        with connect_sse(http, "GET", url, headers={"Last-Event-ID": first[-1][0]}) as source:
            rest = [(sse.id, sse.event, sse.data) for sse in _events(source)]  # ends after run_finished
    assert rest[-1][1] == "run_finished"
    stored = _entries(redis_url, live_run.run_id)
    got = first + rest
    assert [g[0] for g in got] == [s[0] for s in stored], "no duplicates, no gaps, in stream order"
    assert [(g[1], json.loads(g[2])) for g in got] == [(s[1], s[2]) for s in stored]


def test_stream_holds_every_fill_and_verdict_of_the_store(live_run, redis_url):
    live_run.result()
    entries = _entries(redis_url, live_run.run_id)
    kinds = [e[1] for e in entries]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and kinds.count("run_finished") == 1
    fills = [e[2] for e in entries if e[1] == "fill"]
    verdicts = [e[2] for e in entries if e[1] == "risk_verdict"]
    assert fills and len(fills) == _store_count(live_run.cfg, "fills", live_run.run_id)
    assert len(verdicts) == _store_count(live_run.cfg, "risk_verdicts", live_run.run_id)
    actions = {v["action"] for v in verdicts}
    assert "SCALE" in actions, actions
    started = entries[0][2]
    assert started["run_id"] == live_run.run_id and started["contenders"] == ["bench", "sma", "flip"]
    assert started["capital"] == 10_000


def test_leaderboard_snapshots_and_run_finished_carry_the_standings(live_run, redis_url):
    result = live_run.result()
    entries = _entries(redis_url, live_run.run_id)
    snapshots = [e[2] for e in entries if e[1] == "leaderboard"]
    assert [s["final"] for s in snapshots].count(True) == 1 and snapshots[-1]["final"]
    assert len(snapshots) >= 2, "a paced run of a few seconds publishes snapshots while it goes on"
    finished = entries[-1][2]
    assert finished["status"] == result.status == "finished" and finished["n_bars"] == result.n_bars
    assert [(r["contender"], r["rank"]) for r in finished["leaderboard"]] == [
        (r["contender"], r["rank"]) for r in result.leaderboard
    ]
    final_equity = {r["contender"]: r["final_equity"] for r in result.leaderboard}
    for row in finished["standings"]:
        assert row["equity"] == pytest.approx(final_equity[row["contender"]])
        assert row["bars"] == result.n_bars
    assert finished["standings"] == snapshots[-1]["rows"]


def test_events_endpoint_errors(live_run, api, redis_url):
    live_run.result()
    with httpx.Client(timeout=10.0) as http:
        unknown = http.get(f"{api}/runs/no-such-run/events")
        assert unknown.status_code == 404 and "no-such-run" in unknown.json()["detail"]
        bad = http.get(f"{api}/runs/{live_run.run_id}/events", headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 422 and "Last-Event-ID" in bad.json()["detail"]
        last_id = _entries(redis_url, live_run.run_id)[-1][0]
        done = http.get(f"{api}/runs/{live_run.run_id}/events", params={"last_event_id": last_id})
        assert done.status_code == 200 and "event:" not in done.text, "nothing after run_finished"
        latest = http.get(f"{api}/runs/{live_run.run_id}/events", params={"from": "latest"})
        assert latest.status_code == 200 and "event:" not in latest.text
        replay = http.get(f"{api}/runs/{live_run.run_id}/events", params={"from": "start"})
        assert replay.text.count("event: ") == len(_entries(redis_url, live_run.run_id))
    # the run is in the store, but this Redis database has no stream of it
    app = create_app(live_run.cfg.store, redis_url.rsplit("/", 1)[0] + "/1")
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        missing = client.get(f"/runs/{live_run.run_id}/events")
    assert missing.status_code == 404 and "no live event stream" in missing.json()["detail"]
