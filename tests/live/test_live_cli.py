"""`arena run --events URL` (typer's runner, session Ray) publishes the run's live events."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from arena.cli import app
from arena.live import stream_key

runner = CliRunner()


def _config(tmp_path, **over) -> str:
    raw = {
        "name": "cli-live",
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "n_bars": 60, "seed": 3},
        "contenders": [{"name": "bench", "class": "buy_and_hold"}],
        "store": f"duckdb://{tmp_path / 'cli.duckdb'}",
        **over,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.ray
def test_run_with_events_flag_publishes_the_run(ray_session, redis_url, redis_client, tmp_path):
    res = runner.invoke(app, ["run", _config(tmp_path), "--events", redis_url, "--json"])
    assert res.exit_code == 0, res.output
    run_id = json.loads(res.stdout)["run_id"]
    key = stream_key(run_id)
    try:
        kinds = [fields["kind"] for _id, fields in redis_client.xrange(key)]
        assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and "fill" in kinds
    finally:
        redis_client.delete(key)


def test_bad_events_url_exits_2_naming_the_key(tmp_path):
    res = runner.invoke(app, ["run", _config(tmp_path), "--events", "http://127.0.0.1:6379"])
    assert res.exit_code == 2
    assert "events" in res.output and "redis:// or rediss://" in res.output


def test_events_url_in_the_config_is_checked(tmp_path):
    res = runner.invoke(app, ["run", _config(tmp_path, events="redis://")])
    assert res.exit_code == 2
    assert "events:" in res.output and "no host" in res.output


def test_events_url_env_is_the_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_EVENTS_URL", "http://not-redis:6379")
    res = runner.invoke(app, ["run", _config(tmp_path)])
    assert res.exit_code == 2, "ARENA_EVENTS_URL is read (and checked) when neither --events nor the config names one"
    assert "redis:// or rediss://" in res.output


def test_serve_refuses_a_bad_events_url():
    res = runner.invoke(app, ["serve", "--events", "http://127.0.0.1:6379"])
    assert res.exit_code == 2 and "--events" in res.output
