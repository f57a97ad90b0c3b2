"""Crashes are survived: a contender actor's process killed (SIGKILL) mid-run is restarted by Ray,
goes on from its last snapshot, and the run ends as an uninterrupted one would have."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import duckdb
import numpy as np
import pytest
import ray

from audit_rows import run_rows

from arena.config import parse_config
from arena.control import NAMESPACE
from arena.recovery import SnapshotFolder, snapshots_root
from arena.topology import run_arena

pytestmark = pytest.mark.ray

N_BARS = 300
TABLES = ("decisions", "orders", "fills", "risk_verdicts", "equity")


def _config(tmp_path, **over):
    raw = {
        "name": "t-recovery",
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "n_bars": N_BARS, "seed": 7},
        "capital": 10_000,
        "seed": 5,
        "execution": {"fill_price": "next_open", "commission_bps": 1.0, "slippage_bps": 2.0},
        "risk": {"max_position_weight": 0.6, "max_gross_leverage": 1.0},
        "contenders": [
            {"name": "flip", "class": "arena_test_contenders:FlipEveryBar", "params": {"weight": 0.8}},
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}},
        ],
        "replay": {"mode": "paced", "bar_interval_s": 0.01},
        "recovery": {"snapshot_every_bars": 100, "max_restarts": 2},
        "store": f"duckdb://{tmp_path / 'arena.duckdb'}",
        "artifacts": None,
    }
    raw.update(over)
    return parse_config(raw)


def _rows(path, run_id: str) -> dict[str, list[tuple]]:
    return run_rows(path, run_id, TABLES)


def _kill_when(run_id: str, key: str, ready, after_s: float, killed: list[tuple[int, int]]) -> None:
    """Once ``ready(actor, folder)`` holds, let actor ``key`` run ``after_s`` more, then SIGKILL its
    process; ``killed`` gets (pid, bars of the newest snapshot just before the kill, 0 for none)."""
    folder = SnapshotFolder.of(run_id, key)
    deadline = time.monotonic() + 120
    while True:
        try:
            actor = ray.get_actor(f"contender:{run_id}:{key}", namespace=NAMESPACE)
            break
        except ValueError:  # not created yet
            assert time.monotonic() < deadline, "the contender actor was never created"
            time.sleep(0.02)
    pid = ray.get(actor.__ray_call__.remote(lambda self: os.getpid()))
    while not ready(actor, folder):
        assert time.monotonic() < deadline, "never ready to be killed"
        time.sleep(0.02)
    time.sleep(after_s)
    snap = folder.latest()
    os.kill(pid, signal.SIGKILL)
    killed.append((pid, 0 if snap is None else snap["bars"]))


def _snapshotted(actor, folder) -> bool:
    return folder.latest() is not None


def _crashed_run(cfg, run_id: str, ready, after_s: float):
    killed: list[tuple[int, int]] = []
    killer = threading.Thread(target=_kill_when, args=(run_id, "flip", ready, after_s, killed))
    killer.start()
    result = run_arena(cfg, run_id=run_id)
    killer.join()
    return result, killed


@pytest.fixture(scope="module")
def clean_and_crashed(ray_session, tmp_path_factory):
    """The same config and seed run twice: once untouched, once with ``flip``'s process killed
    0.6 s (about 60 bars, paced) after its first snapshot (bar 100), so records after the
    snapshot had been written before the crash."""
    tmp = tmp_path_factory.mktemp("recovery")
    cfg = _config(tmp)
    clean = run_arena(cfg, run_id="t-recovery-clean")
    crashed, killed = _crashed_run(cfg, "t-recovery-crash", _snapshotted, 0.6)
    return cfg, tmp / "arena.duckdb", clean, crashed, killed


def test_the_killed_contender_is_restarted_and_the_run_finishes(clean_and_crashed):
    cfg, _, clean, crashed, killed = clean_and_crashed
    assert killed, "the contender's process was killed"
    assert crashed.status == "finished", crashed.leaderboard
    assert crashed.restarts == {"flip": 1, "sma": 0}
    assert clean.restarts == {"flip": 0, "sma": 0}
    assert crashed.contenders["flip"]["restarts"] == 1
    restored = crashed.contenders["flip"]["restored_from_bar"]
    assert restored >= killed[0][1] >= 100, "from the newest snapshot (one may be written as the kill lands)"
    assert restored % 100 == 0 and restored < N_BARS
    assert {r["contender"]: r["status"] for r in crashed.leaderboard} == {"flip": "ok", "sma": "ok"}
    assert {r["contender"]: r["restarts"] for r in crashed.leaderboard} == {"flip": 1, "sma": 0}, "a column"


def test_final_ledgers_match_an_uninterrupted_run(clean_and_crashed):
    _, _, clean, crashed, _ = clean_and_crashed
    for name in ("flip", "sma"):
        a, b = clean.contenders[name], crashed.contenders[name]
        assert len(b["equity"]) == N_BARS
        np.testing.assert_array_equal(a["ts_ns"], b["ts_ns"])
        np.testing.assert_array_equal(a["equity"], b["equity"])
        np.testing.assert_array_equal(a["cash"], b["cash"])
        assert a["fills"] == b["fills"]
        assert a["closed_trades"] == b["closed_trades"]
        assert a["n_decisions"] == b["n_decisions"]
    assert len(clean.contenders["flip"]["fills"]) > 100, "flip trades on most bars: the replay re-fills them"
    assert [r["final_equity"] for r in clean.leaderboard] == [r["final_equity"] for r in crashed.leaderboard]


def test_the_store_has_every_row_once(clean_and_crashed):
    """No row lost, none written twice: the crashed run's audit rows equal the clean run's."""
    _, path, clean, crashed, _ = clean_and_crashed
    assert crashed.rejected == [], "no batch refused (a repeated decision id would be)"
    want, got = _rows(path, clean.run_id), _rows(path, crashed.run_id)
    for table in TABLES:
        assert len(got[table]) == len(want[table]), table
        assert got[table] == want[table], table
    bars = [int(r[2]) for r in got["equity"] if r[0] == "flip"]  # (contender, ts, bar_index, ...)
    assert sorted(bars) == list(range(N_BARS))


def test_the_guardian_audits_every_verdict_once(clean_and_crashed):
    _, _, clean, crashed, _ = clean_and_crashed
    assert crashed.guardian["mismatches"] == 0
    assert crashed.guardian["audited_verdicts"] == clean.guardian["audited_verdicts"]


def test_the_restart_is_an_event_naming_the_bar(clean_and_crashed):
    _, path, _, crashed, _ = clean_and_crashed
    restored = crashed.contenders["flip"]["restored_from_bar"]
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT contender, reason, details_json FROM events WHERE run_id = ? AND kind = 'CONTENDER_RESTARTED'",
            [crashed.run_id],
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 1
    assert rows[0][0] == "flip" and f"after bar {restored}" in rows[0][1]
    details = json.loads(rows[0][2]) if isinstance(rows[0][2], str) else rows[0][2]
    assert details["bars_restored"] == restored and details["restart"] == 1
    # records of bars after the snapshot were written before the kill: their replay was not sent again
    assert details["records_through_bar"] > restored


def test_snapshots_are_removed_after_the_run(clean_and_crashed):
    _, _, _, crashed, _ = clean_and_crashed
    assert not snapshots_root(crashed.run_id).exists()


def test_a_contender_that_cannot_be_pickled_is_replayed_from_the_first_bar(clean_and_crashed):
    """No snapshot of it can be taken (a warning, not a failure): killed after about 150 bars, it is
    restarted from bar 0, and still ends as the uninterrupted run did (the same contender with
    nothing unpicklable in it), every row once."""
    cfg, path, clean, _, _ = clean_and_crashed
    spec = cfg.contenders[0].model_copy(update={"class_": "arena_test_contenders:FlipHoldingALock"})
    cfg = cfg.model_copy(update={"contenders": [spec, *cfg.contenders[1:]]})
    result, killed = _crashed_run(
        cfg, "t-recovery-nopickle", lambda actor, folder: ray.get(actor.resume_bar.remote())["bars"] >= 150, 0.0)
    assert killed and killed[0][1] == 0, "no snapshot was written"
    assert result.status == "finished" and result.restarts["flip"] == 1
    assert result.contenders["flip"]["restored_from_bar"] == 0
    a, b = clean.contenders["flip"], result.contenders["flip"]
    np.testing.assert_array_equal(a["equity"], b["equity"])
    assert a["fills"] == b["fills"]
    assert _rows(path, result.run_id) == _rows(path, clean.run_id)
    assert result.guardian["audited_verdicts"] == clean.guardian["audited_verdicts"]


@pytest.mark.parametrize("mode", ["paced", "replay"])
def test_a_killed_market_data_actor_is_restarted_and_the_run_ends_as_an_uninterrupted_one(
        clean_and_crashed, mode):
    """SIGKILL to the market-data actor's process mid-stream: Ray restarts it, it loads the
    same bars and publishes again from the fewest bars a contender has done (each takes only
    what it lacks; a replay's chunks in flight were lost with their owner, a paced run's were
    not); the bars it had recorded are not recorded twice."""
    cfg, path, clean, _, _ = clean_and_crashed
    if mode == "replay":  # 10 ms a bar for flip (the same decisions): the replay lasts past bar 120
        slow = cfg.contenders[0].model_copy(update={"class_": "arena_test_contenders:SlowFlip",
                                                    "params": {**cfg.contenders[0].params, "sleep_s": 0.01}})
        cfg = cfg.model_copy(update={"contenders": [slow, *cfg.contenders[1:]],
                                     "replay": cfg.replay.model_copy(update={"mode": "replay", "chunk_bars": 16,
                                                                             "max_inflight_chunks": 2})})
    run_id = f"t-recovery-market-{mode}"
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done >= 120 and not killed:
            where = ray.get(ray.get_actor(f"market:{run_id}", namespace=NAMESPACE).where.remote())
            os.kill(where["pid"], signal.SIGKILL)
            killed.append(done)

    result = run_arena(cfg, run_id=run_id, progress=progress)
    assert killed and killed[0] < N_BARS, "killed mid-stream"
    assert result.status == "finished" and result.market_restarts == 1
    assert result.restarts == {"flip": 0, "sma": 0}
    for name in ("flip", "sma"):
        a, b = clean.contenders[name], result.contenders[name]
        np.testing.assert_array_equal(a["equity"], b["equity"])
        assert a["fills"] == b["fills"] and a["n_decisions"] == b["n_decisions"]
    assert result.rejected == [], "no row written twice"
    want = run_rows(path, clean.run_id, (*TABLES, "bars"))
    got = run_rows(path, result.run_id, (*TABLES, "bars"))
    for table in want:
        assert got[table] == want[table], table
    con = duckdb.connect(str(path), read_only=True)
    try:
        (event,) = con.execute("SELECT reason, details_json FROM events WHERE run_id = ? AND kind = "
                               "'MARKET_DATA_RESTARTED'", [run_id]).fetchall()
    finally:
        con.close()
    details = json.loads(event[1]) if isinstance(event[1], str) else event[1]
    assert details["restart"] == 1 and 0 <= details["from_bar"] < N_BARS  # (the bars recorded set it)


def test_a_killed_guardian_is_restarted_and_audits_every_verdict_once(clean_and_crashed):
    """SIGKILL to the risk guardian's process mid-run: Ray restarts it, it goes on from its
    state after its last audit, the contenders send the audit calls that failed again, and
    the run ends as the uninterrupted one did: every verdict audited once, no mismatch, the
    same rows."""
    from arena.control import GUARDIAN_PREFIX

    cfg, path, clean, _, _ = clean_and_crashed
    run_id = "t-recovery-guardian"
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done >= 120 and not killed:
            guardian = ray.get_actor(GUARDIAN_PREFIX + run_id, namespace=NAMESPACE)
            os.kill(ray.get(guardian.__ray_call__.remote(lambda self: os.getpid())), signal.SIGKILL)
            killed.append(done)

    result = run_arena(cfg, run_id=run_id, progress=progress)
    assert killed and result.status == "finished", result.leaderboard
    assert result.guardian["mismatches"] == 0
    assert result.guardian["audited_verdicts"] == clean.guardian["audited_verdicts"]
    for name in ("flip", "sma"):
        np.testing.assert_array_equal(clean.contenders[name]["equity"], result.contenders[name]["equity"])
    assert run_rows(path, result.run_id, TABLES) == run_rows(path, clean.run_id, TABLES)
    con = duckdb.connect(str(path), read_only=True)
    try:
        kinds = [r[0] for r in con.execute("SELECT kind FROM events WHERE run_id = ?", [run_id]).fetchall()]
        clean_kinds = [r[0] for r in con.execute("SELECT kind FROM events WHERE run_id = ?",
                                                 [clean.run_id]).fetchall()]
    finally:
        con.close()
    assert kinds.count("GUARDIAN_RESTARTED") == 1
    assert sorted(k for k in kinds if k != "GUARDIAN_RESTARTED") == sorted(clean_kinds)


def test_a_contender_killed_after_the_stream_is_restarted_before_its_finish(clean_and_crashed):
    """Killed once every bar was published and decided, before the driver asks for its result:
    restarted, it goes on from its snapshot (bar 280), the last bars are published to it
    again, and its result and rows are the uninterrupted run's."""
    cfg, path, clean, _, _ = clean_and_crashed
    cfg = cfg.model_copy(update={"recovery": cfg.recovery.model_copy(update={"snapshot_every_bars": 70})})
    run_id = "t-recovery-finish"
    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done >= N_BARS and not killed:
            actor = ray.get_actor(f"contender:{run_id}:flip", namespace=NAMESPACE)
            os.kill(ray.get(actor.__ray_call__.remote(lambda self: os.getpid())), signal.SIGKILL)
            killed.append(done)

    result = run_arena(cfg, run_id=run_id, progress=progress)
    assert killed and result.status == "finished" and result.restarts == {"flip": 1, "sma": 0}
    assert result.contenders["flip"]["restored_from_bar"] == 280
    np.testing.assert_array_equal(clean.contenders["flip"]["equity"], result.contenders["flip"]["equity"])
    assert clean.contenders["flip"]["fills"] == result.contenders["flip"]["fills"]
    assert run_rows(path, result.run_id, TABLES) == run_rows(path, clean.run_id, TABLES)


