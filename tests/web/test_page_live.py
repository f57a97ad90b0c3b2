"""The arena page on a live paced run (real Ray, real Redis, a DuckDB store the run holds):
the page says the store is busy and follows the run's event stream; new fills, equity
points and a leaderboard change appear without a reload; a dropped connection resumes from
the last event id (no fill lost or repeated); the kill switch shows only with the token and
trips the run; when the run ends the recorded leaderboard replaces the live standings."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from urllib.parse import quote

import duckdb
import httpx
import pytest
import redis
from live_support import TEST_PORT, redis_sh
from page_support import OfflinePage, serve_app

from arena.config import parse_config
from arena.live import stream_key
from arena.topology import run_arena
from serve.api import KILL_SWITCH_TOKEN_ENV, create_app

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TOKEN = "page-live-test-token"


@pytest.fixture(scope="module")
def redis_url():
    """A real Redis (scripts/redis.sh on the live tests' port); left to the session's end."""
    res = redis_sh("start", TEST_PORT)
    if res.returncode != 0:
        reason = f"cannot start redis on 127.0.0.1:{TEST_PORT}: {(res.stderr or res.stdout).strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return f"redis://127.0.0.1:{TEST_PORT}/0"


def _count(store_url: str, table: str, run_id: str) -> int:
    con = duckdb.connect(store_url.removeprefix("duckdb://"), read_only=True)
    try:
        return con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id]).fetchone()[0]
    finally:
        con.close()


def _number(page, selector: str) -> int:
    return int(page.locator(selector).inner_text() or 0)


def _wait(page, expression: str, timeout_s: float = 60.0, arg=None) -> None:
    """Poll a JavaScript expression (a function of ``arg``) until it is true; page.wait_for_function
    evaluates strings with eval, which the page's Content-Security-Policy forbids."""
    deadline = time.time() + timeout_s
    while not page.evaluate(expression, arg):
        assert time.time() < deadline, f"not true within {timeout_s} s: {expression}"
        time.sleep(0.1)


def _config(store: str, redis_url: str, n_bars: int, interval_s: float):
    return parse_config(
        {
            "name": "page-live",
            "data": {"source": "synthetic", "symbols": ["AAA", "BBB", "CCC", "DDD"], "n_bars": n_bars, "seed": 11},
            "capital": 10_000,
            "seed": 3,
            "execution": {"commission_bps": 1.0},
            "risk": {"max_position_weight": 0.2, "max_gross_leverage": 1.0, "max_drawdown": 0.3},
            "contenders": [
                {"name": "bench", "class": "buy_and_hold"},
                {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}},
                {"name": "flip", "class": "arena_test_contenders:FlipEveryBar"},
            ],
            "replay": {"mode": "paced", "bar_interval_s": interval_s},
            "store": store,
            "events": redis_url,
        }
    )


class LiveRun:
    """``run_arena`` of ``cfg`` in a thread, started by :meth:`start`, which returns once the
    run's live stream exists; :meth:`result` joins it."""

    def __init__(self, ray_session, cfg, redis_url: str) -> None:
        ray_session.get(ray_session.put(0))  # register serializers here, not in the run's thread
        self.cfg, self.run_id = cfg, f"live-page-{uuid.uuid4().hex[:8]}"
        self.box: dict[str, object] = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.client = redis.Redis.from_url(redis_url)

    def _run(self) -> None:
        self.box["result"] = run_arena(self.cfg, run_id=self.run_id)

    def start(self) -> None:
        self.thread.start()
        deadline = time.time() + 120
        while not self.client.exists(stream_key(self.run_id)):
            assert time.time() < deadline and self.thread.is_alive(), "the run's stream never appeared"
            time.sleep(0.05)

    def result(self):
        self.thread.join(120)
        assert not self.thread.is_alive() and "result" in self.box, "the run did not finish"
        return self.box["result"]

    def close(self) -> None:
        self.thread.join(120)
        with contextlib.suppress(redis.RedisError):  # a cleanup error must not hide the test's own
            self.client.delete(stream_key(self.run_id))
        self.client.close()


