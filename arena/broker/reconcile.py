"""Reconciliation of a mirrored contender's paper fills with its internal fills.

Per order, the internal side is the ledger's fills (cumulative units, average price) and the
paper side the broker's order (cumulative ``filled_qty``, ``filled_avg_price``, status). A row
of table ``reconciliation`` is made whenever the comparison changes: both sides have filled
something, or the broker ended the order (rejected, cancelled, expired), or the run ended
with the order unfilled on paper.

Divergence, in basis points of traded value: for an order with ``q`` matched units
(``min(internal, paper)``), internal average price ``p_i`` and paper average price ``p_p``,
the order diverges by ``|p_p − p_i| × q`` USD on ``p_i × q`` USD traded; a contender's running
divergence is ``10⁴ × Σ |p_p − p_i| q / Σ p_i q`` over its orders so far. Worked value: 10
units bought at 100.00 internally and at 100.25 on paper diverge by 2.5 USD on 1000 USD,
25 bps; add 5 units sold at 200.00 internally and 199.80 on paper (1.0 USD on 1000 USD) and
the running divergence is 10⁴ × 3.5 / 2000 = 17.5 bps. Quantity differences are reported
per row (``quantity_diff``), not folded into the bps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from arena.broker.types import InternalFill, MirrorOrder
from arena.records import ReconciliationRecord

__all__ = ["PAPER_STATUS", "Reconciler"]

PAPER_STATUS: dict[str, str] = {
    "filled": "FILLED",
    "partially_filled": "PARTIALLY_FILLED",
    "canceled": "CANCELLED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
    "done_for_day": "EXPIRED",
}
"""Alpaca order status → reconciliation status; any other status is a working order."""

@dataclass
class _Order:
    order: MirrorOrder
    broker_order_id: str | None = None
    internal_qty: float = 0.0
    internal_value: float = 0.0  # USD: Σ units × price of the internal fills
    internal_ts: int | None = None
    paper_qty: float = 0.0
    paper_price: float | None = None
    status: str = "WORKING"
    reason: str | None = None
    broker_ts: int | None = None
    counted: bool = False  # in rejected_orders / unfilled_orders already
    last: tuple[Any, ...] | None = None  # the state of its last row

    @property
    def internal_price(self) -> float | None:
        return self.internal_value / self.internal_qty if self.internal_qty > 0 else None


class Reconciler:
    """Keeps one mirrored contender's orders and makes its ``reconciliation`` records
    (:class:`~arena.records.ReconciliationRecord`); see the module notes for the measures.

    Args:
        run_id: the run.
        contender: the mirrored contender.

    Each method returns the records it made (often none); the caller writes them.
    """

    def __init__(self, run_id: str, contender: str) -> None:
        self.run_id = run_id
        self.contender = contender
        self._orders: dict[str, _Order] = {}
        self._contrib: dict[str, tuple[float, float]] = {}  # coid → (|Δp| q USD, p_i q USD)
        self.rejected_orders = 0
        self.unfilled_orders = 0

    @property
    def divergence_bps(self) -> float:
        """The running divergence (bps of matched traded value; 0.0 before any match)."""
        value = sum(v for _, v in self._contrib.values())
        return 1e4 * sum(d for d, _ in self._contrib.values()) / value if value > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """``{divergence_bps, rejected_orders, unfilled_orders, orders, reconciled}``: the
        running figures, the orders mirrored and those with a matched fill."""
        return {
            "divergence_bps": self.divergence_bps,
            "rejected_orders": self.rejected_orders,
            "unfilled_orders": self.unfilled_orders,
            "orders": len(self._orders),
            "reconciled": len(self._contrib),
        }

    def expect(self, order: MirrorOrder) -> None:
        """Register an order sent (or about to be sent) to the paper account."""
        self._orders.setdefault(order.client_order_id, _Order(order))

    def internal_fill(self, fill: InternalFill) -> list[Any]:
        """An internal fill; fills of orders that were not mirrored are ignored."""
        o = self._orders.get(fill.client_order_id)
        if o is None:
            return []
        o.internal_qty += fill.quantity
        o.internal_value += fill.quantity * fill.price
        o.internal_ts = fill.ts_ns
        return self._update(o)

    def paper_update(
        self,
        client_order_id: str,
        *,
        broker_order_id: str | None,
        status: str,
        filled_qty: float,
        filled_avg_price: float | None,
        broker_ts_ns: int | None = None,
        reason: str | None = None,
    ) -> list[Any]:
        """The paper order's state (from a poll or a trade update).

        Args:
            client_order_id: the arena's id.
            broker_order_id: the paper account's id.
            status: Alpaca's order status (``filled``, ``partially_filled``, ``canceled``, …).
            filled_qty: cumulative units filled on paper.
            filled_avg_price: their average price (USD per unit); None or 0 when unfilled.
            broker_ts_ns: when the broker last filled or ended it (ns, UTC).
            reason: the broker's words for an order it ended.
        """
        o = self._orders.get(client_order_id)
        if o is None:
            return []
        o.broker_order_id = broker_order_id or o.broker_order_id
        o.status = PAPER_STATUS.get(str(status).lower(), "WORKING")
        o.paper_qty = float(filled_qty or 0.0)
        o.paper_price = float(filled_avg_price) if filled_avg_price and o.paper_qty > 0 else None
        o.broker_ts = broker_ts_ns or o.broker_ts
        o.reason = reason or o.reason
        return self._update(o)

    def rejected(self, client_order_id: str, reason: str) -> list[Any]:
        """The broker refused the order (a 4xx answer to its submission)."""
        o = self._orders.get(client_order_id)
        if o is None:
            return []
        o.status, o.reason = "REJECTED", reason
        return self._update(o)

    def finish(self, reason: str = "still working at the run's end") -> list[Any]:
        """The run's end: an order never filled on paper becomes ``UNFILLED`` (counted), and an
        order filled on paper but not internally gets its row."""
        out: list[Any] = []
        for o in self._orders.values():
            if o.counted:
                continue  # rejected, or ended unfilled: its row is made
            if o.paper_qty <= 0:
                unsent = "never sent: the broker was unavailable"
                o.status, o.reason = "UNFILLED", o.reason or (reason if o.broker_order_id else unsent)
                out.extend(self._update(o))
            else:
                out.extend(self._update(o, final=True))
        return out

    # ------------------------------------------------------------------ internals
    def _update(self, o: _Order, final: bool = False) -> list[Any]:
        coid = o.order.client_order_id
        ip = o.internal_price
        q = min(o.internal_qty, o.paper_qty)
        if q > 0 and ip is not None and o.paper_price is not None:
            self._contrib[coid] = (abs(o.paper_price - ip) * q, ip * q)
        if o.status in ("REJECTED", "UNFILLED") or (o.status in ("CANCELLED", "EXPIRED") and o.paper_qty <= 0):
            if not o.counted:
                o.counted = True
                if o.status == "REJECTED":
                    self.rejected_orders += 1
                else:
                    self.unfilled_orders += 1
        elif o.paper_qty <= 0 or (o.internal_qty <= 0 and not final):
            return []  # nothing to compare yet: the other side's fill is still to come
        state = (o.status, o.paper_qty, o.internal_qty, o.paper_price)
        if state == o.last:
            return []
        o.last = state
        both = ip is not None and o.paper_price is not None
        price_diff = o.paper_price - ip if both else None  # type: ignore[operator]
        return [
            ReconciliationRecord(
                self.run_id, self.contender, coid, o.broker_order_id, o.order.symbol, o.order.side,
                o.internal_ts if o.internal_ts is not None else o.order.ts_ns, o.status,
                o.internal_qty, ip, o.paper_qty, o.paper_price, o.paper_qty - o.internal_qty, price_diff,
                abs(price_diff) / ip * 1e4 if both and ip else None,  # type: ignore[arg-type]
                self.divergence_bps, self.rejected_orders, self.unfilled_orders, o.reason, o.broker_ts,
            )
        ]