def test_a_signal_consumer_and_its_producer_are_restarted_and_decide_as_without_the_crashes(ray_session, tmp_path):
    """A consumer of the others' signals (``FollowsTheOthers``: it holds their mean weights, so a
    signal missing on any bar changes its trades) and its producers: the producer ``flip`` is
    killed at about bar 130 and the consumer at about bar 220. The consumer waits for the
    restarted producer's signals instead of deciding without them; restarted itself, it gets the
    producers' signals of the bars it replays. Every ledger ends as without the crashes."""
    follow = {"name": "follow", "class": "arena_test_contenders:FollowsTheOthers"}
    cfg = _config(tmp_path, contenders=[*_config(tmp_path).to_dict()["contenders"], follow])
    clean = run_arena(cfg, run_id="t-recovery-signals-clean")
    run_id = "t-recovery-signals"
    killed: list[str] = []

    def progress(done: int, total: int) -> None:
        for at, key in ((130, "flip"), (220, "follow")):
            if done >= at and key not in killed:
                actor = ray.get_actor(f"contender:{run_id}:{key}", namespace=NAMESPACE)
                os.kill(ray.get(actor.__ray_call__.remote(lambda self: os.getpid())), signal.SIGKILL)
                killed.append(key)

    result = run_arena(cfg, run_id=run_id, progress=progress)
    assert killed == ["flip", "follow"] and result.status == "finished", result.leaderboard
    assert result.restarts == {"flip": 1, "sma": 0, "follow": 1}
    for name in ("flip", "sma", "follow"):
        a, b = clean.contenders[name], result.contenders[name]
        np.testing.assert_array_equal(a["equity"], b["equity"])
        assert a["fills"] == b["fills"], name
    assert len(clean.contenders["follow"]["fills"]) > 50, "the consumer trades on the signals"
    path = tmp_path / "arena.duckdb"
    assert run_rows(path, result.run_id, TABLES) == run_rows(path, clean.run_id, TABLES)


