"""Answers about ended runs are kept: asked again, they come from memory (the store is not
read); answers about a running or a stopped run are not, and follow the store."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb

from fastapi.testclient import TestClient
from serve_sample_run import RUN_ID, decision_id, write_sample_run

from arena.store import DuckDBStore
from serve.api import create_app
from serve.cache import CACHEABLE_STATUSES, EndedRunCache, run_of_path


def _cache(client: TestClient) -> EndedRunCache:
    app = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(app, EndedRunCache):
        app = app.app
    return app


def test_answers_about_a_finished_run_come_from_memory(tmp_path):
    path = tmp_path / "arena.duckdb"
    with DuckDBStore(path) as store:
        write_sample_run(store)
    urls = [f"/runs/{RUN_ID}", f"/runs/{RUN_ID}/leaderboard", f"/runs/{RUN_ID}/fills",
            f"/decisions/{decision_id('sma_cross', 3)}/why"]
    with TestClient(create_app(f"duckdb://{path}")) as client:
        first = [client.get(u) for u in urls]
        assert [r.status_code for r in first] == [200] * len(urls)
        shutil.move(path, tmp_path / "moved.duckdb")  # the store is gone: only kept answers can be given
        again = [client.get(u) for u in urls]
        assert [r.content for r in again] == [r.content for r in first]
        assert [r.headers["content-type"] for r in again] == [r.headers["content-type"] for r in first]
        assert _cache(client).hits == len(urls)
        assert client.get("/runs").status_code == 503, "the list of runs is never kept"
        assert client.get(f"/runs/{RUN_ID}/trials").status_code == 503, "nor the trials register"
        assert client.get(f"/runs/{RUN_ID}/leaderboard?rank_by=sortino").status_code in (503, 422), "a new query"


def test_answers_about_a_stopped_run_follow_the_store(tmp_path):
    """A stopped run may be resumed: what it answers now is not what it will answer."""
    path = tmp_path / "arena.duckdb"
    with DuckDBStore(path) as store:
        write_sample_run(store)
    con = duckdb.connect(str(path))
    con.execute("UPDATE runs SET status = 'stopped' WHERE run_id = ?", [RUN_ID])  # as a stop leaves it
    con.close()
    with TestClient(create_app(f"duckdb://{path}", busy_timeout_s=5.0)) as client:
        assert client.get(f"/runs/{RUN_ID}").json()["status"] == "stopped"
        with DuckDBStore(path) as store:
            store.reopen_run(RUN_ID)
        assert client.get(f"/runs/{RUN_ID}").json()["status"] == "running"
        with DuckDBStore(path) as store:
            store.finish_run(RUN_ID, dt.datetime.now(dt.UTC), "finished", 10)
        assert client.get(f"/runs/{RUN_ID}").json()["status"] == "finished"
        assert _cache(client).hits == 0


def test_which_paths_are_about_a_run():
    assert run_of_path("/runs/r1/leaderboard") == "r1"
    assert run_of_path("/runs/r1") == "r1"
    assert run_of_path("/decisions/r1/sma/012/why") == "r1"
    assert run_of_path("/decisions/r1%2Fsma%2F012/why") == "r1"
    assert run_of_path("/runs") is None and run_of_path("/runs/") is None
    assert run_of_path("/runs/r1/events") is None and run_of_path("/runs/r1/trials") is None
    assert run_of_path("/healthz") is None
    assert "stopped" not in CACHEABLE_STATUSES and "running" not in CACHEABLE_STATUSES
