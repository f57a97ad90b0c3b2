"""The real Ray Serve deployment, on the session Ray instance, over HTTP."""

from __future__ import annotations

import socket

import httpx
from pathlib import Path
import pytest
from serve_sample_run import RUN_ID, SampleRun

from serve.api import KILL_SWITCH_TOKEN_ENV
from serve.deployment import build, run_serve


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_build_rejects_a_malformed_store_url() -> None:
    with pytest.raises(ValueError, match="unknown scheme"):
        build("sqlite:///arena.db")


@pytest.mark.ray
@pytest.mark.slow
def test_serve_answers_health_and_leaderboard_over_http(
    ray_session: object,
    sample_store: tuple[str, SampleRun],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ray import serve

    # set only in this process: reaching the replica proves build() forwards it
    monkeypatch.setenv(KILL_SWITCH_TOKEN_ENV, "deploy-token")
    port = _free_port()
    base_url = run_serve(sample_store[0], port=port, blocking=False, name="arena-test")
    try:
        assert base_url == f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url, timeout=30.0) as http:
            health = http.get("/healthz")
            assert health.status_code == 200
            assert health.json() == {"status": "ok", "store": sample_store[0]}
            board = http.get(f"/runs/{RUN_ID}/leaderboard")
            assert board.status_code == 200
            assert [(r["rank"], r["contender"]) for r in board.json()] == [
                (1, "momentum"),
                (2, "sma_cross"),
            ]
            wrong = http.post(
                "/kill-switch", json={"reason": "x"}, headers={"Authorization": "Bearer nope"}
            )
            assert wrong.status_code == 401  # 503 would mean the token never reached the replica
            page = http.get("/")  # the arena page and its files, from the replica's package
            assert page.status_code == 200 and '<script type="module" src="/static/js/app.js">' in page.text
            chart_js = "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs"
            assert http.get(chart_js).headers["content-type"].startswith(("text/javascript", "application/javascript"))
            assert "swagger-ui-bundle.js" in http.get("/docs").text
        assert not _files_containing(_session_dir(), "deploy-token"), "the token is in Ray's session files"
    finally:
        serve.shutdown()


def _session_dir() -> Path:
    import ray

    return Path(ray._private.worker._global_node.get_session_dir_path())  # this test session's Ray only


def _files_containing(folder: Path, secret: str) -> list[str]:
    """Files under ``folder`` (logs, runtime environments) whose bytes contain ``secret``."""
    hits = []
    needle = secret.encode()
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                hits.append(str(path))
        except OSError:
            continue
    return hits
