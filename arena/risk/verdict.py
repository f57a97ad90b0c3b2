"""The risk guardian's answer to one order request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

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

    def to_record(self) -> dict[str, Any]:
        """A flat, JSON-able dict for the audit store.

        Returns:
            ``{contender, ts_ns, symbol, action, scale, reasons (list), details (dict),
            order_type, tag, requested_side, requested_quantity,
            requested_target_weight, approved_side, approved_quantity,
            approved_target_weight}``; sides and the order type as strings,
            absent values as None.
        """
        req, app = self.request, self.approved
        return {
            "contender": self.contender,
            "ts_ns": self.ts_ns,
            "symbol": req.symbol,
            "action": self.action.value,
            "scale": float(self.scale),
            "reasons": list(self.reasons),
            "details": {k: float(v) for k, v in self.details.items()},
            "order_type": req.type.value,
            "tag": req.tag,
            "requested_side": req.side.value if req.side is not None else None,
            "requested_quantity": req.quantity,
            "requested_target_weight": req.target_weight,
            "approved_side": app.side.value if app is not None and app.side is not None else None,
            "approved_quantity": app.quantity if app is not None else None,
            "approved_target_weight": app.target_weight if app is not None else None,
        }
