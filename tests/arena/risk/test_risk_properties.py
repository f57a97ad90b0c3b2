"""Properties of vet over random portfolios and decisions (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arena.risk import Action, PortfolioState, RiskGuardian, RiskLimits
from ledger.types import OrderRequest, Side

SYMBOLS = ("A", "B", "C", "D")
PRICES = {"A": 100.0, "B": 50.0, "C": 20.0, "D": 7.0}
TOL = 1e-7

weights = st.floats(-1.5, 1.5, allow_nan=False)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[RiskLimits, PortfolioState, list[OrderRequest]]:
    limits = RiskLimits(
        max_position_weight=draw(st.floats(0.05, 1.0)),
        max_gross_leverage=draw(st.floats(0.2, 2.0)),
        require_cash=draw(st.booleans()),
        sharpe_floor=draw(st.none() | st.just(0.0)),
        sharpe_window_bars=5,
        estimated_cost_bps=draw(st.sampled_from([0.0, 10.0])),
    )
    equity = 10_000.0
    held = draw(st.dictionaries(st.sampled_from(SYMBOLS), weights, max_size=4))
    positions = {s: w * equity / PRICES[s] for s, w in held.items()}
    cash = equity - sum(u * PRICES[s] for s, u in positions.items())
    returns = tuple(draw(st.lists(st.floats(-0.05, 0.05), min_size=5, max_size=5)))
    state = PortfolioState("p", 0, equity, cash, equity, equity, positions, PRICES, returns)
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=4))
    requests = []
    for s in symbols:
        if draw(st.booleans()):
            requests.append(OrderRequest(s, target_weight=draw(weights)))
        else:
            requests.append(OrderRequest(s, draw(st.sampled_from(list(Side))),
                                         float(draw(st.integers(1, 200)))))
    return limits, state, requests


def _final_weights(state: PortfolioState, verdicts: list) -> dict[str, float]:
    w = {s: u * PRICES[s] / state.equity for s, u in state.positions.items()}
    for v in verdicts:
        a = v.approved
        if a is None:
            continue
        if a.target_weight is not None:
            w[a.symbol] = a.target_weight
        else:
            sign = 1.0 if a.side is Side.BUY else -1.0
            w[a.symbol] = w.get(a.symbol, 0.0) + sign * a.quantity * PRICES[a.symbol] / state.equity
    return w


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_verdicts_are_consistent(case: tuple[RiskLimits, PortfolioState, list[OrderRequest]]) -> None:
    limits, state, requests = case
    verdicts = RiskGuardian(limits).vet(state, requests)
    assert len(verdicts) == len(requests)
    for req, v in zip(requests, verdicts, strict=True):
        assert v.request is req and 0.0 <= v.scale <= 1.0
        if v.action is Action.ALLOW:
            assert v.approved is req and v.scale == 1.0
        elif v.action is Action.DENY:
            assert v.approved is None and v.scale == 0.0 and v.reasons
        else:
            assert v.approved is not None and 0.0 < v.scale < 1.0 and v.reasons


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_approved_increases_respect_the_caps(
    case: tuple[RiskLimits, PortfolioState, list[OrderRequest]],
) -> None:
    limits, state, requests = case
    verdicts = RiskGuardian(limits).vet(state, requests)
    before = _final_weights(state, [])
    after = _final_weights(state, verdicts)
    increased = [s for s in after if abs(after[s]) > abs(before.get(s, 0.0)) + TOL
                 or after[s] * before.get(s, 0.0) < -TOL]
    for s in increased:
        assert abs(after[s]) <= limits.max_position_weight + TOL
    if increased:
        assert sum(abs(w) for w in after.values()) <= limits.max_gross_leverage + TOL


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_pure_reductions_pass_whole_without_the_cash_rule(
    case: tuple[RiskLimits, PortfolioState, list[OrderRequest]],
) -> None:
    limits, state, requests = case
    limits = RiskLimits.from_dict(limits.to_dict() | {"require_cash": False})
    before = _final_weights(state, [])
    for req, v in zip(requests, RiskGuardian(limits).vet(state, requests), strict=True):
        w0 = before.get(req.symbol, 0.0)
        if req.target_weight is not None:
            wanted = req.target_weight
        else:
            sign = 1.0 if req.side is Side.BUY else -1.0
            wanted = w0 + sign * req.quantity * PRICES[req.symbol] / state.equity
        if w0 * wanted >= 0.0 and abs(wanted) < abs(w0) - TOL:
            assert v.action is Action.ALLOW



@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_flips_reach_flat_at_least_without_the_cash_rule(
    case: tuple[RiskLimits, PortfolioState, list[OrderRequest]],
) -> None:
    limits, state, requests = case
    limits = RiskLimits.from_dict(limits.to_dict() | {"require_cash": False})
    before = _final_weights(state, [])
    after = _final_weights(state, RiskGuardian(limits).vet(state, requests))
    for req in requests:
        w0 = before.get(req.symbol, 0.0)
        if req.target_weight is not None:
            wanted = req.target_weight
        else:
            sign = 1.0 if req.side is Side.BUY else -1.0
            wanted = w0 + sign * req.quantity * PRICES[req.symbol] / state.equity
        if w0 * wanted < 0.0:  # the part down to flat is a reduction: only increases are cut
            assert after[req.symbol] * w0 <= TOL

@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_approved_buys_fit_the_cash(case: tuple[RiskLimits, PortfolioState, list[OrderRequest]]) -> None:
    limits, state, requests = case
    if not limits.require_cash:
        return
    c = limits.estimated_cost_bps / 10_000.0
    before = _final_weights(state, [])
    after = _final_weights(state, RiskGuardian(limits).vet(state, requests))
    cash = state.cash
    bought = False
    for s, w in after.items():
        delta_usd = (w - before.get(s, 0.0)) * state.equity
        if delta_usd > TOL:
            cash -= delta_usd * (1.0 + c)
            bought = True
        else:
            cash -= delta_usd * (1.0 - c)
    if bought:
        assert cash >= -1e-6 * state.equity
