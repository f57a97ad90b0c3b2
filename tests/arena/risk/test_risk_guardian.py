"""RiskGuardian.vet: composition of rules, guardian-level denials, verdict records, rule contract."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest

from arena.risk import (
    PASS,
    Action,
    ArenaKillSwitch,
    CashSufficiency,
    MaxGrossLeverage,
    MaxPositionWeight,
    PortfolioState,
    Proposal,
    RiskGuardian,
    RiskLimits,
    RollingSharpeFloor,
    RuleContext,
    RuleOutcome,
    default_rules,
)
from ledger.types import OrderRequest, OrderType, Side

State = Callable[..., PortfolioState]


def _losing(n: int) -> tuple[float, ...]:
    return tuple(np.random.default_rng(3).normal(-0.004, 0.01, n).tolist())


# ------------------------------------------------------------- composition
def test_reasons_accumulate_and_scales_multiply(make_state: State) -> None:
    limits = RiskLimits(max_position_weight=0.5, max_gross_leverage=0.8, sharpe_floor=0.0,
                        sharpe_window_bars=20, sharpe_scale=0.5)
    reqs = [OrderRequest("A", target_weight=1.0), OrderRequest("B", target_weight=0.5)]
    a, b = RiskGuardian(limits).vet(make_state(recent_returns=_losing(20)), reqs)
    # A: cap 1.0 → 0.5 (×0.5); gross 0.5 + 0.5 = 1.0 > 0.8 → ×0.8; Sharpe ×0.5 → 0.2
    assert a.reasons == ("MAX_POSITION_WEIGHT", "MAX_GROSS_LEVERAGE", "SHARPE_FLOOR")
    assert a.scale == pytest.approx(0.5 * 0.8 * 0.5)
    assert a.approved is not None and a.approved.target_weight == pytest.approx(0.2)
    assert b.reasons == ("MAX_GROSS_LEVERAGE", "SHARPE_FLOOR")
    assert b.approved is not None and b.approved.target_weight == pytest.approx(0.2)
    assert {"max_position_weight", "max_gross_leverage", "rolling_sharpe"} <= set(a.details)


def test_deny_wins_after_a_scale(make_state: State) -> None:
    state = make_state(cash=0.0, positions={"C": 500.0})
    v = RiskGuardian(RiskLimits(max_position_weight=0.3, max_gross_leverage=2.0)).vet(
        state, [OrderRequest("A", target_weight=0.9)])[0]
    assert (v.action, v.approved, v.scale) == (Action.DENY, None, 0.0)
    assert v.reasons == ("MAX_POSITION_WEIGHT", "INSUFFICIENT_CASH")


def test_a_denied_order_is_settled_and_later_rules_skip_it(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(max_position_weight=0.3))
    g.trip_kill_switch("stop")
    v = g.vet(make_state(), [OrderRequest("A", target_weight=0.9)])[0]
    assert v.reasons == ("ARENA_KILL_SWITCH",)


def test_default_rules_follow_the_limits() -> None:
    names = [type(r).__name__ for r in default_rules(RiskLimits())]
    assert names == ["ArenaKillSwitch", "MaxPositionWeight", "MaxGrossLeverage", "CashSufficiency"]
    full = RiskLimits(max_drawdown=0.3, daily_loss_limit=0.05, sharpe_floor=0.0, require_cash=False)
    assert [r.code for r in default_rules(full)] == [
        "ARENA_KILL_SWITCH", "MAX_DRAWDOWN", "DAILY_LOSS_LIMIT", "MAX_POSITION_WEIGHT",
        "MAX_GROSS_LEVERAGE", "SHARPE_FLOOR"]


# ------------------------------------------------------- guardian denials
def test_missing_price_is_denied_not_raised(make_state: State) -> None:
    v = RiskGuardian(RiskLimits()).vet(make_state(), [OrderRequest("ZZZ", target_weight=0.1)])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("NO_PRICE",))


def test_non_finite_target_weight_is_denied(make_state: State) -> None:
    v = RiskGuardian(RiskLimits()).vet(make_state(), [OrderRequest("A", target_weight=float("inf"))])[0]
    assert (v.action, v.reasons) == (Action.DENY, ("INVALID_ORDER",))


def test_second_order_on_a_symbol_is_denied(make_state: State) -> None:
    reqs = [OrderRequest("A", Side.BUY, 10.0),
            OrderRequest("A", Side.SELL, 10.0, type=OrderType.STOP, stop_price=90.0)]
    first, second = RiskGuardian(RiskLimits()).vet(make_state(), reqs)
    assert first.action is Action.ALLOW
    assert (second.action, second.reasons, second.details) == (
        Action.DENY, ("DUPLICATE_SYMBOL",), {"first_index": 0.0})


def test_without_equity_only_reductions_pass(make_state: State) -> None:
    state = make_state(equity=-500.0, peak_equity=10_000.0, day_start_equity=1_000.0,
                       cash=-2_500.0, positions={"A": 20.0})
    reqs = [OrderRequest("A", Side.SELL, 5.0), OrderRequest("B", target_weight=0.1),
            OrderRequest("C", target_weight=0.0)]
    a, b, c = RiskGuardian(RiskLimits()).vet(state, reqs)
    assert a.action is Action.ALLOW
    assert (b.action, b.reasons) == (Action.DENY, ("NO_EQUITY",))
    assert c.action is Action.DENY  # nothing held in C: not a reduction


def test_verdicts_keep_request_order_and_identity(make_state: State) -> None:
    reqs = [OrderRequest(s, target_weight=0.1, tag=f"t{i}") for i, s in enumerate("CAB")]
    verdicts = RiskGuardian(RiskLimits()).vet(make_state(), reqs)
    assert [v.request for v in verdicts] == reqs
    assert all(v.contender == "alpha" and v.ts_ns == make_state().ts_ns for v in verdicts)


def test_same_calls_give_same_verdicts(make_state: State) -> None:
    limits = RiskLimits(max_position_weight=0.4, sharpe_floor=0.0, sharpe_window_bars=10)
    state = make_state(recent_returns=_losing(10))
    reqs = [OrderRequest("A", target_weight=0.9), OrderRequest("B", Side.BUY, 33.0)]
    assert RiskGuardian(limits).vet(state, reqs) == RiskGuardian(limits).vet(state, reqs)


# ------------------------------------------------------------ rule contract
class _NoLimitOrders:
    """A custom rule: denies every LIMIT order."""

    code = "NO_LIMIT_ORDERS"

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        return [RuleOutcome(0.0, {"limit_price": p.request.limit_price or 0.0})
                if p.request.type is OrderType.LIMIT else PASS for p in proposals]


def test_custom_rule_composes_with_builtin_rules(make_state: State) -> None:
    g = RiskGuardian(RiskLimits(), [ArenaKillSwitch(), _NoLimitOrders(), MaxPositionWeight(0.5)])
    reqs = [OrderRequest("A", Side.BUY, 5.0, type=OrderType.LIMIT, limit_price=99.0),
            OrderRequest("B", target_weight=0.7)]
    lim, mkt = g.vet(make_state(), reqs)
    assert (lim.action, lim.reasons, lim.details["limit_price"]) == (Action.DENY, ("NO_LIMIT_ORDERS",), 99.0)
    assert (mkt.action, mkt.reasons) == (Action.SCALE, ("MAX_POSITION_WEIGHT",))


class _WrongCount:
    code = "WRONG"

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        return []


class _BadScale:
    code = "BAD"

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        return [RuleOutcome(1.5)] * len(proposals)


def test_rule_returning_wrong_count_raises(make_state: State) -> None:
    with pytest.raises(TypeError, match="rule 'WRONG' returned 0 outcomes for 1 proposals"):
        RiskGuardian(RiskLimits(), [_WrongCount()]).vet(make_state(), [OrderRequest("A", target_weight=0.1)])


def test_rule_returning_bad_scale_raises(make_state: State) -> None:
    with pytest.raises(TypeError, match="rule 'BAD' must return RuleOutcome objects with a scale in"):
        RiskGuardian(RiskLimits(), [_BadScale()]).vet(make_state(), [OrderRequest("A", target_weight=0.1)])


def test_object_without_check_is_not_a_rule() -> None:
    with pytest.raises(TypeError, match=r"rules\[1\] \(str\) is not a risk rule"):
        RiskGuardian(RiskLimits(), [CashSufficiency(), "MAX_LEVERAGE"])  # type: ignore[list-item]


def test_vet_rejects_wrong_argument_types(make_state: State) -> None:
    g = RiskGuardian(RiskLimits())
    with pytest.raises(TypeError, match="vet needs a PortfolioState"):
        g.vet({"equity": 1.0}, [])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"requests\[0\] must be an OrderRequest"):
        g.vet(make_state(), [("A", 0.5)])  # type: ignore[list-item]


def test_rules_validate_their_parameters() -> None:
    with pytest.raises(ValueError, match="max_gross_leverage must be > 0"):
        MaxGrossLeverage(0.0)
    with pytest.raises(ValueError, match="sharpe_window_bars must be an integer"):
        RollingSharpeFloor(0.0, window_bars=1)
