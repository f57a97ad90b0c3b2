"""`arena up` starts a local Ray head that later runs reuse; `arena down` stops exactly it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ARENA = str(Path(sys.executable).with_name("arena"))


@pytest.mark.slow
def test_up_run_down(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("ARENA_HOME", str(home))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({
        "name": "up-test",
        "data": {"source": "sample", "name": "us_equities_daily", "since": "2017-01-01"},
        "capital": 10_000,
        "contenders": [{"name": "bench", "class": "buy_and_hold"}],
        "store": f"duckdb://{tmp_path / 'up.duckdb'}",
    }))
    started = subprocess.run([ARENA, "up", "--num-cpus", "8", "--port", "6397"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert started.returncode == 0, started.stdout + started.stderr
    from arena import cluster

    try:
        head = cluster.running()
        assert head is not None and head["address"].endswith(":6397")
        for _ in range(2):  # both runs use the head; neither starts a Ray of its own
            run = subprocess.run([ARENA, "run", str(cfg), "--json"], env=env, capture_output=True, text=True,
                                 timeout=180)
            assert run.returncode == 0, run.stderr[-3000:]
            assert "using the local Ray head of `arena up`" in run.stderr
            assert json.loads(run.stdout)["status"] == "finished"
        again = subprocess.run([ARENA, "up"], env=env, capture_output=True, text=True, timeout=60)
        assert head["address"] in again.stdout  # already running: the same head
    finally:
        stopped = subprocess.run([ARENA, "down"], env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0 and "stopped the Ray head" in stopped.stdout
    assert cluster.running() is None
    current = Path("/tmp/ray/ray_current_cluster")  # Ray's record of the machine's cluster: not ours any more
    assert not current.exists() or current.read_text().strip() != head["address"]
    assert "no Ray head" in subprocess.run([ARENA, "down"], env=env, capture_output=True, text=True).stdout


def test_head_record_of_a_dead_process_is_ignored(tmp_path, monkeypatch):
    from arena import cluster

    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    cluster.state_file().write_text(json.dumps({"pid": 2**22 + 12345, "address": "127.0.0.1:1"}))
    assert cluster.running() is None
    assert not cluster.state_file().exists()
