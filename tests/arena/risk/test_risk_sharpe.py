"""Rolling Sharpe: the formula against numpy, and the SHARPE_FLOOR size cut."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from arena.risk import Action, PortfolioState, RiskGuardian, RiskLimits, RollingSharpeFloor, annualized_sharpe
from ledger.types import OrderRequest, Side

State = Callable[..., PortfolioState]


def _numpy_sharpe(r: np.ndarray, periods_per_year: float) -> float:
    return float(r.mean() / r.std(ddof=1) * np.sqrt(periods_per_year))


@pytest.mark.parametrize(("n", "ppy", "drift"), [(2, 252.0, 0.0), (21, 252.0, 0.001), (63, 365.0, -0.002)])
def test_sharpe_matches_numpy(n: int, ppy: float, drift: float) -> None:
    r = np.random.default_rng(n).normal(drift, 0.01, n)
    assert annualized_sharpe(tuple(r.tolist()), ppy) == pytest.approx(_numpy_sharpe(r, ppy), rel=1e-12)


def test_sharpe_is_undefined_for_short_or_flat_series() -> None:
    assert annualized_sharpe((0.01,), 252.0) is None
    assert annualized_sharpe((0.0,) * 30, 252.0) is None
    assert annualized_sharpe((0.001,) * 30, 252.0) is None


def _losing_returns(n: int) -> tuple[float, ...]:
    return tuple(np.random.default_rng(7).normal(-0.003, 0.01, n).tolist())


def _guardian(window: int = 20, floor: float = 0.0) -> RiskGuardian:
    return RiskGuardian(RiskLimits(), [RollingSharpeFloor(floor, window_bars=window, scale=0.5)])


def test_sharpe_below_floor_halves_increases(make_state: State) -> None:
    returns = _losing_returns(20)
    v = _guardian().vet(make_state(recent_returns=returns), [OrderRequest("A", target_weight=0.8)])[0]
    assert (v.action, v.reasons) == (Action.SCALE, ("SHARPE_FLOOR",))
    assert v.approved is not None and v.approved.target_weight == pytest.approx(0.4)
    expected = _numpy_sharpe(np.array(returns), 252.0)
    assert v.details["rolling_sharpe"] == pytest.approx(expected, rel=1e-12)
    assert (v.details["sharpe_floor"], v.details["sharpe_scale"]) == (0.0, 0.5)


def test_sharpe_uses_only_the_last_window_returns(make_state: State) -> None:
    old_gains = (0.05,) * 30
    recent = _losing_returns(20)
    state = make_state(recent_returns=old_gains + recent)
    v = _guardian().vet(state, [OrderRequest("A", target_weight=0.8)])[0]
    assert v.details["rolling_sharpe"] == pytest.approx(_numpy_sharpe(np.array(recent), 252.0), rel=1e-12)


def test_sharpe_above_floor_allows(make_state: State) -> None:
    returns = tuple(-r for r in _losing_returns(20))
    v = _guardian().vet(make_state(recent_returns=returns), [OrderRequest("A", target_weight=0.8)])[0]
    assert v.action is Action.ALLOW


def test_sharpe_rule_waits_for_a_full_window(make_state: State) -> None:
    v = _guardian(window=20).vet(make_state(recent_returns=_losing_returns(19)),
                                 [OrderRequest("A", target_weight=0.8)])[0]
    assert v.action is Action.ALLOW


def test_sharpe_rule_does_not_cut_reductions(make_state: State) -> None:
    state = make_state(recent_returns=_losing_returns(20), positions={"A": 60.0}, cash=4_000.0)
    assert _guardian().vet(state, [OrderRequest("A", Side.SELL, 20.0)])[0].action is Action.ALLOW


def test_sharpe_cut_of_explicit_quantity_floors_whole_units(make_state: State) -> None:
    v = _guardian().vet(make_state(recent_returns=_losing_returns(20)), [OrderRequest("A", Side.BUY, 7.0)])[0]
    assert v.approved is not None and v.approved.quantity == 3.0
