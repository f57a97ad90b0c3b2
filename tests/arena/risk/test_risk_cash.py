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
