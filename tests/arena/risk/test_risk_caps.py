"""MaxPositionWeight and MaxGrossLeverage: allow, scale to the cap, deny, never cut reductions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from arena.risk import Action, MaxGrossLeverage, MaxPositionWeight, PortfolioState, RiskGuardian, RiskLimits
from ledger.types import OrderRequest, Side

State = Callable[..., PortfolioState]


def _guardian(*rules: object) -> RiskGuardian:
    return RiskGuardian(RiskLimits(), list(rules))  # type: ignore[arg-type]


def test_position_within_cap_is_allowed_unchanged(make_state: State) -> None:
    req = OrderRequest("A", target_weight=0.3)
    v = _guardian(MaxPositionWeight(0.3)).vet(make_state(), [req])[0]
    assert (v.action, v.approved, v.scale, v.reasons) == (Action.ALLOW, req, 1.0, ())
    assert v.details["approved_weight"] == 0.3


def test_position_over_cap_is_scaled_to_the_cap(make_state: State) -> None:
    state = make_state(positions={"A": 10.0})  # weight 0.1
    v = _guardian(MaxPositionWeight(0.3)).vet(state, [OrderRequest("A", target_weight=0.5)])[0]
    assert v.action is Action.SCALE and v.reasons == ("MAX_POSITION_WEIGHT",)
    assert v.approved is not None and v.approved.target_weight == pytest.approx(0.3)
    assert v.scale == pytest.approx(0.5)  # half of the 0.1 → 0.5 change
    assert v.details["projected_weight"] == 0.5 and v.details["max_position_weight"] == 0.3


def test_short_over_cap_is_scaled_to_minus_the_cap(make_state: State) -> None:
    v = _guardian(MaxPositionWeight(0.25)).vet(make_state(), [OrderRequest("A", target_weight=-1.0)])[0]
    assert v.action is Action.SCALE and v.approved is not None
    assert v.approved.target_weight == pytest.approx(-0.25)


def test_adding_to_a_position_already_over_cap_is_denied(make_state: State) -> None:
    state = make_state(positions={"A": 40.0})  # weight 0.4 > 0.3
    v = _guardian(MaxPositionWeight(0.3)).vet(state, [OrderRequest("A", Side.BUY, 5.0)])[0]
    assert (v.action, v.approved, v.scale) == (Action.DENY, None, 0.0)
    assert v.reasons == ("MAX_POSITION_WEIGHT",)


def test_reduction_that_stays_over_cap_is_not_scaled(make_state: State) -> None:
    state = make_state(positions={"A": 80.0})  # weight 0.8
    v = _guardian(MaxPositionWeight(0.3)).vet(state, [OrderRequest("A", target_weight=0.6)])[0]
    assert v.action is Action.ALLOW and v.reasons == ()


def test_flip_over_cap_is_scaled_only_beyond_flat(make_state: State) -> None:
    state = make_state(positions={"A": 20.0})  # +0.2 → -0.6 requested, cap 0.3
    v = _guardian(MaxPositionWeight(0.3)).vet(state, [OrderRequest("A", target_weight=-0.6)])[0]
    assert v.action is Action.SCALE and v.approved is not None
    assert v.approved.target_weight == pytest.approx(-0.3)
    assert v.scale == pytest.approx(0.5 / 0.8)


def test_explicit_whole_quantity_is_scaled_then_floored(make_state: State) -> None:
    # cap 0.333 of 10 000 USD at 100 USD → 33.3 units; 50 requested → 33 approved.
    v = _guardian(MaxPositionWeight(0.333)).vet(make_state(), [OrderRequest("A", Side.BUY, 50.0)])[0]
    assert v.action is Action.SCALE and v.approved is not None
    assert v.approved.quantity == 33.0 and v.approved.side is Side.BUY
    assert v.scale == pytest.approx(33.0 / 50.0)


def test_explicit_fractional_quantity_is_scaled_without_flooring(make_state: State) -> None:
    v = _guardian(MaxPositionWeight(0.333)).vet(make_state(), [OrderRequest("A", Side.BUY, 50.5)])[0]
    assert v.approved is not None and v.approved.quantity == pytest.approx(33.3)


def test_explicit_quantity_that_floors_to_zero_is_denied(make_state: State) -> None:
    state = make_state(positions={"A": 29.0})  # 0.29, cap 0.295 leaves 0.5 units
    v = _guardian(MaxPositionWeight(0.295)).vet(state, [OrderRequest("A", Side.BUY, 3.0)])[0]
    assert v.action is Action.DENY and v.reasons == ("MAX_POSITION_WEIGHT",)
    assert v.details["approved_weight"] == pytest.approx(0.29)


def test_gross_within_cap_is_allowed(make_state: State) -> None:
    reqs = [OrderRequest("A", target_weight=0.5), OrderRequest("B", target_weight=-0.5)]
    verdicts = _guardian(MaxGrossLeverage(1.0)).vet(make_state(), reqs)
    assert [v.action for v in verdicts] == [Action.ALLOW, Action.ALLOW]


def test_gross_over_cap_scales_increases_by_one_factor(make_state: State) -> None:
    state = make_state(positions={"C": 100.0})  # C held at 0.2, no order on it
    reqs = [OrderRequest("A", target_weight=0.6), OrderRequest("B", target_weight=-0.4)]
    verdicts = _guardian(MaxGrossLeverage(1.0)).vet(state, reqs)
    # room 1.0 − 0.2 = 0.8 for 1.0 of added exposure → factor 0.8
    assert [v.action for v in verdicts] == [Action.SCALE, Action.SCALE]
    assert [v.approved.target_weight for v in verdicts if v.approved] == [
        pytest.approx(0.48), pytest.approx(-0.32)]
    assert verdicts[0].details["projected_gross_leverage"] == pytest.approx(1.2)
    assert verdicts[0].reasons == ("MAX_GROSS_LEVERAGE",)


def test_reductions_in_the_same_decision_make_room(make_state: State) -> None:
    state = make_state(positions={"A": 80.0})  # 0.8 held
    reqs = [OrderRequest("A", target_weight=0.3), OrderRequest("B", target_weight=0.7)]
    verdicts = _guardian(MaxGrossLeverage(1.0)).vet(state, reqs)
    assert [v.action for v in verdicts] == [Action.ALLOW, Action.ALLOW]


def test_no_room_denies_increases_but_passes_reductions(make_state: State) -> None:
    state = make_state(positions={"A": 60.0, "B": 100.0})  # 0.6 + 0.5 = 1.1 gross
    reqs = [OrderRequest("A", target_weight=0.55), OrderRequest("C", target_weight=0.1)]
    a, c = _guardian(MaxGrossLeverage(1.0)).vet(state, reqs)
    assert a.action is Action.ALLOW
    assert c.action is Action.DENY and c.reasons == ("MAX_GROSS_LEVERAGE",)