def test_the_recorder_drops_what_a_crashed_incarnation_still_had_in_flight(ray_session, tmp_path):
    """A batch sent by an incarnation older than the one that resumed is dropped (its bars are
    replayed); the marks of the batches written say which bars a restarted actor may skip."""
    import datetime as dt

    from arena.actors.recorder import RecorderActor

    rec = RecorderActor.remote(f"duckdb://{tmp_path / 'arena.duckdb'}")
    ray.get(rec.create_run.remote({
        "run_id": "r1", "name": "r", "config": {}, "data_source": {}, "data_sha256": "0" * 64,
        "code_version": "test", "seed": 0, "started_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "symbols": ["A"], "periods_per_year": 252.0, "status": "running"}))

    def events(*reasons):
        return {"events": [{"run_id": "r1", "ts": 1, "contender": "c", "kind": "K", "reason": r,
                            "details_json": {}} for r in reasons]}

    assert ray.get(rec.append.remote(events("a", "b"), ("k", 0, {"c": 10}))) == 2
    assert ray.get(rec.resume.remote("k")) == (1, {"c": 10})
    assert ray.get(rec.append.remote(events("late"), ("k", 0, {"c": 20}))) == 0, "from the crashed incarnation"
    assert ray.get(rec.append.remote(events("other"), ("j", 0, {"d": 5}))) == 1, "another actor is not fenced"
    assert ray.get(rec.append.remote(events("new"), ("k", 1, {"c": 20}))) == 1
    assert ray.get(rec.resume.remote("k")) == (2, {"c": 20, "d": 5})
    ray.get(rec.close.remote())
    con = duckdb.connect(str(tmp_path / "arena.duckdb"), read_only=True)
    try:
        assert sorted(r[0] for r in con.execute("SELECT reason FROM events").fetchall()) == ["a", "b", "new", "other"]
    finally:
        con.close()


@pytest.mark.slow
def test_a_contender_whose_node_is_removed_is_restarted_on_another(tmp_path):
    """A cluster of three nodes on this machine (``ray.cluster_utils.Cluster``, in a process of
    its own: see ``recovery_cluster_run.py``): the worker node hosting ``flip`` is removed
    mid-run; Ray restarts the actor on the other worker node, it goes on from its snapshot
    (the nodes share ``$ARENA_HOME``, as a cluster's nodes must share the snapshot folder), and
    the run ends exactly as the same run did without the loss."""
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).parent
    support = str(here.parent / "support")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([support, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(here / "recovery_cluster_run.py"), str(tmp_path / "arena.duckdb")],
                          capture_output=True, text=True, timeout=280, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1])
    assert out["status"] == "finished" and out["restarts"] == {"flip": 1, "sma": 0}
    assert out["restored_from_bar"] >= 100
    assert out["node_after"] not in (None, out["removed_node"]), "restarted on another node"
    assert out["removed_node"] != out["head"]
    assert out["same"] == {"flip": True, "sma": True}, "equity and fills as without the loss"
    assert out["rows_same"] and out["rejected"] == 0
    assert out["audited"][0] == out["audited"][1] and out["mismatches"] == 0


def test_snapshots_every_few_seconds_are_kept_when_asked(ray_session, tmp_path):
    """``snapshot_every_s`` takes snapshots by wall clock (the bar count alone would take none
    here); ``keep_snapshots`` leaves the two newest in place after the run."""
    cfg = _config(tmp_path, recovery={"snapshot_every_bars": 10_000, "snapshot_every_s": 0.5, "keep_snapshots": True})
    result = run_arena(cfg, run_id="t-recovery-seconds")
    assert result.status == "finished" and result.restarts == {"flip": 0, "sma": 0}
    for key in ("flip", "sma"):
        folder = SnapshotFolder.of(result.run_id, key)
        names = sorted(p.name for p in folder.path.glob("bars-*.pkl"))
        assert len(names) == 2, names
        latest = folder.latest()
        assert 0 < latest["bars"] <= N_BARS and list(latest["members"]) == [key]
        assert folder.read_setup() is not None
