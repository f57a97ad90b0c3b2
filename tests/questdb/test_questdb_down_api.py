"""The API over a QuestDB store whose server does not answer: 503 with the reason, not a crash."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from serve.api import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_questdb_answers_503_naming_the_server() -> None:
    pg = _free_port()  # nothing listens there
    client = TestClient(create_app(f"questdb://127.0.0.1:{_free_port()}?pg_port={pg}"))
    for path in ("/runs", "/runs/some-run/leaderboard", "/decisions/a/b/1/why"):
        answer = client.get(path)
        assert answer.status_code == 503, (path, answer.text)
        assert f"127.0.0.1:{pg}" in answer.json()["detail"]
        assert answer.headers["retry-after"] == "5"
