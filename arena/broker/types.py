"""What travels from a mirrored contender's bar loop to its paper mirror."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["MAX_CLIENT_ORDER_ID", "InternalFill", "MirrorOrder", "broker_client_order_id"]

MAX_CLIENT_ORDER_ID = 128
"""Alpaca's limit on ``client_order_id`` (characters)."""


@dataclass(frozen=True, slots=True)
class MirrorOrder:
    """An approved order as the paper account is sent it.

    Args:
        client_order_id: the arena's id (``orders.client_order_id``).
        symbol: the instrument.
        side: ``BUY`` | ``SELL``.
        quantity: units (> 0); a target-weight order is sized at its decision bar's close
            (``target_weight × equity / close − position``), whole units under ``whole_shares``.
        order_type: ``MARKET`` | ``LIMIT`` | ``STOP``.
        time_in_force: ``DAY`` | ``GTC`` | ``IOC``.
        limit_price, stop_price: USD per unit, for LIMIT / STOP.
        ts_ns: bar time of the decision (ns since the epoch, UTC).
    """

    client_order_id: str
    symbol: str
    side: str
    quantity: float
    order_type: str
    time_in_force: str
    ts_ns: int
    limit_price: float | None = None
    stop_price: float | None = None


@dataclass(frozen=True, slots=True)
class InternalFill:
    """A fill of the internal ledger: ``quantity`` units (> 0) at ``price`` USD per unit
    (after slippage) on the bar at ``ts_ns`` (ns since the epoch, UTC)."""

    client_order_id: str
    quantity: float
    price: float
    ts_ns: int


def broker_client_order_id(run_id: str, client_order_id: str) -> str:
    """The ``client_order_id`` sent to the paper account: ``<run_id>/<arena id>``, unique across
    runs on one account (Alpaca refuses a repeated one); when that is longer than 128
    characters, the run id is replaced by the first 16 hex digits of its SHA-256.

    >>> broker_client_order_id("demo-20240102T000000-1a2b3c", "sma-7")
    'demo-20240102T000000-1a2b3c/sma-7'
    """
    out = f"{run_id}/{client_order_id}"
    if len(out) <= MAX_CLIENT_ORDER_ID:
        return out
    return f"{hashlib.sha256(run_id.encode()).hexdigest()[:16]}/{client_order_id}"[:MAX_CLIENT_ORDER_ID]
