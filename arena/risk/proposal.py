"""Proposals: order requests with their projected effect on the portfolio.

A proposal is an :class:`~ledger.types.OrderRequest` projected at the reference
prices of the decision bar, in weights (signed fractions of equity):

* ``current_weight`` ``w0 = units × price / equity``;
* ``requested_weight``: the ``target_weight`` itself, or
  ``(units ± quantity) × price / equity`` for an explicit BUY (+) / SELL (−);
* ``projected_weight`` ``w1``: the weight the order would leave, as approved by
  the rules applied so far (starts at ``requested_weight``).

Working orders count as if they filled (``PortfolioState.pending``): a request that
buys is projected from the weight held plus the working buys of its symbol (both
``current_weight`` and ``requested_weight`` shifted by them), one that sells from the
weight held minus the working sells, so that resting orders cannot together pass a
cap that each passes alone.

Exposure is ``|weight|``. An order **reduces** exposure when it moves the weight
towards zero without crossing it, and **increases** exposure otherwise. An order
that crosses zero (a *flip*, long → short or short → long) is a reduction to
flat followed by an increase; rules that cut increases can only cut the part
beyond flat (:attr:`Proposal.reduce_fraction`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from arena.risk.state import PortfolioState
from ledger.types import OrderRequest, Side

__all__ = ["Proposal", "project"]


_new = tuple.__new__


class Proposal(NamedTuple):
    """An order request with its projected effect (immutable).

    Build one with :meth:`Proposal.at`, which computes the derived fields
    (``increases``, ``reduce_fraction``, ``increase_base``) from the weights.

    Attributes:
        request_index: position of the request in the list passed to ``vet``.
        request: the order as the contender asked for it.
        price: reference price of the symbol (last close), USD per unit.
        equity: the contender's equity, USD (> 0).
        current_weight: ``w0``, weight held now (fraction of equity, signed).
        requested_weight: the weight the request asks for.
        projected_weight: ``w1``, the weight as approved by the rules so far.
        increases: True when the order adds exposure: ``|w1| > |w0|``, or it
            flips (crosses zero). False for a pure reduction or no change.
        reduce_fraction: fraction of the change that only reduces exposure, in
            [0, 1]: 1.0 for a pure reduction (or no change), ``|w0| / |w1 − w0|``
            for a flip (the part down to flat), 0.0 for a pure increase. Rules that
            cut increases never scale an order below it.
        increase_base: weight from which the exposure-increasing part starts:
            ``w0``, or 0.0 for a flip.
    """

    request_index: int
    request: OrderRequest
    price: float
    equity: float
    current_weight: float
    requested_weight: float
    projected_weight: float
    increases: bool
    reduce_fraction: float
    increase_base: float

    @classmethod
    def at(
        cls,
        request_index: int,
        request: OrderRequest,
        price: float,
        equity: float,
        current_weight: float,
        requested_weight: float,
        projected_weight: float,
    ) -> Proposal:
        """A proposal with its derived fields computed from ``w0`` and ``w1``.

        Args:
            request_index: position of the request in the decision.
            request: the order.
            price: reference price, USD per unit (> 0).
            equity: USD (> 0).
            current_weight: ``w0``.
            requested_weight: the weight the request asks for.
            projected_weight: ``w1`` as approved so far.

        Returns:
            The proposal.
        """
        return _build(request_index, request, price, equity, current_weight, requested_weight,
                      projected_weight)

    @property
    def symbol(self) -> str:
        """The order's symbol."""
        return self.request.symbol

    @property
    def change(self) -> float:
        """``w1 − w0``: the change in weight (fraction of equity, signed)."""
        return self.projected_weight - self.current_weight

    @property
    def delta_units(self) -> float:
        """The change in position, units (> 0 buys, < 0 sells): ``change × equity / price``."""
        return (self.projected_weight - self.current_weight) * self.equity / self.price

    @property
    def flips(self) -> bool:
        """True when the order crosses zero (long → short or short → long)."""
        return self.current_weight * self.projected_weight < 0.0

    @property
    def reduces(self) -> bool:
        """True when the order only reduces exposure (towards zero, no crossing)."""
        return not self.increases and self.projected_weight != self.current_weight

    @property
    def added_exposure(self) -> float:
        """Exposure the order adds, fraction of equity: ``|w1| − |base|`` (0 unless it increases)."""
        if not self.increases:
            return 0.0
        return abs(self.projected_weight) - abs(self.increase_base)

    def scale_for_increase(self, fraction: float) -> float:
        """Scale of the whole change that keeps ``fraction`` of the increasing part.

        Args:
            fraction: share of the exposure-increasing part to keep, in [0, 1].

        Returns:
            ``reduce_fraction + fraction × (1 − reduce_fraction)``: the reduction
            part always passes whole.
        """
        rf = self.reduce_fraction
        return rf + min(max(fraction, 0.0), 1.0) * (1.0 - rf)

    def scaled(self, scale: float) -> Proposal:
        """This proposal with ``w1`` moved to ``w0 + scale × (w1 − w0)``."""
        w0 = self.current_weight
        return _build(self.request_index, self.request, self.price, self.equity, w0,
                      self.requested_weight, w0 + scale * (self.projected_weight - w0))


def _build(
    request_index: int,
    request: OrderRequest,
    price: float,
    equity: float,
    w0: float,
    requested_weight: float,
    w1: float,
) -> Proposal:
    if w0 == w1:
        inc, rf, base = False, 1.0, w0
    elif w0 * w1 < 0.0:
        inc, rf, base = True, abs(w0) / abs(w1 - w0), 0.0
    elif abs(w1) > abs(w0):
        inc, rf, base = True, 0.0, w0
    else:
        inc, rf, base = False, 1.0, w0
    return _new(Proposal, (request_index, request, price, equity, w0, requested_weight, w1, inc, rf, base))


def project(state: PortfolioState, request: OrderRequest, index: int) -> Proposal | str:
    """Project one request at the state's reference prices.

    Args:
        state: the contender's portfolio; ``state.equity`` must be > 0.
        request: the order.
        index: its position in the decision's request list.

    Returns:
        The proposal, or a reason code when it cannot be projected:
        ``NO_PRICE`` (no reference price for the symbol) or ``INVALID_ORDER``
        (a target weight or quantity that is not a finite number).
    """
    price = state.prices.get(request.symbol)
    if price is None:
        return "NO_PRICE"
    units = float(state.positions.get(request.symbol, 0.0))
    equity = state.equity
    w0 = units * price / equity
    if request.target_weight is not None:
        target = request.target_weight
        if not isinstance(target, (int, float)) or not math.isfinite(target):
            return "INVALID_ORDER"
        w_req = float(target)
    else:
        qty = request.quantity
        if not isinstance(qty, (int, float)) or not math.isfinite(qty):
            return "INVALID_ORDER"
        signed = qty if request.side is Side.BUY else -qty
        w_req = (units + signed) * price / equity
    if state.pending:
        buys, sells = state.pending_weights(request.symbol)
        shift = buys if w_req > w0 else -sells if w_req < w0 else 0.0
        w0 += shift
        w_req += shift
    return _build(index, request, price, equity, w0, w_req, w_req)
