"""The risk-guardian actor: it pushes controls to the contenders, re-derives every
audited verdict and forwards every guardian event to the recorder."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import ray

from arena.actors.guardian import RiskGuardianActor
from arena.actors.recorder import RecorderActor
from arena.risk import PortfolioState, RiskGuardian, RiskLimits
from arena.risk.authority import GuardianReplica
from arena.store import open_store
from ledger.types import OrderRequest

pytestmark = pytest.mark.ray

DAY = 86_400 * 10**9


@ray.remote
class _ReplicaHost:
    """What the guardian sees of a contender actor: ``apply_controls``."""

    def __init__(self) -> None:
        self.replica = GuardianReplica(RiskGuardian(RiskLimits(max_drawdown=0.2)), audit=True)

    def apply_controls(self, controls):
        self.replica.push(controls)

    def vet(self, state, requests):
        return self.replica.vet(state, requests)

    def bar(self, ts_ns):
        """Start a bar: apply what was pushed; hand out the audit items."""
        self.replica.apply_pending(ts_ns)
        return self.replica.drain_audit()


def test_controls_reach_the_contenders_and_every_event_is_recorded(ray_session, tmp_path):
    store = f"duckdb://{tmp_path / 'g.duckdb'}"
    recorder = RecorderActor.remote(store)
    ray.get(recorder.create_run.remote({
        "run_id": "g1", "name": "g", "config": {}, "data_source": {}, "data_sha256": "0" * 64,
        "code_version": "test", "seed": 0, "started_at": datetime.now(timezone.utc), "symbols": ["A"],
        "periods_per_year": 252.0, "status": "running"}))
    guardian = RiskGuardianActor.remote("g1", RiskLimits(max_drawdown=0.2), recorder)
    host = _ReplicaHost.remote()
    ray.get(guardian.register.remote({"c": host}))
    deep = PortfolioState("c", DAY, 7_000.0, 7_000.0, 10_000.0, 7_000.0, {}, {"A": 10.0}, ())
    verdicts = ray.get(host.vet.remote(deep, [OrderRequest("A", target_weight=0.5)]))
    assert verdicts[0].reasons == ("MAX_DRAWDOWN",)
    assert ray.get(guardian.audit.remote("c", ray.get(host.bar.remote(DAY)))) == 0
    assert ray.get(guardian.status.remote())["halted"] == {"c": "MAX_DRAWDOWN: drawdown 0.3000 >= max_drawdown 0.2000"}

    ray.get(guardian.trip_kill_switch.remote("drill"))
    ray.get(guardian.reset_kill_switch.remote())
    assert ray.get(guardian.release_contender.remote("c")) == ["MAX_DRAWDOWN"]
    items = ray.get(host.bar.remote(2 * DAY))  # the host applies the three pushed controls at its next bar
    assert [(i.kind, i.control_version) for i in items] == [("control", 1), ("control", 2), ("control", 3)]
    assert ray.get(guardian.audit.remote("c", items)) == 0
    ray.get(guardian.flush.remote())
    status = ray.get(guardian.status.remote())
    assert status["halted"] == {}
    assert (status["audited_verdicts"], status["mismatches"], status["controls"]) == (1, 0, 3)
    assert status["controls_applied"] == {"c": 3}
    ray.get(recorder.close.remote())
    kinds = [e["kind"] for e in open_store(store, read_only=True).events("g1")]
    assert kinds == ["CONTENDER_HALTED", "KILL_SWITCH_TRIPPED", "KILL_SWITCH_RESET", "CONTENDER_RELEASED"]
    for a in (guardian, recorder, host):
        ray.kill(a)
