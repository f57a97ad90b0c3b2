"""Stopping a run: SIGTERM (or Ctrl-C) to `arena run` stops it within seconds, and the run is
recorded as interrupted with the bars it had done, never left `running`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arena.store import open_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143)])
def test_a_signal_stops_a_paced_run_within_seconds(tmp_path, sig, code):
    config = tmp_path / "paced.yaml"
    store = tmp_path / "arena.duckdb"
    config.write_text(
        "name: paced-stop\n"
        "data: {source: sample, name: us_equities_daily}\n"
        "replay: {mode: paced, bar_interval_s: 0.05}\n"
        "contenders:\n  - {name: sma, class: sma_crossover}\n"
        f"store: duckdb://{store}\n"
        "ray: {num_cpus: 2}\n"
    )
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not store.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.25)  # the recorder creates the store when the run starts
    time.sleep(4)  # bars flowing (the whole paced run would take 107 s)
    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    stopped_s = time.monotonic() - t0
    assert proc.returncode == code, out
    assert stopped_s < 15, f"took {stopped_s:.1f} s to stop"
    assert "stopped (SIGTERM): the run is recorded as interrupted" in out
    runs = open_store(f"duckdb://{store}", read_only=True).list_runs()
    assert [r["status"] for r in runs] == ["interrupted"], "never left running"
