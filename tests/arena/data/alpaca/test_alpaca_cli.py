"""`arena data fetch CONFIG` fills the cache; `arena run` on an Alpaca config without keys exits 2
naming the variable, with no traceback and before Ray starts."""

from __future__ import annotations

import json

import ray
from typer.testing import CliRunner

from arena.cli import app


def _config(tmp_path, sim_url: str, **data) -> str:
    spec = {"source": "alpaca", "symbols": ["AAPL", "MSFT"], "timeframe": "1Min", "start": "2024-01-03T14:30:00Z",
            "end": "2024-01-03T15:59:00Z", "data_url": sim_url, "cache_dir": str(tmp_path / "cache"), **data}
    path = tmp_path / "alpaca.yaml"
    path.write_text(f"name: alp\ndata: {json.dumps(spec)}\ncontenders:\n  - {{name: b, class: buy_and_hold}}\n"
                    f"store: duckdb://{tmp_path}/a.duckdb\n")
    return str(path)


def test_data_fetch_fills_the_cache_and_a_second_fetch_is_a_hit(stock_sim, tmp_path):
    cfg = _config(tmp_path, stock_sim.url)
    first = CliRunner().invoke(app, ["data", "fetch", cfg, "--json"])
    assert first.exit_code == 0, first.output
    answer = json.loads(first.stdout)
    assert answer["rows"] == 179 and answer["downloaded"] is True and answer["cache_file"].endswith(".parquet")
    requests = stock_sim.requests
    second = json.loads(CliRunner().invoke(app, ["data", "fetch", cfg, "--json"]).stdout)
    assert second["downloaded"] is False and second["sha256"] == answer["sha256"]
    assert stock_sim.requests == requests  # served from the cache, no request made


def test_data_fetch_without_keys_says_which_variable_to_set(stock_sim, tmp_path, monkeypatch):
    monkeypatch.delenv("APCA_API_KEY_ID")
    res = CliRunner().invoke(app, ["data", "fetch", _config(tmp_path, stock_sim.url)])
    assert res.exit_code == 2
    assert "set APCA_API_KEY_ID in the environment" in res.output and "Traceback" not in res.output


def test_run_with_rejected_keys_fails_before_ray_starts(stock_sim, tmp_path, monkeypatch):
    monkeypatch.setenv("APCA_API_KEY_ID", "PKWRONG")
    started = ray.is_initialized()
    res = CliRunner().invoke(app, ["run", _config(tmp_path, stock_sim.url)])
    assert res.exit_code == 2, res.output
    assert "Alpaca rejected the API keys (HTTP 403" in res.output and "PKWRONG" not in res.output
    assert "Traceback" not in res.output and ray.is_initialized() == started
