"""Audit-row builders of the bar loop (:class:`arena.runner.ContenderRunner`).

Plain functions that turn a contender's decisions, the risk guardian's verdicts,
the ledger's order events and fills, rollbacks and failures into the row dicts of
the store's tables (:data:`arena.store.schema.TABLES`): ``decisions``,
``risk_verdicts``, ``orders``, ``fills``, ``events`` and the ``equity`` columns.
Timestamps ``ts`` are int nanoseconds since the epoch (UTC); ``*_json`` values are
JSON-ready dicts/lists (the store serializes them); prices in USD per unit,
commission and slippage in USD.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ledger.orders import request_to_dict
from ledger.types import Contribution, Decision, Fill, OrderEvent, OrderRequest

from arena.risk import RiskVerdict

OrderMeta = Mapping[str, tuple[str | None, OrderRequest]]  # client_order_id → (decision_id, approved request)
_NO_META: tuple[None, None] = (None, None)


class Columns(dict):
    """Column name → equal-length array; ``len()`` is the number of rows."""

    def __len__(self) -> int:
        return len(next(iter(self.values()))) if dict.__len__(self) else 0


def decision_symbols(decision: Decision) -> list[str]:
    """The symbols a decision touches, first-seen order: its weights, orders, then explanation lines."""
    syms = dict.fromkeys(decision.weights)
    syms.update(dict.fromkeys(o.symbol for o in decision.orders))
    syms.update(dict.fromkeys(c.symbol for c in decision.explanation if c.symbol))
    return list(syms)


def request_dict(r: OrderRequest | None) -> dict[str, Any] | None:
    """``request_to_dict(r)``, or None for no request."""
    return None if r is None else request_to_dict(r)


def trade_dict(t: Any) -> dict[str, Any]:
    """A closed trade as ``{symbol, entry_ts_ns, exit_ts_ns, quantity, entry_price, exit_price, pnl}``
    (prices USD per unit, pnl USD)."""
    return {
        k: getattr(t, k)
        for k in ("symbol", "entry_ts_ns", "exit_ts_ns", "quantity", "entry_price", "exit_price", "pnl")
    }


def by_size(e: Contribution) -> float:
    """Sort key: larger |contribution| first; non-finite contributions last."""
    c = float(e.contribution)
    return -abs(c) if math.isfinite(c) else math.inf


def num(x: float) -> float | None:
    """``float(x)``, or None when it is NaN or infinite (JSON has neither)."""
    x = float(x)
    return x if math.isfinite(x) else None


def decision_row(run_id: str, contender: str, ts: int, n: int, decision: Decision, decision_id: str) -> dict[str, Any]:
    """The ``decisions`` row of one decision at bar ``n``.

    Returns:
        ``{decision_id, run_id, contender, ts, bar_index, weights_json {symbol: target weight},
        orders_json [request dict], confidence, explanation_json [{feature, value, contribution,
        method, symbol}] sorted by |contribution| (largest first, stable; non-finite numbers → None),
        predictions_json {symbol: log return} or None, symbols [str]}``.
    """
    expl = sorted(decision.explanation, key=by_size)
    return {
        "decision_id": decision_id,
        "run_id": run_id,
        "contender": contender,
        "ts": ts,
        "bar_index": n,
        "weights_json": dict(decision.weights),
        "orders_json": [request_dict(o) for o in decision.orders],
        "confidence": decision.confidence,
        "explanation_json": [
            {
                "feature": e.feature,
                "value": num(e.value),
                "contribution": num(e.contribution),
                "method": e.method,
                "symbol": e.symbol,
            }
            for e in expl
        ],
        "predictions_json": {k: float(v) for k, v in decision.predictions.items()} or None,
        "symbols": decision_symbols(decision),
    }


def verdict_row(
    run_id: str, contender: str, decision_id: str, k: int, ts: int, v: RiskVerdict, rollback: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``risk_verdicts`` row of the ``k``-th verdict on a decision's orders.

    Args:
        rollback: details added to a verdict that asked for a rollback (``details["rollback"]``),
            e.g. ``{"rollback_checkpoint": label}``; None when no rollback happened.

    Returns:
        ``{verdict_id "<decision_id>/<k>", run_id, contender, decision_id, ts, symbol, action,
        scale (fraction), reasons_json [reason code], details_json {...}, requested_json,
        approved_json (request dicts; approved None when denied)}``.
    """
    return {
        "verdict_id": f"{decision_id}/{k}",
        "run_id": run_id,
        "contender": contender,
        "decision_id": decision_id,
        "ts": ts,
        "symbol": v.request.symbol,
        "action": v.action.value,
        "scale": float(v.scale),
        "reasons_json": list(v.reasons),
        "details_json": dict(v.details) | rollback if rollback and v.details.get("rollback") else dict(v.details),
        "requested_json": request_dict(v.request),
        "approved_json": request_dict(v.approved),
    }


