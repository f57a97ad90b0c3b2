"""Vetting in the contender's process under one authority: replicas apply pushed
controls before their next bar, latches are watched on every bar, and the authority
re-derives every verdict and reports the ones that differ."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from arena.risk import Action, PortfolioState, RiskGuardian, RiskLimits
from arena.risk.authority import AuditItem, ControlKind, GuardianAuthority, GuardianReplica
from ledger.types import OrderRequest

State = Callable[..., PortfolioState]
BUY_A = OrderRequest("A", target_weight=0.5)
LIMITS = RiskLimits(max_position_weight=0.4, max_drawdown=0.2, daily_loss_limit=0.1)


def _replica(limits: RiskLimits = LIMITS) -> GuardianReplica:
    return GuardianReplica(RiskGuardian(limits), audit=True)


def test_replica_verdicts_are_the_guardians(make_state: State) -> None:
    replica, plain = _replica(), RiskGuardian(LIMITS)
    state = make_state()
    assert replica.vet(state, [BUY_A]) == plain.vet(state, [BUY_A])
    [item] = replica.drain_audit()
    assert (item.kind, item.requests, item.verdicts[0].action) == ("vet", (BUY_A,), Action.SCALE)


def test_pushed_kill_switch_applies_at_the_next_bar_only(make_state: State) -> None:
    authority, replica = GuardianAuthority(LIMITS), _replica()
    control = authority.trip_kill_switch("drill")
    assert control is not None and control.kind is ControlKind.TRIP_KILL_SWITCH
    replica.push([control])
    assert replica.vet(make_state(), [BUY_A])[0].action is Action.SCALE  # this bar: not yet
    assert replica.apply_pending(ts_ns=1)
    assert replica.vet(make_state(), [BUY_A])[0].reasons == ("ARENA_KILL_SWITCH",)
    assert replica.applied_version == 1 and len(replica.control_delays_ns) == 1
    assert authority.audit("alpha", replica.drain_audit()) == 0
    assert [e["kind"] for e in authority.events()] == ["KILL_SWITCH_TRIPPED"]  # once, not per shadow


def test_a_control_is_applied_once_in_version_order() -> None:
    authority, replica = GuardianAuthority(LIMITS), _replica()
    trip, reset = authority.trip_kill_switch("a"), authority.reset_kill_switch()
    replica.push([reset, trip])
    replica.push([trip])  # pushed again (e.g. on registration): ignored
    replica.apply_pending(0)
    assert replica.applied_version == 2 and not replica.guardian.kill_switch_active
    assert [i.control_version for i in replica.drain_audit()] == [1, 2]
    assert authority.trip_kill_switch("a") is not None and authority.trip_kill_switch("again") is None


def test_push_from_another_thread_lands_between_bars(make_state: State) -> None:
    authority, replica = GuardianAuthority(LIMITS), _replica()
    t = threading.Thread(target=lambda: replica.push([authority.trip_kill_switch("x")]))
    t.start()
    t.join()
    replica.apply_pending(0)
    assert replica.vet(make_state(), [BUY_A])[0].action is Action.DENY


def test_watch_fires_on_a_breach_that_is_not_latched_yet(make_state: State) -> None:
    replica = _replica()
    assert not replica.watch("alpha", 0, 9_000.0, 10_000.0, 9_500.0)  # 10 % drawdown, 5 % daily loss
    assert replica.watch("alpha", 0, 7_900.0, 10_000.0, 8_000.0)  # 21 % drawdown
    replica.observe(make_state(equity=7_900.0, peak_equity=10_000.0, day_start_equity=8_000.0))
    assert replica.guardian.halted() == {"alpha": "MAX_DRAWDOWN: drawdown 0.2100 >= max_drawdown 0.2000"}
    assert not replica.watch("alpha", 0, 7_900.0, 10_000.0, 8_000.0)  # latched: no second look
    assert replica.watch("alpha", 0, 7_000.0, 10_000.0, 7_900.0)  # but a daily loss of 11 % is new


def test_watch_is_off_without_latch_limits() -> None:
    replica = _replica(RiskLimits())
    assert not replica.watch("alpha", 0, 1.0, 10_000.0, 10_000.0)


def test_authority_reports_a_replica_with_other_limits(make_state: State) -> None:
    authority = GuardianAuthority(LIMITS)
    loose = _replica(RiskLimits(max_position_weight=1.0))  # a replica that does not hold the line
    loose.vet(make_state(), [BUY_A, OrderRequest("B", target_weight=0.1)])
    assert authority.audit("alpha", loose.drain_audit()) == 1
    [event] = authority.events()
    assert event["kind"] == "RISK_MISMATCH" and event["contender"] == "alpha"
    assert "replica ALLOW A 0.5" in event["reason"] and "authority SCALE A 0.4 MAX_POSITION_WEIGHT" in event["reason"]
    assert (authority.audited, authority.mismatches) == (2, 1)


def test_authority_reports_a_changed_verdict(make_state: State) -> None:
    import dataclasses

    authority, replica = GuardianAuthority(LIMITS), _replica()
    state = make_state()
    v = replica.vet(state, [BUY_A])[0]
    forged = dataclasses.replace(v, approved=BUY_A, action=Action.ALLOW, scale=1.0, reasons=())
    assert authority.audit("alpha", [AuditItem("vet", state, (BUY_A,), (forged,))]) == 1


def test_shadows_keep_latches_and_release_follows_the_replica(make_state: State) -> None:
    authority, replica = GuardianAuthority(LIMITS), _replica()
    deep = make_state(equity=7_000.0, cash=7_000.0, peak_equity=10_000.0, day_start_equity=7_000.0)
    replica.observe(deep)
    authority.audit("alpha", replica.drain_audit())
    assert set(authority.halted()) == {"alpha"}
    codes, control = authority.release_contender("alpha")
    assert codes == ["MAX_DRAWDOWN"] and set(authority.halted()) == {"alpha"}  # not applied yet
    replica.push([control])
    replica.apply_pending(deep.ts_ns + 1)
    authority.audit("alpha", replica.drain_audit())
    assert authority.halted() == {} and replica.guardian.halted() == {}
    kinds = [e["kind"] for e in authority.events()]
    assert kinds == ["CONTENDER_HALTED", "CONTENDER_RELEASED"]


def test_audit_rejects_unknown_items(make_state: State) -> None:
    authority = GuardianAuthority(LIMITS)
    with pytest.raises(ValueError, match="control version 3 was never issued"):
        authority.audit("alpha", [AuditItem("control", control_version=3)])
    with pytest.raises(ValueError, match="unknown item kind 'peek'"):
        authority.audit("alpha", [AuditItem("peek", make_state())])


def test_aggregate_exposure_across_contenders(make_state: State) -> None:
    authority = GuardianAuthority(LIMITS)
    for name, units in (("alpha", 10.0), ("beta", -20.0)):
        authority.audit(name, [AuditItem("observe", make_state(contender=name, positions={"A": units}))])
    assert authority.aggregate_gross_exposure_usd() == 3_000.0
