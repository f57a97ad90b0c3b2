"""Value types shared by the ledger, the risk guardian and contenders.

Names follow the trade's own vocabulary (NautilusTrader style): ``symbol``,
``side``, ``time_in_force``, ``client_order_id``. Prices are in the quote
currency (USD for the bundled data), quantities in units of the instrument
(shares, coins), timestamps in nanoseconds since the Unix epoch, UTC (``ts_ns``).
Everything here is a frozen value object: cheap to pickle, safe to share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Contribution",
    "Decision",
    "Fill",
    "OrderEvent",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Side",
    "TimeInForce",
    "WorkingOrder",
]


class Side(StrEnum):
    """Direction of an order or fill."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """How an order is priced.

    MARKET fills at the execution model's fill price; LIMIT fills only at the
    limit price or better; STOP becomes a market order once the bar trades
    through ``stop_price`` (at the stop price, or the open if it gapped through).
    """

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"


class TimeInForce(StrEnum):
    """How long an unfilled order stays working.

    DAY: until the end of the UTC day of the bar it was first eligible on.
    GTC: until filled or cancelled. IOC: whatever fills on the first eligible
    bar fills, the rest is cancelled.
    """

    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"


class OrderStatus(StrEnum):
    """Order lifecycle: NEW → ACCEPTED → PARTIALLY_FILLED → FILLED, or a terminal
    REJECTED / CANCELLED / EXPIRED."""

    NEW = "NEW"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        """True for FILLED, REJECTED, CANCELLED and EXPIRED."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a contender (or the arena on its behalf) asks the ledger to do.

    Exactly one of ``quantity`` and ``target_weight`` is set:

    * ``quantity`` (> 0, units) with ``side``: an explicit order.
    * ``target_weight`` (fraction of equity, signed; 0.5 → half of equity long,
      -0.2 → 20 % short): resolved into a quantity at the fill price,
      ``weight × equity / fill_price`` minus the position held, floored to whole
      units when sizing is ``whole_shares``. ``side`` is then derived at fill.

    Raises:
        ValueError: if both or neither of quantity/target_weight are given, the
            quantity is not positive, or a LIMIT/STOP order lacks its price.
    """

    symbol: str
    side: Side | None = None
    quantity: float | None = None
    target_weight: float | None = None
    type: OrderType = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    tag: str = ""

    def __post_init__(self) -> None:
        if (self.quantity is None) == (self.target_weight is None):
            raise ValueError(
                f"order for {self.symbol!r}: give exactly one of quantity or target_weight"
            )
        if self.quantity is not None:
            if not self.quantity > 0:
                raise ValueError(
                    f"order for {self.symbol!r}: quantity must be > 0 units, got {self.quantity}"
                )
            if self.side is None:
                raise ValueError(f"order for {self.symbol!r}: an explicit quantity needs a side")
        if self.type is OrderType.LIMIT and not (self.limit_price and self.limit_price > 0):
            raise ValueError(f"LIMIT order for {self.symbol!r} needs limit_price > 0")
        if self.type is OrderType.STOP and not (self.stop_price and self.stop_price > 0):
            raise ValueError(f"STOP order for {self.symbol!r} needs stop_price > 0")


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """An order still working in the ledger (ACCEPTED or PARTIALLY_FILLED), as its owner sees it.

    Args:
        client_order_id: the id the ledger gave it (``Decision.cancel`` takes it).
        request: the order as it was approved.
        remaining: units still to trade, or None for a target-weight order (resolved at its fill).
        filled: units traded so far.
        submitted_ts_ns: when it was submitted (ns since the epoch, UTC).
    """

    client_order_id: str
    request: OrderRequest
    remaining: float | None
    filled: float
    submitted_ts_ns: int

    @property
    def symbol(self) -> str:
        """The order's symbol."""
        return self.request.symbol


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One step of an order's lifecycle, as recorded in the audit trail.

    ``filled_quantity`` is cumulative (units); ``reason`` is a short code for
    REJECTED / CANCELLED / EXPIRED (e.g. ``INSUFFICIENT_CASH``, ``IOC_REMAINDER``).
    """

    client_order_id: str
    symbol: str
    status: OrderStatus
    ts_ns: int
    filled_quantity: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution against a bar.

    ``price`` is the fill price after slippage (quote currency per unit);
    ``commission`` is in quote currency (USD); ``quantity`` is > 0 units.
    """

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    commission: float
    ts_ns: int
    slippage: float = 0.0  # quote currency paid to slippage on this fill (USD, >= 0)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of an explanation: what drove a decision.

    Args:
        feature: name of the feature, indicator or model (``sma_fast``, ``rsi``).
        value: the feature's value at decision time (its own units).
        contribution: signed contribution to the decision (method's units:
            SHAP value, attribution, weight, or for rules the signed distance
            from the threshold that triggered).
        method: ``rule``, ``shap``, ``integrated_gradients``, ``attention``,
            ``variable_selection``, ``stacking``.
        symbol: the symbol it refers to, or "" when it applies to all.
    """

    feature: str
    value: float
    contribution: float
    method: str = "rule"
    symbol: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What a contender decides on a bar.

    Args:
        weights: target weight per symbol (fraction of equity; 1.0 = all in,
            0.0 = flat, negative = short). Symbols not named are left as they are.
        orders: explicit orders, in addition to (or instead of) target weights.
        confidence: the contender's confidence in [0, 1], or None.
        explanation: the contributions that drove the decision.
        predictions: for contenders that predict returns: the expected log return
            per symbol over the contender's ``horizon_bars`` (fraction, e.g. 0.01 =
            +1 %); the leaderboard scores them against realized returns (IC, rank
            IC, ICIR, hit rate). Empty for contenders that do not predict.
        cancel: ``client_order_id`` of working orders to cancel (see
            ``Portfolio.working_orders``), before this decision's orders are vetted;
            an id that is not working is recorded as a ``CANCEL_REJECTED`` event.

    Raises:
        ValueError: if a weight or prediction is not finite or confidence is outside [0, 1].
    """

    weights: dict[str, float] = field(default_factory=dict)
    orders: tuple[OrderRequest, ...] = ()
    confidence: float | None = None
    explanation: tuple[Contribution, ...] = ()
    predictions: dict[str, float] = field(default_factory=dict)
    cancel: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cancel", tuple(self.cancel))
        for oid in self.cancel:
            if not isinstance(oid, str) or not oid:
                raise ValueError(f"Decision.cancel takes client_order_id strings, got {oid!r}")
        for sym, w in self.weights.items():
            if not (isinstance(w, (int, float)) and w == w and abs(w) != float("inf")):
                raise ValueError(f"decision weight for {sym!r} must be a finite number, got {w!r}")
        for sym, p in self.predictions.items():
            if not (isinstance(p, (int, float)) and p == p and abs(p) != float("inf")):
                raise ValueError(f"decision prediction for {sym!r} must be a finite number, got {p!r}")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"decision confidence must be in [0, 1], got {self.confidence}")
        object.__setattr__(self, "orders", tuple(self.orders))
        object.__setattr__(self, "explanation", tuple(self.explanation))

    @property
    def is_empty(self) -> bool:
        """True when the decision asks for nothing (no weights, no orders, no cancels)."""
        return not self.weights and not self.orders and not self.cancel
