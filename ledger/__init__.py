"""ledger: virtual portfolio ledgers with an execution simulator (plain Python + numpy, no Ray).

One :class:`Ledger` per contender holds cash, positions and working orders and
fills them against OHLCV bars under an :class:`ExecutionConfig`.
"""

from ledger.execution import ExecutionConfig
from ledger.ledger import Ledger
from ledger.orders import Order, Reason
from ledger.positions import ClosedTrade, Position
from ledger.types import (
    Contribution,
    Decision,
    Fill,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    WorkingOrder,
)

__all__ = [
    "ClosedTrade",
    "Contribution",
    "Decision",
    "ExecutionConfig",
    "Fill",
    "Ledger",
    "Order",
    "OrderEvent",
    "OrderRequest",
    "OrderStatus",
    "OrderType",
    "Position",
    "Reason",
    "Side",
    "TimeInForce",
    "WorkingOrder",
]
