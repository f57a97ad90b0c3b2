"""Orders as the ledger tracks them: reason codes, the public :class:`Order` view
and the ledger's internal mutable order state."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger.types import OrderRequest, OrderStatus, OrderType, Side, TimeInForce

__all__ = ["NS_PER_DAY", "Order", "Reason", "request_from_dict", "request_to_dict"]

NS_PER_DAY = 86_400 * 1_000_000_000  # nanoseconds in one UTC day


class Reason(StrEnum):
    """Reason codes carried by REJECTED / CANCELLED / EXPIRED order events.

    Rejected at submission (``REJECTED`` right after ``NEW``):

    * ``UNKNOWN_SYMBOL``: the symbol is not one of the ledger's symbols.
    * ``INVALID_QUANTITY``: the quantity is not a finite number > 0.
    * ``FRACTIONAL_QUANTITY``: a non-whole quantity under ``whole_shares`` sizing.
    * ``INVALID_PRICE``: a limit/stop price that is not finite, or a price given
      that the order type does not use (e.g. a MARKET order with a limit price).
    * ``INVALID_TARGET_WEIGHT``: a target weight that is not finite.
    * ``SIDE_REQUIRED``: a target-weight LIMIT/STOP order without a side (the
      side decides how the limit/stop is read).

    Ended at a fill attempt:

    * ``NOTHING_TO_DO`` (CANCELLED): a target weight resolved to 0 units, or to
      a trade on the other side than the order's ``side``.
    * ``INSUFFICIENT_CASH``: without margin, cash affords less than the order;
      what is affordable fills, the rest is CANCELLED (REJECTED if nothing filled).
    * ``SHORT_NOT_ALLOWED``: without ``allow_short``, a sell is cut to the long
      position; the rest is CANCELLED (REJECTED if nothing filled).
    * ``DAY_END`` (EXPIRED): a DAY order still working when a bar of a later UTC day arrives.
    * ``IOC_REMAINDER`` (CANCELLED): what an IOC order did not fill on its first eligible bar.
    * ``CANCEL_REQUESTED`` (CANCELLED): :meth:`Ledger.cancel` was called.
    """

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    FRACTIONAL_QUANTITY = "FRACTIONAL_QUANTITY"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_TARGET_WEIGHT = "INVALID_TARGET_WEIGHT"
    SIDE_REQUIRED = "SIDE_REQUIRED"
    NOTHING_TO_DO = "NOTHING_TO_DO"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"
    SHORT_NOT_ALLOWED = "SHORT_NOT_ALLOWED"
    DAY_END = "DAY_END"
    IOC_REMAINDER = "IOC_REMAINDER"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"


@dataclass(frozen=True, slots=True)
class Order:
    """A working order as seen from outside the ledger (a frozen copy).

    Args:
        client_order_id: the ledger-assigned id (``f"{order_id_prefix}{n}"``).
        request: what was submitted.
        status: ACCEPTED or PARTIALLY_FILLED (working orders only).
        submitted_ts_ns: submission time, ns since the epoch (UTC).
        side: BUY/SELL; for a target-weight order submitted without a side,
            None until it is resolved.
        quantity: total units to trade; for a target-weight order None until it
            is resolved into units at its first fill attempt.
        filled_quantity: units filled so far.
        remaining_quantity: units still to fill; None until resolved.
        avg_fill_price: volume-weighted fill price so far (USD, after slippage);
            0.0 before the first fill.
        bars_until_eligible: bars of the order's symbol still to come before it
            can fill (0 → it is tried on the symbol's next bar).
        expires_after_day: for a DAY order, the UTC day number
            (``ts_ns // 86_400e9``) after which it expires; None until its
            first eligible bar, and always None for GTC/IOC.
    """

    client_order_id: str
    request: OrderRequest
    status: OrderStatus
    submitted_ts_ns: int
    side: Side | None
    quantity: float | None
    filled_quantity: float
    remaining_quantity: float | None
    avg_fill_price: float
    bars_until_eligible: int
    expires_after_day: int | None

    @property
    def symbol(self) -> str:
        """The order's symbol."""
        return self.request.symbol


def request_to_dict(r: OrderRequest) -> dict[str, Any]:
    """An :class:`OrderRequest` as plain JSON-able types (enums as their values)."""
    return {
        "symbol": r.symbol,
        "side": None if r.side is None else r.side.value,
        "quantity": r.quantity,
        "target_weight": r.target_weight,
        "type": r.type.value,
        "limit_price": r.limit_price,
        "stop_price": r.stop_price,
        "time_in_force": r.time_in_force.value,
        "tag": r.tag,
    }


def request_from_dict(d: dict[str, Any]) -> OrderRequest:
    """Inverse of :func:`request_to_dict`.

    Raises:
        ValueError: for an unknown enum value or an inconsistent request.
        KeyError: for a missing field.
    """
    return OrderRequest(
        symbol=d["symbol"],
        side=None if d["side"] is None else Side(d["side"]),
        quantity=d["quantity"],
        target_weight=d["target_weight"],
        type=OrderType(d["type"]),
        limit_price=d["limit_price"],
        stop_price=d["stop_price"],
        time_in_force=TimeInForce(d["time_in_force"]),
        tag=d["tag"],
    )


class _OrderState:
    """The ledger's mutable record of one working order (internal to ``ledger``).

    ``remaining`` is kept directly (not as quantity − filled) so that the last
    fill takes exactly what is left and never more.
    """

    __slots__ = (
        "client_order_id", "index", "request", "status", "submitted_ts_ns", "side",
        "quantity", "remaining", "filled", "fill_notional", "wait_bars", "expiry_day",
    )

    def __init__(
        self, client_order_id: str, index: int, request: OrderRequest, submitted_ts_ns: int, wait_bars: int
    ) -> None:
        self.client_order_id = client_order_id
        self.index = index  # position of the symbol in the ledger's arrays
        self.request = request
        self.status = OrderStatus.ACCEPTED
        self.submitted_ts_ns = submitted_ts_ns
        self.side: Side | None = request.side
        self.quantity: float | None = request.quantity
        self.remaining: float | None = request.quantity
        self.filled = 0.0
        self.fill_notional = 0.0  # Σ fill quantity × fill price, USD
        self.wait_bars = wait_bars
        self.expiry_day: int | None = None

    @property
    def resolved(self) -> bool:
        """True once the order has a quantity in units."""
        return self.quantity is not None

    def to_order(self) -> Order:
        """A frozen public copy."""
        return Order(
            client_order_id=self.client_order_id,
            request=self.request,
            status=self.status,
            submitted_ts_ns=self.submitted_ts_ns,
            side=self.side,
            quantity=self.quantity,
            filled_quantity=self.filled,
            remaining_quantity=self.remaining,
            avg_fill_price=self.fill_notional / self.filled if self.filled > 0 else 0.0,
            bars_until_eligible=self.wait_bars,
            expires_after_day=self.expiry_day,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state (floats kept exact)."""
        return {
            "client_order_id": self.client_order_id,
            "index": self.index,
            "request": request_to_dict(self.request),
            "status": self.status.value,
            "submitted_ts_ns": self.submitted_ts_ns,
            "side": None if self.side is None else self.side.value,
            "quantity": self.quantity,
            "remaining": self.remaining,
            "filled": self.filled,
            "fill_notional": self.fill_notional,
            "wait_bars": self.wait_bars,
            "expiry_day": self.expiry_day,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> _OrderState:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError: for a missing field.
            ValueError: for an unknown enum value.
        """
        o = cls(d["client_order_id"], int(d["index"]), request_from_dict(d["request"]),
                int(d["submitted_ts_ns"]), int(d["wait_bars"]))
        o.status = OrderStatus(d["status"])
        o.side = None if d["side"] is None else Side(d["side"])
        o.quantity = None if d["quantity"] is None else float(d["quantity"])
        o.remaining = None if d["remaining"] is None else float(d["remaining"])
        o.filled = float(d["filled"])
        o.fill_notional = float(d["fill_notional"])
        o.expiry_day = None if d["expiry_day"] is None else int(d["expiry_day"])
        return o
