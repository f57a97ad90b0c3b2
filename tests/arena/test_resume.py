"""Stop and resume: a run stopped mid-way snapshots every contender and the guardian and is
recorded ``stopped``; resumed, it ends with the same ledgers and the same audit rows, each
once, as an uninterrupted run over the same bars."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from audit_rows import run_rows

from arena.config import parse_config
from arena.recovery import snapshots_root
from arena.resume import config_differences, read_stop
from arena.store import open_store
from arena.topology import run_arena

pytestmark = pytest.mark.ray

N_BARS = 300
STOP_AT = 120  # bars decided when the stop is asked for


def _config(tmp_path, **over):
    raw = {
        "name": "t-resume",
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "n_bars": N_BARS, "seed": 11},
        "capital": 10_000,
        "seed": 3,
        "execution": {"fill_price": "next_open", "commission_bps": 1.0, "slippage_bps": 2.0},
        "risk": {"max_position_weight": 0.6, "max_gross_leverage": 1.0, "max_drawdown": 0.5},
        "contenders": [
            {"name": "flip", "class": "arena_test_contenders:FlipEveryBar", "params": {"weight": 0.8}},
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 5, "slow": 20}},
            {"name": "bench", "class": "buy_and_hold"},
        ],
        "replay": {"mode": "paced", "bar_interval_s": 0.01},
        "store": f"duckdb://{tmp_path / 'arena.duckdb'}",
        "artifacts": None,
    }
    raw.update(over)
    return parse_config(raw)


def _stopped_run(cfg, run_id: str, at: int):
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= at:
            stop.set()

    return run_arena(cfg, run_id=run_id, stop=stop, progress=progress)


@pytest.fixture(scope="module")
def clean_stopped_resumed(ray_session, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    cfg = _config(tmp)
    clean = run_arena(cfg, run_id="t-resume-clean")
    stopped = _stopped_run(cfg, "t-resume-stop", STOP_AT)
    at_stop = open_store(cfg.store, read_only=True).get_run(stopped.run_id)
    point = read_stop(stopped.run_id)
    resumed = run_arena(cfg, resume=stopped.run_id)
    return cfg, tmp / "arena.duckdb", clean, stopped, at_stop, point, resumed


def test_a_stop_is_recorded_stopped_with_its_snapshots(clean_stopped_resumed):
    _, _, _, stopped, at_stop, point, _ = clean_stopped_resumed
    assert stopped.status == "stopped" and stopped.leaderboard == []
    assert STOP_AT <= stopped.n_bars < N_BARS
    assert at_stop["status"] == "stopped" and at_stop["n_bars"] == stopped.n_bars and at_stop["ended_at"]
    assert point.bars == stopped.n_bars and point.mode == "paced" and point.failed == {}
    assert point.last_ns is not None and point.first_ns is not None


def test_the_resumed_run_ends_as_an_uninterrupted_one(clean_stopped_resumed):
    _, _, clean, stopped, _, _, resumed = clean_stopped_resumed
    assert resumed.run_id == stopped.run_id and resumed.status == "finished" and resumed.n_bars == N_BARS
    for name in ("flip", "sma", "bench"):
        a, b = clean.contenders[name], resumed.contenders[name]
        assert len(b["equity"]) == N_BARS
        np.testing.assert_array_equal(a["ts_ns"], b["ts_ns"])
        np.testing.assert_array_equal(a["equity"], b["equity"])
        np.testing.assert_array_equal(a["cash"], b["cash"])
        assert a["fills"] == b["fills"] and a["closed_trades"] == b["closed_trades"]
        assert a["n_decisions"] == b["n_decisions"]
    strip = {"run_id", "latency_p50_ms", "latency_p99_ms", "training_s"}  # wall-clock figures
    for a, b in zip(clean.leaderboard, resumed.leaderboard, strict=True):
        diff = {k: (a[k], b.get(k)) for k in a if k not in strip and a[k] != b.get(k)}
        assert not diff, (a["contender"], diff)
    assert resumed.guardian["audited_verdicts"] == clean.guardian["audited_verdicts"]
    assert resumed.guardian["mismatches"] == 0


def test_every_row_once_across_the_stop(clean_stopped_resumed):
    cfg, path, clean, stopped, _, _, resumed = clean_stopped_resumed
    want = run_rows(path, clean.run_id, ("decisions", "orders", "fills", "risk_verdicts", "equity", "bars"))
    got = run_rows(path, resumed.run_id, ("decisions", "orders", "fills", "risk_verdicts", "equity", "bars"))
    for table, rows in want.items():
        assert len(got[table]) == len(rows), table
        assert got[table] == rows, table
    store = open_store(cfg.store, read_only=True)
    run = store.get_run(resumed.run_id)
    assert run["status"] == "finished" and run["n_bars"] == N_BARS
    assert {r["contender"] for r in store.leaderboard(resumed.run_id)} == {"flip", "sma", "bench"}
    assert not snapshots_root(resumed.run_id).exists(), "a finished run's snapshots are removed"


def test_a_run_that_is_not_stopped_or_ran_another_config_is_not_resumed(clean_stopped_resumed, tmp_path):
    cfg, _, clean, _, _, _, _ = clean_stopped_resumed
    with pytest.raises(FileNotFoundError, match="no stop snapshot"):
        run_arena(cfg, resume=clean.run_id)  # finished: its snapshots are gone
    other = _config(tmp_path, store=cfg.store, name="t-resume-other")
    stopped = _stopped_run(other, "t-resume-other", 40)
    assert stopped.status == "stopped"
    changed = other.model_copy(update={"capital": 20_000.0})
    with pytest.raises(ValueError, match=r"config differs .* in capital"):
        run_arena(changed, resume=stopped.run_id)
    store = open_store(cfg.store, read_only=True)
    assert store.get_run(stopped.run_id)["status"] == "stopped", "a refused resume leaves the run as it was"
    assert read_stop(stopped.run_id).bars == stopped.n_bars


def test_config_differences_name_the_keys():
    ran = {"name": "a", "risk": {"max_drawdown": 0.2, "max_gross_leverage": 1.0}, "ray": {"num_cpus": 2},
           "walkforward": {"fold": 1}, "contenders": [{"name": "x"}]}
    now = {"name": "a", "risk": {"max_drawdown": 0.3, "max_gross_leverage": 1.0}, "ray": {"num_cpus": 8},
           "contenders": [{"name": "y"}]}
    assert config_differences(ran, now) == ["contenders", "risk.max_drawdown"]
    assert config_differences(ran, json.loads(json.dumps(ran))) == []
