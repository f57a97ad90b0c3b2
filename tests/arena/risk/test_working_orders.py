"""Working orders count toward the caps; a contender sees its working orders and can cancel them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arena.data.panel import Panel
from arena.local import replay_local
from arena.risk import RiskGuardian, RiskLimits
from contenders import Contender, Contribution, Decision
from ledger import ExecutionConfig
from ledger.types import OrderRequest, OrderType, Side, TimeInForce

DAY_NS = 86_400 * 1_000_000_000
CAP = 0.5


def _flat_panel(lows: list[float]) -> Panel:
    """One symbol at 100 USD (open = high = close) whose lows dip to ``lows``: resting limit
    buys fill on a dip, at their limit, and the price never drifts."""
    t = len(lows)
    ts = np.datetime64("2024-01-01", "ns").astype(np.int64) + np.arange(t, dtype=np.int64) * DAY_NS
    px = np.full((t, 1), 100.0)
    return Panel(ts, ("A",), px, px.copy(), np.array(lows, dtype=float).reshape(t, 1), px.copy(), np.full((t, 1), 1e6))


def _limit(units: float, price: float) -> OrderRequest:
    return OrderRequest("A", Side.BUY, units, type=OrderType.LIMIT, limit_price=price, time_in_force=TimeInForce.GTC)


class RestingBuys(Contender):
    """On bars 1, 2, 3 rests a GTC limit buy worth 0.45 of equity at 95 USD; on bar 5 cancels
    what is still working and asks to cancel an id that does not exist."""

    def __init__(self, **p):
        super().__init__(**p)
        self.seen: list[tuple[int, tuple[str, ...]]] = []

    def on_bars(self, bars, portfolio):
        self.seen.append((bars.index, tuple(o.client_order_id for o in portfolio.working_orders)))
        if bars.index in (1, 2, 3):
            return Decision(orders=[_limit(45.0, 95.0)], explanation=[Contribution("rest", 1.0, 1.0)])
        if bars.index == 5:
            ids = [o.client_order_id for o in portfolio.working_orders]
            return Decision(cancel=[*ids, "no-such-order"], explanation=[Contribution("cancel", 1.0, 1.0)])
        return None


def test_three_resting_orders_cannot_together_pass_a_cap_each_passes_alone():
    c = RestingBuys()
    panel = _flat_panel([99.0] * 5 + [90.0] * 3)  # nothing fills until bar 5's dip
    runner, res = replay_local(c, panel, limits=RiskLimits(max_position_weight=CAP))
    recs = runner.drain_records()
    verdicts = [(v["action"], v["approved_json"] and v["approved_json"]["quantity"]) for v in recs["risk_verdicts"]]
    assert verdicts[0] == ("ALLOW", 45.0)
    assert verdicts[1][0] == "SCALE" and verdicts[1][1] == pytest.approx(5.0), "0.45 working + 0.05 = the cap"
    assert verdicts[2] == ("DENY", None), "the cap is taken by the working orders"
    assert res["equity"][-1] > 0
    assert max(f["quantity"] for f in res["fills"]) <= 45.0 if res["fills"] else True


def test_a_contender_sees_its_working_orders_and_cancels_them():
    c = RestingBuys()
    panel = _flat_panel([99.0] * 8)  # nothing ever fills
    runner, res = replay_local(c, panel, limits=RiskLimits(max_position_weight=1.0))
    seen = dict(c.seen)
    assert len(seen[2]) == 1 and len(seen[4]) == 3, "each resting order is visible from the next bar"
    assert seen[6] == (), "cancelled on bar 5"
    recs = runner.drain_records()
    cancelled = [o for o in recs["orders"] if o["status"] == "CANCELLED"]
    assert sorted(o["client_order_id"] for o in cancelled) == sorted(seen[4])
    assert all(o["reason"] == "CANCEL_REQUESTED" for o in cancelled)
    rejected = [e for e in recs["events"] if e["kind"] == "CANCEL_REJECTED"]
    assert len(rejected) == 1 and "no-such-order" in rejected[0]["reason"]
    assert res["fills"] == []


def test_working_buys_set_their_cash_aside():
    """All cash committed to a resting buy: a second buy finds no cash for it."""
    guardian = RiskGuardian(RiskLimits(max_position_weight=2.0, max_gross_leverage=2.0))

    class TwoBuys(Contender):
        def on_bars(self, bars, portfolio):
            if bars.index in (1, 2):
                return Decision(orders=[_limit(95.0, 99.0 if bars.index == 1 else 98.0)],
                                explanation=[Contribution("x", 1.0, 1.0)])
            return None

    runner, _ = replay_local(TwoBuys(), _flat_panel([99.5] * 4), guardian=guardian)
    actions = [(v["action"], v["reasons_json"]) for v in runner.drain_records()["risk_verdicts"]]
    assert actions[0] == ("ALLOW", [])
    assert actions[1][0] in ("SCALE", "DENY") and "INSUFFICIENT_CASH" in actions[1][1]


class RandomResting(Contender):
    """Rests random GTC limit buys and sells (explicit or target-weight) and cancels at random."""

    plan: tuple = ()

    def on_bars(self, bars, portfolio):
        step = self.plan[bars.index] if bars.index < len(self.plan) else None
        if step is None:
            return None
        kind, size, limit, cancel = step
        if cancel and portfolio.working_orders:
            return Decision(cancel=[portfolio.working_orders[0].client_order_id],
                            explanation=[Contribution("cancel", 1.0, 1.0)])
        if kind == "target":
            req = OrderRequest("A", Side.BUY, target_weight=size, type=OrderType.LIMIT, limit_price=limit,
                               time_in_force=TimeInForce.GTC)
        else:
            req = _limit(round(size * 100.0), limit)
        return Decision(orders=[req], explanation=[Contribution("rest", 1.0, 1.0)])


steps = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["units", "target"]), st.floats(0.05, 0.9), st.floats(90.0, 99.9), st.booleans()),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(steps, min_size=5, max_size=30), st.lists(st.floats(88.0, 100.0), min_size=30, max_size=30))
def test_no_position_exceeds_the_cap_after_fills_working_orders_included(plan, lows):
    """Over random resting orders and dips: at every bar, the position held plus the buys still
    working stays within the cap (the price does not drift, so any excess would be the caps')."""
    c = RandomResting(plan=tuple(plan))
    panel = _flat_panel(lows)
    runner, res = replay_local(c, panel, limits=RiskLimits(max_position_weight=CAP, require_cash=False),
                               execution=ExecutionConfig(sizing="fractional"))
    weight = (res["equity"] - res["cash"]) / res["equity"]
    # a target-weight order resolves its target at its fill price (a limit below the 100 USD
    # mark), so its weight at the mark is target × 100 / limit: that gap is allowed, nothing else
    limits = [step[2] for step in plan if step is not None and step[0] == "target"]
    slack = 100.0 / min(limits) if limits else 1.0
    assert weight.max() <= CAP * slack + 1e-6
    led = runner.ledger
    pending = led.pending_units(led.last_prices).get("A", (0.0, 0.0))[0] * 100.0 / led.equity
    assert weight[-1] + pending <= CAP * slack + 1e-6