def test_live_run_on_the_page(ray_session, redis_url, browser, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(KILL_SWITCH_TOKEN_ENV, TOKEN)
    live = LiveRun(ray_session, _config(f"duckdb://{tmp_path / 'arena.duckdb'}", redis_url, 480, 0.025), redis_url)
    run_id, cfg = live.run_id, live.cfg
    app = create_app(cfg.store, redis_url, events_ping_s=1.0, events_block_ms=500)
    with serve_app(app) as site:
        view = OfflinePage(browser)
        try:
            page = view.page
            live.start()
            view.open(f"{site}/#/")
            assert page.locator(f"#runs-table tr[data-run-id='{run_id}'][data-live='1']").count() == 1
            page.evaluate("window.__sameDocument = true")
            page.evaluate(f"location.hash = '#token={TOKEN}'")  # the page keeps the token, then shows the runs
            page.wait_for_selector("#token-state .killable")
            page.evaluate(f"location.hash = '#/run/{quote(run_id, safe='')}'")
            page.wait_for_selector("#live-card:not([hidden])")
            assert "store is busy" in page.locator("#notice").inner_text()
            _wait(page, "() => Number(document.querySelector('#live-fill-count').textContent) > 0")
            page.wait_for_selector("#leaderboard tbody tr")
            fills_before = _number(page, "#live-fill-count")
            board_before = page.locator("#leaderboard tbody").inner_text()
            assert "Live standings" in page.locator("#ranked-by").inner_text()
            view.shot("live")

            page.evaluate("window.arena.feed.drop()")  # a dropped connection: resume after the last id
            _wait(page, "n => Number(document.querySelector('#live-fill-count').textContent) > n", arg=fills_before)
            _wait(page, "before => document.querySelector('#leaderboard tbody').innerText !== before", arg=board_before)
            points = {s["name"]: s["points"] for s in page.evaluate("window.arena.equity.info()")}
            assert set(points) == {"bench", "sma", "flip"}, points
            # each leaderboard snapshot adds a point to every curve: the chart grows without a reload
            _wait(page, "n => Math.min(...window.arena.equity.info().map(s => s.points)) > n", arg=min(points.values()))

            page.fill("#kill-reason", "page test")
            page.click("#kill-button")
            _wait(page, "() => document.querySelector('#kill-result').textContent.startsWith('tripped')", 30)
            page.wait_for_selector("#arena-status .killed", timeout=30_000)
            assert "page test" in page.locator("#arena-status").inner_text()

            _wait(page, "() => window.arena.feed.stopped", 120)
            result = live.result()
            _wait(page, "() => document.querySelector('#ranked-by').textContent.includes('annualized Sharpe')", 30)
            assert page.evaluate("window.arena.feed.reconnects") >= 1
            assert _number(page, "#live-fill-count") == _count(cfg.store, "fills", run_id), "no fill lost or repeated"
            _wait(page, "() => document.querySelector('#view').dataset.recorded === '1'", 60)  # the store is free
            assert page.locator("#notice").is_hidden()
            n_bars = result.n_bars
            for series in page.evaluate("window.arena.equity.info()"):
                assert series["points"] == n_bars, series  # the recorded curve, not the live snapshots
            assert "kill switch tripped: page test" in page.locator("#arena-status").inner_text()
            assert page.evaluate("window.__sameDocument === true"), "the page was never reloaded"
            view.shot("live-finished")
        finally:
            view.close()
            live.close()
    assert not view.errors and not view.blocked, (view.errors, view.blocked)


@pytest.fixture
def questdb_url():
    """A fresh store (own table prefix) on the QuestDB server of `make services`; tables dropped after."""
    import psycopg

    from arena.store.schema import TABLES

    try:
        httpx.get("http://127.0.0.1:9000/exec", params={"query": "select 1"}, timeout=2).raise_for_status()
    except httpx.HTTPError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"QuestDB is required under CI: {exc}")
        pytest.skip(f"no QuestDB server on 127.0.0.1:9000 (make services): {exc}")
    prefix = f"page{uuid.uuid4().hex[:8]}_"
    yield f"questdb://127.0.0.1:9000?prefix={prefix}"
    with psycopg.connect("host=127.0.0.1 port=8812 user=admin password=quest dbname=qdb", autocommit=True) as con:
        for name in TABLES:
            con.execute(f'DROP TABLE IF EXISTS "{prefix}{name}"')


def test_live_run_read_from_questdb_while_it_writes(ray_session, redis_url, questdb_url, browser) -> None:
    live = LiveRun(ray_session, _config(questdb_url, redis_url, 400, 0.025), redis_url)
    app = create_app(questdb_url, redis_url, events_ping_s=1.0, events_block_ms=500)
    with serve_app(app) as site:
        view = OfflinePage(browser)
        try:
            page = view.page
            live.start()
            deadline = time.time() + 30  # the run's row, once QuestDB has applied its first write
            while httpx.get(f"{site}/runs/{quote(live.run_id, safe='')}").status_code != 200:
                assert time.time() < deadline, "the running run never showed in the store"
                time.sleep(0.1)
            view.open(f"{site}/#/run/{quote(live.run_id, safe='')}")
            page.wait_for_selector("#live-card:not([hidden])")
            assert page.locator("#notice").is_hidden(), "QuestDB answers reads during the run"
            assert "running" in page.locator("#arena-status").inner_text()
            recorded = {s["name"]: s["points"] for s in page.evaluate("window.arena.equity.info()")}
            assert set(recorded) == {"bench", "sma", "flip"}, "every configured contender, records or not"
            _wait(page, "() => Number(document.querySelector('#live-fill-count').textContent) > 0")
            _wait(page, "() => document.querySelector('#ranked-by').textContent.includes('Live standings')")
            grown = "n => Math.min(...window.arena.equity.info().map(s => s.points)) > n"
            _wait(page, grown, arg=max(recorded.values()))  # live points after the recorded ones
            view.shot("live-questdb")
            result = live.result()
            _wait(page, "() => document.querySelector('#view').dataset.recorded === '1'", 60)
            assert [r.get_attribute("data-contender") for r in page.locator("#leaderboard tbody tr").all()] == [
                r["contender"] for r in result.leaderboard
            ]
        finally:
            view.close()
            live.close()
    assert not view.errors and not view.blocked, (view.errors, view.blocked)
