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
    """Every row of the run in the audit tables, run id taken out (it is in the decision ids), sorted."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in TABLES:
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in ("run_id", "seq")]
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ?", [run_id]).fetchall()
            out[table] = sorted(tuple(str(v).replace(run_id, "<run>") for v in row) for row in rows)
        return out
    finally:
        con.close()


def _kill_when_snapshotted(run_id: str, key: str, after_s: float, killed: list[tuple[int, int]]) -> None:
    """Wait for actor ``key``'s first snapshot, let it run ``after_s`` more, then SIGKILL its
    process; ``killed`` gets (pid, bars of the newest snapshot just before the kill)."""
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
    while folder.latest() is None:
        assert time.monotonic() < deadline, "no snapshot was written"
        time.sleep(0.02)
    time.sleep(after_s)
    snap = folder.latest()
    os.kill(pid, signal.SIGKILL)
    killed.append((pid, snap["bars"]))


@pytest.fixture(scope="module")
def clean_and_crashed(ray_session, tmp_path_factory):
    """The same config and seed run twice: once untouched, once with ``flip``'s process killed
    0.6 s (about 60 bars, paced) after its first snapshot (bar 100), so records after the
    snapshot had been written before the crash."""
    tmp = tmp_path_factory.mktemp("recovery")
    cfg = _config(tmp)
    clean = run_arena(cfg, run_id="t-recovery-clean")
    killed: list[tuple[int, int]] = []
    killer = threading.Thread(target=_kill_when_snapshotted, args=("t-recovery-crash", "flip", 0.6, killed))
    killer.start()
    crashed = run_arena(cfg, run_id="t-recovery-crash")
    killer.join()
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
