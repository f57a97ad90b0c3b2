"""The risk guardian's answer to one order request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ledger.types import OrderRequest

__all__ = ["Action", "RiskVerdict"]


class Action(StrEnum):
    """What the guardian did with an order.

    ALLOW: passed unchanged. SCALE: passed with a smaller size (see
    :attr:`RiskVerdict.scale`). DENY: not passed to the ledger.
    """

    ALLOW = "ALLOW"
    SCALE = "SCALE"
    DENY = "DENY"


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    """The guardian's verdict on one order request.

    Args:
        request: the order as the contender asked for it.
        action: ALLOW, SCALE or DENY.
        approved: what goes to the ledger: ``request`` itself (ALLOW), a scaled
            copy (SCALE: ``target_weight`` moved towards the current weight, or a
            smaller ``quantity``), or None (DENY).
        scale: fraction of the requested change that was approved: 1.0 for ALLOW,
            in (0, 1) for SCALE, 0.0 for DENY. For a target-weight order it scales
            the change in weight (``current + scale × (target − current)``); for an
            explicit order it is ``approved quantity / requested quantity``.
        reasons: reason codes of every rule that acted, in rule order, e.g.
            ``("MAX_POSITION_WEIGHT", "SHARPE_FLOOR")``; empty for ALLOW, except
            for codes of rules that signal without cutting (``SHARPE_ROLLBACK``).
        details: the values that decided (finite floats), e.g.
            ``{"current_weight": 0.0, "requested_weight": 1.3, "approved_weight": 1.0,
            "max_position_weight": 1.0}``.
        contender: the contender whose order it is.
        ts_ns: the decision bar's timestamp (ns since epoch, UTC).
    """

    request: OrderRequest
    action: Action
    approved: OrderRequest | None
    scale: float
    reasons: tuple[str, ...] = ()
    details: Mapping[str, float] = field(default_factory=dict)
    contender: str = ""
    ts_ns: int = 0

    @property
    def symbol(self) -> str:
        """The order's symbol."""
        return self.request.symbol
