"""HTTP API: POST /kill-switch and its bearer token."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from arena.store import open_store
from serve.api import KILL_SWITCH_TOKEN_ENV

TOKEN = "s3cret-token"


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KILL_SWITCH_TOKEN_ENV, TOKEN)
    return TOKEN


def test_disabled_without_a_configured_token(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KILL_SWITCH_TOKEN_ENV, raising=False)
    answer = client.post(
        "/kill-switch", json={"reason": "test"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 503
    assert "kill switch disabled: no token configured" in answer.json()["detail"]
    assert KILL_SWITCH_TOKEN_ENV in answer.json()["detail"]


def test_empty_token_counts_as_unset(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KILL_SWITCH_TOKEN_ENV, "")
    answer = client.post(
        "/kill-switch", json={"reason": "test"}, headers={"Authorization": "Bearer "}
    )
    assert answer.status_code == 503


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
def test_missing_or_wrong_token_is_401(
    client: TestClient, token: str, headers: dict[str, str]
) -> None:
    answer = client.post("/kill-switch", json={"reason": "test"}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json() == {"detail": "missing or wrong bearer token"}


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": "", "run_id": "r"}, {"reason": "  ", "run_id": "r"}, {"reason": "x", "run_id": "r", "force": True},
     {"reason": 3, "run_id": "r"}, {"reason": "x"}, {"reason": "x", "run_id": "r", "all": True}],
)
def test_bad_body_is_422(client: TestClient, token: str, body: dict[str, object]) -> None:
    answer = client.post("/kill-switch", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422


@pytest.mark.ray
def test_valid_token_calls_arena_control_and_with_no_arena_answers_409(
    client: TestClient, token: str, ray_session: object
) -> None:
    # On the session Ray instance no arena guardian is running, so nothing is tripped.
    answer = client.post(
        "/kill-switch",
        json={"reason": "api test", "run_id": "no-such-run"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 409
    assert answer.json() == {"detail": "no running arena with run_id 'no-such-run'"}


@pytest.mark.ray
def test_valid_token_trips_a_running_guardian_and_the_trip_is_recorded(
    client: TestClient, token: str, ray_session: Any, tmp_path: Path
) -> None:
    from arena import control
    from arena.actors.guardian import RiskGuardianActor
    from arena.actors.recorder import RecorderActor
    from arena.control import GUARDIAN_PREFIX, NAMESPACE
    from arena.risk import RiskLimits

    ray = ray_session
    run_id = f"api-kill-{uuid.uuid4().hex[:8]}"
    store_url = f"duckdb://{tmp_path / 'kill.duckdb'}"
    recorder = RecorderActor.remote(store_url)
    guardian = RiskGuardianActor.options(name=GUARDIAN_PREFIX + run_id, namespace=NAMESPACE).remote(
        run_id, RiskLimits(), recorder
    )
    ray.get(guardian.register.remote({}, ["c"]))
    control.register(run_id, "api-kill", ray.get_runtime_context().gcs_address)
    auth = {"Authorization": f"Bearer {token}"}
    try:
        assert ray.get(guardian.status.remote())["kill_switch"] is False
        answer = client.post("/kill-switch", json={"reason": "api test", "run_id": run_id}, headers=auth)
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"tripped": [run_id]}
        assert ray.get(guardian.status.remote())["kill_switch"] is True
        reset = client.post("/kill-switch/reset", json={"run_id": run_id}, headers=auth)
        assert reset.status_code == 200 and reset.json() == {"reset": [run_id]}
        assert ray.get(guardian.status.remote())["kill_switch"] is False
        released = client.post(f"/runs/{run_id}/contenders/c/release", headers=auth)
        assert released.status_code == 200 and released.json() == {"run_id": run_id, "contender": "c", "latched": []}
        unknown = client.post(f"/runs/{run_id}/contenders/nope/release", headers=auth)
        assert unknown.status_code == 404 and "has no contender 'nope'" in unknown.json()["detail"]
        assert client.post(f"/runs/{run_id}/contenders/c/release").status_code == 401
        ray.get(recorder.close.remote())
    finally:
        control.unregister(run_id)
        ray.kill(guardian)
        ray.kill(recorder)
    with open_store(store_url, read_only=True) as store:
        trip, reset_event = store.kill_switch_events(run_id)
    assert (trip["kind"], trip["reason"], trip["contender"]) == ("KILL_SWITCH_TRIPPED", "api test", None)
    assert reset_event["kind"] == "KILL_SWITCH_RESET"
