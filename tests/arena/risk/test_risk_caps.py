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



def test_gross_cap_holds_when_the_cash_cannot_pay_the_cover_that_made_room() -> None:
    """Regression (hypothesis, ``test_approved_increases_respect_the_caps``).

    Gross 2.5 against a cap of 2.0: A long 1.0, B long 0.5, C short 1.0, with
    5 000 USD of cash. Covering C (10 000 USD) makes room under the cap for B
    to go to 1.0 (5 000 more USD), but the cash pays for a third of the two
    buys. The cash rule used to scale both alike (C to −2/3, B to 2/3: gross
    2.33 with B increased). Now the cash goes to the cover (C to −0.5) and,
    as the cover is cut, no increase passes: B stays at 0.5 (gross 2.0).
    """
    limits = RiskLimits(max_position_weight=1.0, max_gross_leverage=2.0, require_cash=True,
                        sharpe_window_bars=5, estimated_cost_bps=0.0)
    state = PortfolioState("p", 0, 10_000.0, 5_000.0, 10_000.0, 10_000.0,
                           positions={"A": 100.0, "C": -500.0, "B": 100.0},
                           prices={"A": 100.0, "B": 50.0, "C": 20.0, "D": 7.0},
                           recent_returns=(0.0,) * 5)
    reqs = [OrderRequest("C", target_weight=0.0), OrderRequest("A", Side.BUY, 1.0),
            OrderRequest("B", target_weight=1.0)]
    c, _, b = RiskGuardian(limits).vet(state, reqs)
    assert (b.action, b.reasons) == (Action.DENY, ("INSUFFICIENT_CASH",))
    assert c.approved is not None and c.approved.target_weight == pytest.approx(-0.5)


def test_flip_cut_back_to_flat_closes_a_fractional_position_exactly(make_state: State) -> None:
    state = make_state(positions={"A": -3.5, "B": 200.0})  # −0.035, and 1.0 of gross held in B
    v = _guardian(MaxGrossLeverage(1.0)).vet(state, [OrderRequest("A", Side.BUY, 10.0)])[0]
    # the increase beyond flat is denied; flooring 3.5 units to 3 would cut the cover
    assert v.action is Action.SCALE and v.approved is not None and v.approved.quantity == 3.5


def test_gross_cap_holds_when_a_flip_that_made_room_is_floored(make_state: State) -> None:
    """Regression: A short 3.5 units (−0.035) buys 4 (to +0.005) while B asks for
    0.995 with C held at 0.5 under a cap of 1.0. The common factor 0.5 leaves A
    3.75 units; flooring them to 3 used to leave A short 0.5 units (−0.005)
    where the cap had counted it long 0.0025 (gross 1.0025). It now stops at flat."""
    state = make_state(positions={"A": -3.5, "C": 250.0})
    reqs = [OrderRequest("A", Side.BUY, 4.0), OrderRequest("B", target_weight=0.995)]
    a, b = _guardian(MaxGrossLeverage(1.0)).vet(state, reqs)
    assert a.approved is not None and b.approved is not None
    gross = 0.5 + abs(a.details["approved_weight"]) + abs(b.approved.target_weight)
    assert gross <= 1.0 + 1e-12
