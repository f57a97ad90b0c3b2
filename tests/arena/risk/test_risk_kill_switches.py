"""Kill switches: arena-wide, per-contender drawdown halt, daily loss suspension."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from arena.risk import Action, PortfolioState, RiskGuardian, RiskLimits
from arena.risk.state import NS_PER_DAY
from ledger.types import OrderRequest, Side

State = Callable[..., PortfolioState]
BUY_A = OrderRequest("A", target_weight=0.5)


# ---------------------------------------------------------------- arena-wide
def test_tripped_kill_switch_denies_increases(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    g.trip_kill_switch("exchange outage", ts_ns=7)
    v = g.vet(make_state(), [BUY_A])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("ARENA_KILL_SWITCH",))
    assert g.kill_switch_active and g.kill_switch_reason == "exchange outage"


def test_kill_switch_applies_to_every_contender(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    g.trip_kill_switch("halt")
    for name in ("alpha", "beta", "gamma"):
        assert g.vet(make_state(contender=name), [BUY_A])[0].action is Action.DENY


def test_kill_switch_lets_reductions_through(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    g.trip_kill_switch("halt")
    state = make_state(positions={"A": 50.0}, cash=5_000.0)
    flatten, trim = g.vet(state, [OrderRequest("A", target_weight=0.0), OrderRequest("B", Side.BUY, 1.0)])
    assert flatten.action is Action.ALLOW
    assert trim.action is Action.DENY


def test_kill_switch_cuts_a_flip_back_to_flat(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    g.trip_kill_switch("halt")
    state = make_state(positions={"A": 30.0}, cash=7_000.0)
    v = g.vet(state, [OrderRequest("A", Side.SELL, 50.0)])[0]
    assert v.action is Action.SCALE and v.approved is not None
    assert v.approved.quantity == 30.0 and v.reasons == ("ARENA_KILL_SWITCH",)


def test_kill_switch_events_trip_once_and_reset(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    g.trip_kill_switch("first", ts_ns=10)
    g.trip_kill_switch("second", ts_ns=11)  # already on: no change, no event
    assert g.kill_switch_reason == "first"
    g.reset_kill_switch(ts_ns=12)
    events = g.events()
    assert [(e["kind"], e["ts_ns"], e["reason"]) for e in events] == [
        ("KILL_SWITCH_TRIPPED", 10, "first"), ("KILL_SWITCH_RESET", 12, "first")]
    assert g.events() == []  # drained
    assert not g.kill_switch_active and g.kill_switch_reason == ""
    assert g.vet(make_state(), [BUY_A])[0].action is Action.ALLOW


def test_blank_reason_still_trips(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    g.trip_kill_switch("  ")
    assert g.kill_switch_active and g.kill_switch_reason == "unspecified"
    assert g.events()[0]["ts_ns"] > 0  # wall clock when no ts given


# ------------------------------------------------------------ drawdown halt
def test_drawdown_below_limit_allows(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2))
    state = make_state(equity=8_100.0, peak_equity=10_000.0)
    assert g.vet(state, [BUY_A])[0].action is Action.ALLOW
    assert g.halted() == {}


def test_drawdown_at_limit_halts_the_contender(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2))
    state = make_state(equity=8_000.0, peak_equity=10_000.0)
    v = g.vet(state, [BUY_A])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("MAX_DRAWDOWN",))
    assert v.details["drawdown"] == pytest.approx(0.2) and v.details["max_drawdown"] == 0.2
    assert "MAX_DRAWDOWN" in g.halted()["alpha"]
    (event,) = g.events()
    assert (event["kind"], event["contender"], event["ts_ns"], event["code"]) == (
        "CONTENDER_HALTED", "alpha", state.ts_ns, "MAX_DRAWDOWN")
    assert event["until_ts_ns"] is None


def test_halted_contender_may_still_reduce(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2))
    state = make_state(equity=7_000.0, peak_equity=10_000.0, positions={"A": 40.0}, cash=3_000.0)
    v = g.vet(state, [OrderRequest("A", Side.SELL, 40.0)])[0]
    assert v.action is Action.ALLOW


def test_halt_persists_after_equity_recovers(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2))
    g.observe(make_state(equity=7_500.0, peak_equity=10_000.0))
    later = make_state(ts_ns=make_state().ts_ns + 30 * NS_PER_DAY, equity=12_000.0)
    v = g.vet(later, [BUY_A])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("MAX_DRAWDOWN",))
    assert v.details["drawdown"] == 0.0
    assert [e["kind"] for e in g.events()] == ["CONTENDER_HALTED"]  # once, not per bar


def test_halt_is_per_contender(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2))
    g.observe(make_state(equity=7_500.0, peak_equity=10_000.0))
    assert g.vet(make_state(contender="beta"), [BUY_A])[0].action is Action.ALLOW


def test_release_lifts_the_halt(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_drawdown=0.2))
    g.observe(make_state(equity=7_500.0, peak_equity=10_000.0))
    assert g.release_contender("alpha", ts_ns=99) == ["MAX_DRAWDOWN"]
    assert g.halted() == {}
    assert g.vet(make_state(), [BUY_A])[0].action is Action.ALLOW
    assert g.events()[-1]["kind"] == "CONTENDER_RELEASED"


# ------------------------------------------------------------ daily loss
def test_daily_loss_breach_denies_for_the_rest_of_the_day(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(daily_loss_limit=0.05))
    t0 = make_state().ts_ns + 10 * 3_600 * 10**9  # 10:00 UTC
    state = make_state(ts_ns=t0, equity=9_400.0, peak_equity=10_000.0, day_start_equity=10_000.0)
    v = g.vet(state, [BUY_A])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("DAILY_LOSS_LIMIT",))
    assert v.details["daily_loss"] == pytest.approx(0.06) and v.details["daily_loss_limit"] == 0.05
    (event,) = g.events()
    assert event["kind"] == "CONTENDER_SUSPENDED"
    assert event["until_ts_ns"] == (t0 // NS_PER_DAY + 1) * NS_PER_DAY
    recovered = make_state(ts_ns=t0 + 3_600 * 10**9, equity=10_100.0, day_start_equity=10_000.0)
    assert g.vet(recovered, [BUY_A])[0].action is Action.DENY
    assert g.halted() == {}


def test_daily_loss_resets_on_the_next_utc_day(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(daily_loss_limit=0.05))
    t0 = make_state().ts_ns + 23 * 3_600 * 10**9  # 23:00 UTC
    g.observe(make_state(ts_ns=t0, equity=9_000.0, peak_equity=10_000.0, day_start_equity=10_000.0))
    assert g.events()[0]["kind"] == "CONTENDER_SUSPENDED"
    next_day = make_state(ts_ns=t0 + 3_600 * 10**9, equity=9_000.0, peak_equity=10_000.0,
                          day_start_equity=9_000.0)
    assert g.vet(next_day, [BUY_A])[0].action is Action.ALLOW


def test_daily_loss_allows_reductions(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(daily_loss_limit=0.05))
    state = make_state(equity=9_000.0, peak_equity=10_000.0, day_start_equity=10_000.0,
                       positions={"A": 30.0}, cash=6_000.0)
    assert g.vet(state, [BUY_A])[0].action is Action.DENY
    assert g.vet(state, [OrderRequest("A", target_weight=0.1)])[0].action is Action.ALLOW
