"""Ledger snapshots: the whole state as plain JSON-able types, and back.

A snapshot is a dict of str, int, float, bool, None, lists and dicts only.
Floats stay Python floats, so ``json.dumps``/``json.loads`` (which write and
read ``repr``) round-trip them bit for bit, and a restored ledger behaves bar
for bar identically to the original. Layout (format ``model-arena.ledger/1``)::

    format, symbols, starting_capital, order_id_prefix,
    execution            ExecutionConfig fields
    next_order_number    the id counter
    cash, equity, fees_paid, last_ts_ns
    last_close           [S], 0.0 for a symbol that never had a bar
    positions            {qty, avg_price, realized, open_commission: [S], entry_ts: [S], trades: [...]}
    working_orders       [...], in submission order
    pending_events       [...], events not drained yet
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from ledger.execution import ExecutionConfig
from ledger.orders import _OrderState
from ledger.positions import PositionBook
from ledger.types import OrderEvent, OrderStatus

if TYPE_CHECKING:
    from ledger.ledger import Ledger

__all__ = ["SNAPSHOT_FORMAT", "restore_from", "snapshot_of"]

SNAPSHOT_FORMAT = "model-arena.ledger/1"


def snapshot_of(led: Ledger) -> dict[str, Any]:
    """The whole state of ``led`` as plain JSON-able types (layout in the module docstring)."""
    return {
        "format": SNAPSHOT_FORMAT,
        "symbols": list(led.symbols),
        "starting_capital": led.starting_capital,
        "order_id_prefix": led.order_id_prefix,
        "execution": asdict(led.execution),
        "next_order_number": led._next_number,
        "cash": led._cash,
        "equity": led._equity,
        "fees_paid": led._fees,
        "last_ts_ns": led._last_ts,
        "last_close": led._last.tolist(),
        "positions": led._book.to_dict(),
        "working_orders": [w.to_dict() for w in led._working.values()],
        "pending_events": [
            {"client_order_id": e.client_order_id, "symbol": e.symbol, "status": e.status.value,
             "ts_ns": e.ts_ns, "filled_quantity": e.filled_quantity, "reason": e.reason}
            for e in led._events
        ],
    }


def restore_from(cls: type[Ledger], snapshot: dict[str, Any]) -> Ledger:
    """Rebuild a ledger of class ``cls`` from :func:`snapshot_of`'s output.

    Raises:
        ValueError: for another format, a missing key or an inconsistent value, naming it.
    """
    if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
        got = snapshot.get("format") if isinstance(snapshot, dict) else type(snapshot).__name__
        raise ValueError(f"ledger snapshot: expected format {SNAPSHOT_FORMAT!r}, got {got!r}")
    try:
        led = cls(snapshot["symbols"], snapshot["starting_capital"], ExecutionConfig(**snapshot["execution"]),
                  snapshot["order_id_prefix"])
        led._next_number = int(snapshot["next_order_number"])
        led._cash = float(snapshot["cash"])
        led._equity = float(snapshot["equity"])
        led._fees = float(snapshot["fees_paid"])
        ts = snapshot["last_ts_ns"]
        led._last_ts = None if ts is None else int(ts)
        last = np.asarray(snapshot["last_close"], dtype=np.float64)
        if last.shape != led._shape or not np.all(np.isfinite(last)):
            raise ValueError(f"last_close must hold {len(led.symbols)} finite floats")
        led._last[:] = last
        led._set_book(PositionBook.from_dict(led.symbols, snapshot["positions"]))
        for d in snapshot["working_orders"]:
            w = _OrderState.from_dict(d)
            if not 0 <= w.index < len(led.symbols) or led.symbols[w.index] != w.request.symbol:
                raise ValueError(f"working order {w.client_order_id!r}: index does not match its symbol")
            led._working[w.client_order_id] = w
        led._events = [
            OrderEvent(e["client_order_id"], e["symbol"], OrderStatus(e["status"]), int(e["ts_ns"]),
                       float(e["filled_quantity"]), e["reason"])
            for e in snapshot["pending_events"]
        ]
    except KeyError as exc:
        raise ValueError(f"ledger snapshot: missing key {exc.args[0]!r}") from exc
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"ledger snapshot: {exc}") from exc
    return led