def order_event_rows(
    run_id: str, contender: str, events: Sequence[OrderEvent], order_meta: OrderMeta, rows: list[dict[str, Any]]
) -> None:
    """Append one ``orders`` row per order event to ``rows``.

    Each row: ``{run_id, contender, decision_id, client_order_id, symbol, status, ts,
    filled_quantity (units), reason, side, quantity, target_weight, order_type, limit_price,
    stop_price, time_in_force}``; the order's fields come from ``order_meta`` (None for an order
    it does not know).
    """
    for e in events:
        decision_id, req = order_meta.get(e.client_order_id, _NO_META)
        rows.append(
            {
                "run_id": run_id,
                "contender": contender,
                "decision_id": decision_id,
                "client_order_id": e.client_order_id,
                "symbol": e.symbol,
                "status": e.status.value,
                "ts": e.ts_ns,
                "filled_quantity": float(e.filled_quantity),
                "reason": e.reason,
                "side": req.side.value if req is not None and req.side else None,
                "quantity": req.quantity if req is not None else None,
                "target_weight": req.target_weight if req is not None else None,
                "order_type": req.type.value if req is not None else None,
                "limit_price": req.limit_price if req is not None else None,
                "stop_price": req.stop_price if req is not None else None,
                "time_in_force": req.time_in_force.value if req is not None else None,
            }
        )


def fill_rows(
    run_id: str, contender: str, fills: Sequence[Fill], order_meta: OrderMeta, rows: list[dict[str, Any]]
) -> None:
    """Append one ``fills`` row per fill to ``rows``: ``{run_id, contender, decision_id,
    client_order_id, symbol, side, quantity (units), price (USD per unit), commission (USD),
    slippage (USD), ts}``; ``decision_id`` from ``order_meta`` (None when unknown)."""
    for f in fills:
        rows.append(
            {
                "run_id": run_id,
                "contender": contender,
                "decision_id": order_meta.get(f.client_order_id, _NO_META)[0],
                "client_order_id": f.client_order_id,
                "symbol": f.symbol,
                "side": f.side.value,
                "quantity": float(f.quantity),
                "price": float(f.price),
                "commission": float(f.commission),
                "slippage": float(f.slippage),
                "ts": f.ts_ns,
            }
        )


def failure_event_row(run_id: str, contender: str, ts: int, reason: str, exc: BaseException) -> dict[str, Any]:
    """The ``events`` row of a contender halted by an exception: ``{run_id, ts, contender,
    kind "CONTENDER_FAILED", reason, details_json {traceback (last 4000 characters)}}``."""
    return {
        "run_id": run_id,
        "ts": ts,
        "contender": contender,
        "kind": "CONTENDER_FAILED",
        "reason": reason,
        "details_json": {"traceback": "".join(traceback.format_exception(exc))[-4000:]},
    }


def rollback_event_row(
    run_id: str, contender: str, ts: int, decision_id: str, label: str | None, sharpe: float, floor: float
) -> dict[str, Any]:
    """The ``events`` row of a ``SHARPE_ROLLBACK``: ``{run_id, ts, contender, kind
    "CONTENDER_ROLLED_BACK", reason, details_json {checkpoint (restored label or None),
    decision_id, rolling_sharpe, sharpe_floor}}``."""
    restored = f"restored checkpoint {label}" if label is not None else "no previous checkpoint to restore"
    return {
        "run_id": run_id,
        "ts": ts,
        "contender": contender,
        "kind": "CONTENDER_ROLLED_BACK",
        "reason": f"SHARPE_ROLLBACK: rolling Sharpe {sharpe:.3f} < floor {floor:.3f}; {restored}",
        "details_json": {
            "checkpoint": label,
            "decision_id": decision_id,
            "rolling_sharpe": sharpe,
            "sharpe_floor": floor,
        },
    }


def equity_columns(
    run_id: str,
    contender: str,
    lo: int,
    ts_ns: np.ndarray,
    equity: np.ndarray,
    cash: np.ndarray,
    gross: np.ndarray,
) -> Columns:
    """The ``equity`` rows of bars ``lo … lo + len(ts_ns) − 1`` as columns: ``run_id``,
    ``contender``, ``ts`` int64 [T], ``bar_index`` int64 [T], ``equity``, ``cash``,
    ``gross_exposure`` float64 [T] (USD); the arrays are copied."""
    m = len(ts_ns)
    return Columns(
        {
            "run_id": [run_id] * m,
            "contender": [contender] * m,
            "ts": ts_ns.copy(),
            "bar_index": np.arange(lo, lo + m, dtype=np.int64),
            "equity": equity.copy(),
            "cash": cash.copy(),
            "gross_exposure": gross.copy(),
        }
    )


def result_fill_dict(f: Fill) -> dict[str, Any]:
    """A fill in the runner's result: ``{ts, symbol, side, quantity, price, commission}``."""
    return {
        "ts": f.ts_ns,
        "symbol": f.symbol,
        "side": f.side.value,
        "quantity": f.quantity,
        "price": f.price,
        "commission": f.commission,
    }
