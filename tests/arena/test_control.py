"""Operator controls reach the run they name and no other: the registration of running arenas,
stale registrations of killed drivers, and `POST /kill-switch` during a live run with `arena run`
and `arena serve` started as two processes, each with its own Ray, as the README says."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from arena import control
from arena.cli import app
from arena.cluster import arena_home
from arena.store import open_store

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-control-token"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _run_row(run_id: str) -> dict:
    return {"run_id": run_id, "name": "r", "config": {}, "data_source": {}, "data_sha256": "0" * 64,
            "code_version": "test", "seed": 0, "started_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            "symbols": ["A"], "periods_per_year": 252.0, "status": "running"}


def _stale_registration(run_id: str) -> Path:
    path = control.register(run_id, "r", "127.0.0.1:1")
    entry = json.loads(path.read_text())
    path.write_text(json.dumps({**entry, "pid": _dead_pid()}))
    return path


def test_a_registration_lists_the_run_until_it_is_removed():
    run_id = f"reg-{uuid.uuid4().hex[:6]}"
    path = control.register(run_id, "r", "127.0.0.1:6399")
    assert path.parent == arena_home() / "control"
    assert run_id in control.running_arenas()
    assert run_id in control.running_arenas("127.0.0.1:6399") and run_id not in control.running_arenas("10.0.0.1:1")
    control.unregister(run_id)
    assert run_id not in control.running_arenas()


def test_controls_need_a_run_or_all_and_name_a_missing_run():
    with pytest.raises(ValueError, match="name one run"):
        control.trip_kill_switch("drill")
    with pytest.raises(ValueError, match="name one run"):
        control.reset_kill_switch("some-run", all_runs=True)
    with pytest.raises(control.NoRunError, match="no running arena with run_id 'nope'"):
        control.trip_kill_switch("drill", "nope")


def test_a_run_whose_driver_was_killed_is_marked_interrupted_by_the_next_writer(tmp_path):
    run_id = f"orphan-{uuid.uuid4().hex[:6]}"
    path = _stale_registration(run_id)
    assert run_id not in control.running_arenas(), "a dead driver's run is not listed"
    store = open_store(f"duckdb://{tmp_path / 'a.duckdb'}")
    store.create_run(_run_row(run_id))
    days = [1_700_000_000 * 10**9 + d * 86_400 * 10**9 for d in range(3)]
    store.append("equity", [{"run_id": run_id, "contender": "c", "ts": ts, "bar_index": i, "equity": 1.0,
                             "cash": 1.0, "gross_exposure": 0.0} for i, ts in enumerate(days)])
    assert control.mark_interrupted(store) == [run_id]
    run = store.get_run(run_id)
    assert (run["status"], run["n_bars"]) == ("interrupted", 3)
    assert not path.exists(), "the registration is removed once the run is marked"
    other = _stale_registration("held-by-another-store")
    assert control.mark_interrupted(store) == [] and other.exists(), "left for the store that holds the run"
    other.unlink()
    store.close()


def test_the_cli_needs_a_run_or_all_and_asks_before_all(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["kill-switch"])
    assert res.exit_code == 2 and "--run RUN_ID, or --all" in res.output
    run_id = f"ask-{uuid.uuid4().hex[:6]}"
    control.register(run_id, "r", "127.0.0.1:1")
    try:
        res = runner.invoke(app, ["kill-switch", "--all"], input="n\n")
        assert res.exit_code == 1 and run_id in res.output and "nothing done" in res.output
    finally:
        control.unregister(run_id)
    res = runner.invoke(app, ["kill-switch", "--run", "nope"])
    assert res.exit_code == 1 and "no running arena with run_id 'nope'" in res.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.ray
@pytest.mark.slow
def test_post_kill_switch_trips_the_live_run_started_by_arena_run_and_nothing_else(ray_session, tmp_path):
    """`arena run` and `arena serve`, two processes each with a Ray of its own; a third arena
    (a guardian on the tests' own Ray) is registered too and must not be touched. Then
    `arena kill-switch --reset` and `arena stop` from the command line."""
    from arena.actors.guardian import RiskGuardianActor
    from arena.actors.recorder import RecorderActor
    from arena.control import GUARDIAN_PREFIX, NAMESPACE
    from arena.risk import RiskLimits

    ray = ray_session
    bystander = f"bystander-{uuid.uuid4().hex[:6]}"
    rec = RecorderActor.remote(f"duckdb://{tmp_path / 'bystander.duckdb'}")
    guard = RiskGuardianActor.options(name=GUARDIAN_PREFIX + bystander, namespace=NAMESPACE).remote(
        bystander, RiskLimits(), rec)
    control.register(bystander, "bystander", ray.get_runtime_context().gcs_address)

    store = tmp_path / "live.duckdb"
    config = tmp_path / "live.yaml"
    config.write_text(
        "name: live-kill\n"
        "data: {source: sample, name: us_equities_daily}\n"
        "replay: {mode: paced, bar_interval_s: 0.05}\n"
        "contenders:\n  - {name: sma, class: sma_crossover}\n"
        f"store: duckdb://{store}\n"
        "ray: {num_cpus: 2}\n"
    )
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "ARENA_KILL_SWITCH_TOKEN": TOKEN}
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    runs = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = subprocess.Popen([sys.executable, "-m", "arena.cli", "serve", "--store", f"duckdb://{store}",
                               "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        mine = []
        while not mine and time.monotonic() < deadline and runs.poll() is None:
            mine = [r for r in control.running_arenas() if r != bystander and r.startswith("live-kill")]
            time.sleep(0.25)
        assert mine, "the run registered its control address"
        (run_id,) = mine
        up = False
        while not up and time.monotonic() < deadline and served.poll() is None:
            try:
                up = httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.5)
        assert up, "arena serve answers"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.post(f"{base}/kill-switch", json={"reason": "e2e drill", "run_id": run_id}, headers=auth,
                            timeout=90)
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"tripped": [run_id]}
        assert ray.get(guard.status.remote())["kill_switch"] is False, "the other arena is not touched"
        cli = subprocess.run([sys.executable, "-m", "arena.cli", "kill-switch", "--reset", "--run", run_id],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
        assert cli.returncode == 0 and f"kill switch reset for: {run_id}" in cli.stdout, cli.stdout + cli.stderr
        assert runs.poll() is None, "still running"
        t0 = time.monotonic()
        stop = subprocess.run([sys.executable, "-m", "arena.cli", "stop", run_id], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0 and f"stopping {run_id}" in stop.stdout, stop.stdout + stop.stderr
        out, _ = runs.communicate(timeout=60)
        assert runs.returncode == 143 and time.monotonic() - t0 < 15, out
        assert f"--resume {run_id}" in out, "stopped with its snapshots, resumable"
    finally:
        for proc in (runs, served):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        control.unregister(bystander)
        ray.kill(guard)
        ray.kill(rec)
    reader = open_store(f"duckdb://{store}", read_only=True)
    assert reader.get_run(run_id)["status"] == "stopped"
    kinds = [e["kind"] for e in reader.kill_switch_events(run_id)]
    assert kinds == ["KILL_SWITCH_TRIPPED", "KILL_SWITCH_RESET"]
    assert run_id not in control.running_arenas(), "the registration is gone with the run"


def test_recover_store_marks_a_killed_drivers_run(tmp_path):
    url = f"duckdb://{tmp_path / 'r.duckdb'}"
    run_id = f"killed-{uuid.uuid4().hex[:6]}"
    with open_store(url) as store:
        store.create_run(_run_row(run_id))
    _stale_registration(run_id)
    assert control.recover_store(url) == [run_id]
    assert control.recover_store(url) == [], "once"
    assert open_store(url, read_only=True).get_run(run_id)["status"] == "interrupted"
