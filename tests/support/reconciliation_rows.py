"""Reconciliation records of a small hand-checked case, for the store and API tests."""

from __future__ import annotations

from typing import Any

from arena.broker import InternalFill, MirrorOrder
from arena.broker.reconcile import Reconciler

T0 = 1_704_186_000_000_000_000  # 2024-01-02 09:00 UTC, ns


def reconciliation_records(run_id: str, contender: str = "sma") -> list[Any]:
    """Three mirrored orders: 10 AAPL bought at 100.00 (paper 100.25: 25 bps), 5 MSFT sold at
    200.00 (paper 199.80: 10 bps; running 17.5 bps), and one the broker rejected."""
    rec = Reconciler(run_id, contender)
    rows: list[Any] = []
    orders = [MirrorOrder("sma-1", "AAPL", "BUY", 10, "MARKET", "DAY", T0),
              MirrorOrder("sma-2", "MSFT", "SELL", 5, "MARKET", "DAY", T0 + 86_400_000_000_000),
              MirrorOrder("sma-3", "AAPL", "SELL", 10, "MARKET", "DAY", T0 + 2 * 86_400_000_000_000)]
    for o in orders:
        rec.expect(o)
    rows += rec.paper_update("sma-1", broker_order_id="b-1", status="filled", filled_qty=10, filled_avg_price=100.25,
                             broker_ts_ns=T0 + 5_000)
    rows += rec.internal_fill(InternalFill("sma-1", 10, 100.00, T0 + 1_000))
    rows += rec.internal_fill(InternalFill("sma-2", 5, 200.00, orders[1].ts_ns + 1_000))
    rows += rec.paper_update("sma-2", broker_order_id="b-2", status="filled", filled_qty=5, filled_avg_price=199.80)
    rows += rec.rejected("sma-3", "HTTP 403: insufficient buying power")
    return rows
