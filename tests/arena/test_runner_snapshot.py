"""A runner snapshotted mid-run, pickled and restored goes on exactly as the original (no Ray)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from arena.config import ConfigError, parse_config
from arena.data import SyntheticSource, to_panel
from arena.recovery import SnapshotFolder
from arena.risk import RiskGuardian, RiskLimits
from arena.risk.authority import GuardianReplica
from arena.runner import ContenderRunner, RunnerSettings, chunk_of
from contenders.builtin.sma_crossover import SmaCrossover
from ledger import ExecutionConfig

N, CHUNK = 400, 25


@pytest.fixture(scope="module")
def panel():
    return to_panel(SyntheticSource(symbols=["AAA", "BBB"], n_bars=N, seed=11).load())


def _runner(panel, contender=None, replica=None):
    settings = RunnerSettings(
        run_id="r", name="sma", symbols=tuple(panel.symbols), capital_usd=10_000.0,
        execution=ExecutionConfig(commission_bps=1.0, slippage_bps=2.0), n_bars_hint=N, warmup_bars=10,
    )
    limits = RiskLimits(max_position_weight=0.6, max_drawdown=0.08, daily_loss_limit=0.03)
    replica = replica or GuardianReplica(RiskGuardian(limits), audit=True)
    return ContenderRunner(contender or SmaCrossover(fast=3, slow=12), settings, replica)


def _feed(runner, panel, lo, hi):
    """Chunks of ``CHUNK`` bars from ``lo`` to ``hi``; returns the records drained after each."""
    out = []
    for a in range(lo, hi, CHUNK):
        runner.on_chunk(chunk_of(panel.slice(a, min(hi, a + CHUNK))))
        records = runner.drain_records()
        records["equity"] = {k: np.asarray(v).tolist() for k, v in records["equity"].items()}
        out.append(records)
        runner.vetting.drain_audit()
    return out


@pytest.mark.parametrize("at", [0, 100, 275])
def test_a_restored_runner_goes_on_like_the_original(panel, at):
    whole = _runner(panel)
    want = _feed(whole, panel, 0, N)

    first = _runner(panel)
    _feed(first, panel, 0, at)
    state = pickle.loads(pickle.dumps({"runner": first.snapshot(), "replica": first.vetting.snapshot()}))
    again = _runner(panel, state["runner"]["contender"], GuardianReplica.restore(state["replica"], audit=True))
    again.restore(state["runner"])
    assert again.bars == at
    got = _feed(again, panel, at, N)

    assert got == want[at // CHUNK:], "the same records, bar for bar, after the restore"
    a, b = whole.finish(), again.finish()
    for key in ("ts_ns", "equity", "cash", "gross_exposure", "close", "predictions"):
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for key in ("fills", "closed_trades", "status", "halt_reason", "n_decisions"):
        assert a[key] == b[key], key
    assert len(a["fills"]) > 4
    assert whole.vetting.guardian.snapshot() == again.vetting.guardian.snapshot()


def test_a_snapshot_needs_the_records_drained_first(panel):
    runner = _runner(panel)
    runner.on_chunk(chunk_of(panel.slice(0, 50)))
    with pytest.raises(RuntimeError, match="drain"):
        runner.snapshot()


def test_the_folder_keeps_the_two_newest_whole_snapshots(tmp_path):
    folder = SnapshotFolder(tmp_path / "a")
    assert folder.latest() is None and folder.read_setup() is None
    for bars in (10, 20, 30):
        folder.save(bars, {"m": {"bars": bars}})
    assert sorted(p.name for p in folder.path.iterdir()) == ["bars-0000000020.pkl", "bars-0000000030.pkl"]
    (folder.path / "bars-0000000040.pkl").write_bytes(b"torn")  # a file cut short is passed over
    assert folder.latest()["bars"] == 30
    folder.write_setup(b"setup")
    assert folder.read_setup() == b"setup"
    assert not [p for p in folder.path.iterdir() if p.name.endswith(".tmp")]


def test_recovery_settings_are_strict():
    base = {"name": "x", "data": {"source": "synthetic"}, "contenders": [{"name": "a", "class": "buy_and_hold"}]}
    cfg = parse_config(base)
    assert cfg.recovery.max_restarts == 3 and cfg.recovery.snapshot_every_bars == 1000
    assert parse_config({**base, "recovery": {"max_restarts": 0}}).recovery.max_restarts == 0
    with pytest.raises(ConfigError, match="snapshot_every"):
        parse_config({**base, "recovery": {"snapshot_every": 10}})
    with pytest.raises(ConfigError):
        parse_config({**base, "recovery": {"snapshot_every_bars": 0}})
