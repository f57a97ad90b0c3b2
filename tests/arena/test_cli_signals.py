"""Stopping a run: SIGTERM (what `arena stop` sends) or Ctrl-C to `arena run` stops it within
seconds with a snapshot of every contender, recorded `stopped`, and `--resume` finishes it; a
second signal aborts it, recorded `interrupted`: never left `running`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


from arena.store import open_store

ROOT = Path(__file__).resolve().parents[2]


def _paced_config(tmp_path, interval_s: float | None, extra: str = ""):
    config = tmp_path / f"paced-{interval_s}.yaml"
    replay = "{mode: replay}" if interval_s is None else f"{{mode: paced, bar_interval_s: {interval_s}}}"
    config.write_text(
        "name: paced-stop\n"
        "data: {source: sample, name: us_equities_daily}\n"
        f"replay: {replay}\n"
        "contenders:\n  - {name: sma, class: sma_crossover}\n  - {name: bench, class: buy_and_hold}\n" + extra +
        f"store: duckdb://{tmp_path / 'arena.duckdb'}\n"
        "ray: {num_cpus: 2}\n"
    )
    return config


def _arena(*args: str) -> subprocess.Popen:
    support = str(ROOT / "tests" / "support")  # the test contenders, for the workers too
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0",
           "PYTHONPATH": os.pathsep.join(p for p in (support, os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen([sys.executable, "-m", "arena.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _started(proc: subprocess.Popen, store: Path) -> None:
    deadline = time.monotonic() + 120
    while not store.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.25)  # the recorder creates the store when the run starts
    time.sleep(4)  # bars flowing (the whole paced run would take 107 s)
    assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""


def test_sigterm_stops_a_run_with_its_snapshots_and_resume_finishes_it(tmp_path):
    """As a user would: `arena run`, SIGTERM (what `arena stop` sends), then `arena run --resume`
    (here as a replay at full speed, which the config may change from paced) to the end."""
    store = tmp_path / "arena.duckdb"
    proc = _arena("run", str(_paced_config(tmp_path, 0.05)))
    _started(proc, store)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    stopped_s = time.monotonic() - t0
    assert proc.returncode == 143, out
    assert stopped_s < 15, f"took {stopped_s:.1f} s to stop"
    (run,) = open_store(f"duckdb://{store}", read_only=True).list_runs()
    assert run["status"] == "stopped" and 0 < run["n_bars"], "never left running"
    assert f"--resume {run['run_id']}" in out, out
    resumed = _arena("run", str(_paced_config(tmp_path, None)), "--resume", run["run_id"], "--json")
    out, _ = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, out
    result = json.loads(next(line for line in out.splitlines() if line.startswith('{"run_id"')))
    assert result["run_id"] == run["run_id"] and result["status"] == "finished"
    with open_store(f"duckdb://{store}", read_only=True) as s:
        again = s.get_run(run["run_id"])
        equity = s.equity_curve(run["run_id"], "sma")
    assert again["status"] == "finished" and again["n_bars"] == result["n_bars"] > run["n_bars"]
    assert len(equity) == result["n_bars"], "one equity row per bar, none twice, none missing across the stop"
    refused = _arena("run", str(_paced_config(tmp_path, None)), "--resume", run["run_id"])
    out, _ = refused.communicate(timeout=120)
    assert refused.returncode != 0 and "no stop snapshot" in out, out


def test_a_second_signal_aborts_without_a_snapshot(tmp_path):
    """Ctrl-C while the stop is snapshotting a contender that takes seconds to pickle."""
    store = tmp_path / "arena.duckdb"
    slow = "  - {name: slow, class: 'arena_test_contenders:SlowToSnapshot', params: {pickle_s: 20}}\n"
    proc = _arena("run", str(_paced_config(tmp_path, 0.05, slow)))
    _started(proc, store)
    proc.send_signal(signal.SIGINT)
    time.sleep(2)  # snapshotting `slow`
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "stopped (SIGINT): the run is recorded as interrupted" in out, out[-3000:]
    runs = open_store(f"duckdb://{store}", read_only=True).list_runs()
    assert [r["status"] for r in runs] == ["interrupted"], "never left running"
