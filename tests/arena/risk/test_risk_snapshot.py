"""RiskGuardian snapshot/restore: plain data, exact, same behaviour afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from arena.risk import Action, PortfolioState, RiskGuardian, RiskLimits
from arena.risk.state import NS_PER_DAY
from ledger.types import OrderRequest

State = Callable[..., PortfolioState]
BUY_A = OrderRequest("A", target_weight=0.5)


def _busy_guardian(make_state: State) -> RiskGuardian:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2, daily_loss_limit=0.05, max_position_weight=0.6))
    g.observe(make_state(contender="alpha", equity=7_000.0, peak_equity=10_000.0))
    g.observe(make_state(contender="beta", equity=9_000.0, peak_equity=10_000.0, day_start_equity=10_000.0))
    g.trip_kill_switch("maintenance", ts_ns=123)
    return g


def test_snapshot_is_json_round_trip_exact(make_state: State) -> None:
    g = _busy_guardian(make_state)
    snap = g.snapshot()
    restored = RiskGuardian.restore(json.loads(json.dumps(snap)))
    assert restored.snapshot() == snap
    assert restored.limits == g.limits


def test_restored_guardian_behaves_the_same(make_state: State) -> None:
    g = _busy_guardian(make_state)
    restored = RiskGuardian.restore(g.snapshot())
    assert restored.kill_switch_reason == "maintenance"
    assert restored.halted() == g.halted() and "alpha" in restored.halted()
    assert restored.events() == g.events()  # pending events travel too
    g.reset_kill_switch(ts_ns=200)
    restored.reset_kill_switch(ts_ns=200)
    later = make_state().ts_ns + 3_600 * 10**9
    for contender in ("alpha", "beta", "gamma"):
        state = make_state(contender=contender, ts_ns=later)
        assert g.vet(state, [BUY_A]) == restored.vet(state, [BUY_A])
    assert restored.vet(make_state(contender="beta", ts_ns=later), [BUY_A])[0].action is Action.DENY


def test_restored_daily_suspension_still_lapses_at_midnight(make_state: State) -> None:
    restored = RiskGuardian.restore(_busy_guardian(make_state).snapshot())
    restored.reset_kill_switch()
    tomorrow = make_state(contender="beta", ts_ns=make_state().ts_ns + NS_PER_DAY)
    assert restored.vet(tomorrow, [BUY_A])[0].action is Action.ALLOW
    assert "beta" not in restored.snapshot()["latches"]


def test_restore_rejects_another_version() -> None:
    with pytest.raises(ValueError, match="expected version 1, got 99"):
        RiskGuardian.restore({"version": 99})


def test_restore_names_missing_keys(make_state: State) -> None:
    snap = _busy_guardian(make_state).snapshot()
    del snap["latches"]
    with pytest.raises(ValueError, match=r"lacks keys \['latches'\]"):
        RiskGuardian.restore(snap)


def test_restore_rejects_malformed_latches(make_state: State) -> None:
    snap = _busy_guardian(make_state).snapshot()
    snap["latches"]["alpha"][0].pop("reason")
    with pytest.raises(ValueError, match="malformed kill_switch or latches"):
        RiskGuardian.restore(snap)
