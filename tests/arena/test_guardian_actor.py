"""The risk-guardian actor forwards every guardian event to the recorder at once."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import ray

from arena.actors.guardian import RiskGuardianActor
from arena.actors.recorder import RecorderActor
from arena.risk import PortfolioState, RiskLimits
from arena.store import open_store
from ledger.types import OrderRequest

pytestmark = pytest.mark.ray


def test_trip_reset_and_release_are_recorded(ray_session, tmp_path):
    store = f"duckdb://{tmp_path / 'g.duckdb'}"
    recorder = RecorderActor.remote(store)
    ray.get(recorder.create_run.remote({
        "run_id": "g1", "name": "g", "config": {}, "data_source": {}, "data_sha256": "0" * 64,
        "code_version": "test", "seed": 0, "started_at": datetime.now(timezone.utc), "symbols": ["A"],
        "periods_per_year": 252.0, "status": "running"}))
    guardian = RiskGuardianActor.remote("g1", RiskLimits(max_drawdown=0.2), recorder)
    deep = PortfolioState("c", 86_400 * 10**9, 7_000.0, 7_000.0, 10_000.0, 7_000.0, {}, {"A": 10.0}, ())
    verdicts = ray.get(guardian.vet.remote(deep, [OrderRequest("A", target_weight=0.5)]))
    assert verdicts[0].reasons == ("MAX_DRAWDOWN",)
    ray.get(guardian.trip_kill_switch.remote("drill"))
    ray.get(guardian.reset_kill_switch.remote())
    assert ray.get(guardian.release_contender.remote("c"))
    assert ray.get(guardian.status.remote())["halted"] == {}
    ray.get(recorder.close.remote())
    kinds = [e["kind"] for e in open_store(store, read_only=True).events("g1")]
    assert kinds == ["CONTENDER_HALTED", "KILL_SWITCH_TRIPPED", "KILL_SWITCH_RESET", "CONTENDER_RELEASED"]
    for a in (guardian, recorder):
        ray.kill(a)
