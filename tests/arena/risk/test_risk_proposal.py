"""Proposals: projection at reference prices and exposure classification."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from arena.risk import PortfolioState, Proposal
from arena.risk.proposal import project
from ledger.types import OrderRequest, Side


def test_target_weight_projects_to_itself(make_state: Callable[..., PortfolioState]) -> None:
    state = make_state(positions={"A": 20.0})  # 20 × 100 / 10 000 = 0.2
    p = project(state, OrderRequest("A", target_weight=0.5), 3)
    assert isinstance(p, Proposal)
    assert (p.request_index, p.price, p.requested_weight) == (3, 100.0, 0.5)
    assert p.current_weight == pytest.approx(0.2)
    assert p.projected_weight == 0.5
    assert p.delta_units == pytest.approx(30.0)


def test_explicit_quantity_projects_position_plus_minus_quantity(
    make_state: Callable[..., PortfolioState],
) -> None:
    state = make_state(positions={"B": 40.0})  # 40 × 50 / 10 000 = 0.2
    buy = project(state, OrderRequest("B", Side.BUY, 60.0), 0)
    sell = project(state, OrderRequest("B", Side.SELL, 100.0), 1)
    assert isinstance(buy, Proposal) and isinstance(sell, Proposal)
    assert buy.projected_weight == pytest.approx(0.5)
    assert sell.projected_weight == pytest.approx(-0.3)


def test_missing_price_and_non_finite_size_give_reason_codes(
    make_state: Callable[..., PortfolioState],
) -> None:
    state = make_state()
    assert project(state, OrderRequest("ZZZ", target_weight=0.1), 0) == "NO_PRICE"
    assert project(state, OrderRequest("A", target_weight=float("nan")), 0) == "INVALID_ORDER"
    assert project(state, OrderRequest("A", Side.BUY, float("inf")), 0) == "INVALID_ORDER"


def test_pure_increase() -> None:
    p = Proposal.at(0, OrderRequest("A", target_weight=0.5), 100.0, 1e4, 0.2, 0.5, 0.5)
    assert p.increases and not p.reduces and not p.flips
    assert (p.reduce_fraction, p.increase_base) == (0.0, 0.2)
    assert p.added_exposure == pytest.approx(0.3)


def test_pure_reduction_is_not_an_increase() -> None:
    p = Proposal.at(0, OrderRequest("A", target_weight=-0.1), 100.0, 1e4, -0.4, -0.1, -0.1)
    assert p.reduces and not p.increases
    assert p.reduce_fraction == 1.0 and p.added_exposure == 0.0
    assert p.scale_for_increase(0.0) == 1.0


def test_flip_is_a_reduction_to_flat_then_an_increase() -> None:
    p = Proposal.at(0, OrderRequest("A", target_weight=-0.6), 100.0, 1e4, 0.2, -0.6, -0.6)
    assert p.flips and p.increases
    assert p.reduce_fraction == pytest.approx(0.25)  # 0.2 of a 0.8 change
    assert p.increase_base == 0.0 and p.added_exposure == pytest.approx(0.6)
    assert p.scale_for_increase(0.0) == pytest.approx(0.25)
    assert p.scaled(p.scale_for_increase(0.5)).projected_weight == pytest.approx(-0.3)


def test_no_change_neither_increases_nor_reduces() -> None:
    p = Proposal.at(0, OrderRequest("A", target_weight=0.3), 100.0, 1e4, 0.3, 0.3, 0.3)
    assert not p.increases and not p.reduces and p.change == 0.0


def test_scaled_moves_the_projection_towards_the_current_weight() -> None:
    p = Proposal.at(0, OrderRequest("A", target_weight=0.9), 100.0, 1e4, 0.1, 0.9, 0.9)
    q = p.scaled(0.5)
    assert q.projected_weight == pytest.approx(0.5)
    assert q.requested_weight == 0.9 and q.current_weight == 0.1 and q.increases
