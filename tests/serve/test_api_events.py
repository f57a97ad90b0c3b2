"""GET /runs/{run_id}/events when live events cannot be served, and its OpenAPI entry.
(The live stream itself is tested against a real Redis in tests/live.)"""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from serve.api import create_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_events_without_an_events_url_is_503(client, sample):
    answer = client.get(f"/runs/{sample.run_id}/events")
    assert answer.status_code == 503
    assert "live events are not configured" in answer.json()["detail"]
    assert "--events" in answer.json()["detail"]


def test_events_with_redis_unreachable_is_503_naming_the_url(sample_store):
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    with TestClient(create_app(sample_store[0], url)) as test_client:
        answer = test_client.get(f"/runs/{sample_store[1].run_id}/events")
    assert answer.status_code == 503
    assert url in answer.json()["detail"]


def test_bad_events_url_fails_at_build_time(sample_store):
    with pytest.raises(ValueError, match="redis:// or rediss://"):
        create_app(sample_store[0], "http://127.0.0.1:6379")


def test_openapi_documents_the_event_stream(client):
    op = client.get("/openapi.json").json()["paths"]["/runs/{run_id}/events"]["get"]
    assert "text/event-stream" in op["responses"]["200"]["content"]
    for kind in ("run_started", "fill", "risk_verdict", "leaderboard", "run_finished"):
        assert f"``{kind}``" in op["description"]
    params = {p["name"]: p["in"] for p in op["parameters"]}
    assert params["Last-Event-ID"] == "header" and params["last_event_id"] == "query" and params["from"] == "query"
    assert {"404", "422", "503"} <= set(op["responses"])
