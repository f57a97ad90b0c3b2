"""A run given a Redis password in its events URL: the password is in no stored row, no API
answer, no CLI output and no file of the Ray session."""

from __future__ import annotations

import json
from pathlib import Path

import ray
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from arena.cli import app
from arena.config import parse_config
from arena.topology import run_arena
from serve.api import create_app

SECRET = "s3cr3t-in-the-url"


def test_a_password_in_the_events_url_is_never_written(ray_session, redis_url, tmp_path):
    store = f"duckdb://{tmp_path / 'arena.duckdb'}"
    events = redis_url.replace("redis://", f"redis://:{SECRET}@")  # this Redis has no password: AUTH fails
    cfg = parse_config({
        "name": "secret-run",
        "data": {"source": "sample", "name": "us_equities_daily"},
        "contenders": [{"name": "bench", "class": "buy_and_hold"}],
        "store": store,
        "events": events,
    })
    result = run_arena(cfg)
    assert result.status == "finished", "the live feed's trouble never fails the run"
    api = TestClient(create_app(store))
    for path in ("/runs", f"/runs/{result.run_id}", "/healthz"):
        body = api.get(path).text
        assert SECRET not in body, path
    run = api.get(f"/runs/{result.run_id}").json()
    assert run["config"]["events"].startswith("redis://:***@"), "redacted, not dropped"
    out = CliRunner().invoke(app, ["runs", "--store", store, "--json"])
    assert out.exit_code == 0 and SECRET not in out.output
    assert json.loads(out.stdout)[0]["run_id"] == result.run_id
    session = Path(ray._private.worker._global_node.get_session_dir_path())
    leaked = [str(p) for p in session.rglob("*") if p.is_file() and not p.is_symlink() and _has(p)]
    assert not leaked, f"the password is in {leaked}"


def _has(path: Path) -> bool:
    try:
        return SECRET.encode() in path.read_bytes()
    except OSError:
        return False
