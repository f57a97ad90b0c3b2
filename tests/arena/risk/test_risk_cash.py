"""CashSufficiency: buys must be paid for, at reference/limit/stop prices, costs included."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from arena.risk import Action, CashSufficiency, PortfolioState, RiskGuardian, RiskLimits
from ledger.types import OrderRequest, OrderType, Side

State = Callable[..., PortfolioState]


def _vet(state: PortfolioState, reqs: list[OrderRequest], cost_bps: float = 0.0) -> list:
    return RiskGuardian(RiskLimits(), [CashSufficiency(cost_bps)]).vet(state, reqs)


def test_buy_within_cash_is_allowed(make_state: State) -> None:
    v = _vet(make_state(), [OrderRequest("A", target_weight=1.0)])[0]
    assert v.action is Action.ALLOW


def test_buy_beyond_cash_is_scaled_to_the_cash(make_state: State) -> None:
    state = make_state(cash=2_000.0, positions={"B": 160.0})  # 8 000 USD in B
    v = _vet(state, [OrderRequest("A", Side.BUY, 50.0)])[0]  # 5 000 USD
    assert v.action is Action.SCALE and v.reasons == ("INSUFFICIENT_CASH",)
    assert v.approved is not None and v.approved.quantity == 20.0
    assert v.details["buy_cost"] == pytest.approx(5_000.0)
    assert v.details["projected_cash"] == pytest.approx(-3_000.0)


def test_estimated_costs_are_charged(make_state: State) -> None:
    # 100 % of equity at 50 bps costs 10 050 USD > 10 000 USD → scaled by 1/1.005
    v = _vet(make_state(), [OrderRequest("A", target_weight=1.0)], cost_bps=50.0)[0]
    assert v.action is Action.SCALE and v.approved is not None
    assert v.approved.target_weight == pytest.approx(1.0 / 1.005)


def test_no_cash_denies_buys(make_state: State) -> None:
    state = make_state(cash=0.0, positions={"B": 200.0})
    v = _vet(state, [OrderRequest("A", target_weight=0.1)])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("INSUFFICIENT_CASH",))


def test_market_sell_proceeds_fund_buys_in_the_same_decision(make_state: State) -> None:
    state = make_state(cash=0.0, positions={"B": 200.0})  # all in B
    reqs = [OrderRequest("B", target_weight=0.0), OrderRequest("A", target_weight=1.0)]
    assert [v.action for v in _vet(state, reqs)] == [Action.ALLOW, Action.ALLOW]


def test_limit_sell_proceeds_are_not_counted(make_state: State) -> None:
    state = make_state(cash=0.0, positions={"B": 200.0})
    reqs = [OrderRequest("B", Side.SELL, 200.0, type=OrderType.LIMIT, limit_price=55.0),
            OrderRequest("A", target_weight=1.0)]
    sell, buy = _vet(state, reqs)
    assert sell.action is Action.ALLOW and buy.action is Action.DENY


def test_limit_buy_is_priced_at_its_limit(make_state: State) -> None:
    state = make_state(cash=1_000.0, positions={"B": 180.0})
    # 10 units at a 120 USD limit = 1 200 USD (not 1 000 at the 100 USD reference)
    v = _vet(state, [OrderRequest("A", Side.BUY, 10.0, type=OrderType.LIMIT, limit_price=120.0)])[0]
    assert v.action is Action.SCALE and v.approved is not None and v.approved.quantity == 8.0


def test_stop_buy_is_priced_at_the_stop_when_above_reference(make_state: State) -> None:
    state = make_state(cash=1_000.0, positions={"B": 180.0})
    v = _vet(state, [OrderRequest("A", Side.BUY, 10.0, type=OrderType.STOP, stop_price=125.0)])[0]
    assert v.details["buy_cost"] == pytest.approx(1_250.0)
    assert v.approved is not None and v.approved.quantity == 8.0


def test_margin_turns_the_check_off(make_state: State) -> None:
    state = make_state(cash=0.0, positions={"B": 200.0}, margin=True)
    assert _vet(state, [OrderRequest("A", target_weight=0.5)])[0].action is Action.ALLOW


def test_buys_are_scaled_proportionally(make_state: State) -> None:
    state = make_state(cash=3_000.0, positions={"C": 350.0})
    reqs = [OrderRequest("A", target_weight=0.4), OrderRequest("B", target_weight=0.2)]
    a, b = _vet(state, reqs)  # 6 000 USD of buys for 3 000 USD → both halved
    assert a.approved is not None and b.approved is not None
    assert (a.approved.target_weight, b.approved.target_weight) == (pytest.approx(0.2), pytest.approx(0.1))
    assert a.scale == pytest.approx(0.5) and b.scale == pytest.approx(0.5)


def test_covers_are_paid_before_increasing_buys(make_state: State) -> None:
    state = make_state(cash=5_000.0, positions={"B": 160.0, "C": -150.0})  # B 0.8, C −0.3
    reqs = [OrderRequest("C", target_weight=0.0), OrderRequest("A", target_weight=0.4)]
    c, a = _vet(state, reqs)  # 3 000 USD to cover C, the other 2 000 USD for A
    assert c.action is Action.ALLOW
    assert a.action is Action.SCALE and a.approved is not None
    assert a.approved.target_weight == pytest.approx(0.2)


def _short_of_the_cover(make_state: State) -> tuple[PortfolioState, list[OrderRequest]]:
    """3 000 USD of cash, B long 1.2, C short 0.5: covering C costs 5 000 USD; a
    B sale brings 500 USD and a D short sale 1 000 USD."""
    state = make_state(cash=3_000.0, positions={"B": 240.0, "C": -250.0},
                       prices={"A": 100.0, "B": 50.0, "C": 20.0, "D": 10.0})
    reqs = [OrderRequest("C", target_weight=0.0), OrderRequest("B", target_weight=1.15),
            OrderRequest("D", target_weight=-0.1)]
    return state, reqs


def test_increases_are_denied_when_the_covers_cannot_be_paid(make_state: State) -> None:
    state, reqs = _short_of_the_cover(make_state)
    d = _vet(state, reqs)[2]  # the short sale would help pay, but it adds exposure
    assert (d.action, d.reasons) == (Action.DENY, ("INSUFFICIENT_CASH",))


def test_unpaid_covers_get_the_cash_and_the_reducing_sales(make_state: State) -> None:
    state, reqs = _short_of_the_cover(make_state)
    c, b, _ = _vet(state, reqs)  # (3 000 + 500) / 5 000 of the cover
    assert b.action is Action.ALLOW
    assert c.action is Action.SCALE and c.approved is not None
    assert c.approved.target_weight == pytest.approx(-0.15)
    assert c.details["cover_cost"] == pytest.approx(5_000.0)
