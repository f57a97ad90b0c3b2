"""Audit-record builders of the bar loop (:class:`arena.runner.ContenderRunner`).

Plain functions that turn a contender's decisions, the risk guardian's verdicts,
the ledger's order events and fills, rollbacks and failures into the typed records
of the store's tables (:mod:`arena.records`, one type per table of
:data:`arena.store.schema.TABLES`): ``decisions``, ``risk_verdicts``, ``orders``,
``fills``, ``events``, and the ``equity`` columns. A record is checked where it is
made: a decision whose explanation has a non-finite contribution, or a line that is
not a :class:`~ledger.types.Contribution` of strings and numbers, is a ``ValueError``
naming the decision and the line (the runner halts the contender with it).
Timestamps ``ts`` are int nanoseconds since the epoch (UTC); ``*_json`` values are
JSON-ready dicts/lists (serialized once, by :func:`arena.records.to_batch`); prices
in USD per unit, commission and slippage in USD.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ledger.orders import request_to_dict
from ledger.types import Contribution, Decision, Fill, OrderEvent, OrderRequest

from arena.records import DecisionRecord, EventRecord, FillRecord, OrderRecord, VerdictRecord
from arena.risk import RiskVerdict

__all__ = [
    "Columns",
    "OrderMeta",
    "by_size",
    "cancel_rejected_record",
    "decision_record",
    "decision_symbols",
    "equity_columns",
    "failure_event_record",
    "fill_records",
    "flatten_event_record",
    "num",
    "order_event_records",
    "request_dict",
    "result_fill_dict",
    "rollback_event_record",
    "trade_dict",
    "verdict_record",
]

OrderMeta = Mapping[str, tuple[str | None, OrderRequest]]  # client_order_id → (decision_id, approved request)
_NO_META: tuple[None, None] = (None, None)


class Columns(dict[str, Any]):
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


def decision_record(run_id: str, contender: str, ts: int, n: int, decision: Decision, decision_id: str) -> Any:
    """The ``decisions`` record of one decision at bar ``n``.

    Returns:
        :class:`~arena.records.DecisionRecord` ``(decision_id, run_id, contender, ts, bar_index,
        weights_json {symbol: target weight}, orders_json [request dict], confidence,
        explanation_json [{feature, value, contribution, method, symbol}] sorted by |contribution|
        (largest first, stable; a non-finite value → None), symbols [str], predictions_json
        {symbol: log return} or None)``.

    Raises:
        ValueError: naming the decision and the explanation line, for a line that is not a
            ``Contribution``, a contribution that is not a finite number, or a feature, method
            or symbol that is not a string.
    """
    expl = sorted(_checked_lines(decision, decision_id), key=by_size)
    return DecisionRecord(
        decision_id,
        run_id,
        contender,
        ts,
        n,
        dict(decision.weights),
        [request_dict(o) for o in decision.orders],
        decision.confidence,
        [
            {
                "feature": e.feature,
                "value": num(e.value),
                "contribution": float(e.contribution),
                "method": e.method,
                "symbol": e.symbol,
            }
            for e in expl
        ],
        decision_symbols(decision),
        {k: float(v) for k, v in decision.predictions.items()} or None,
    )


def _checked_lines(decision: Decision, decision_id: str) -> tuple[Contribution, ...]:
    for j, e in enumerate(decision.explanation):
        if not isinstance(e, Contribution):
            raise ValueError(f"decision {decision_id}: explanation line {j} must be a Contribution, got {e!r:.120}")
        c = e.contribution
        if not isinstance(c, (int, float, np.integer, np.floating)) or isinstance(c, bool) or not math.isfinite(c):
            raise ValueError(
                f"decision {decision_id}: explanation line {j} ({e.feature!r}): contribution must be a "
                f"finite number, got {c!r}"
            )
        v = e.value
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))):
            raise ValueError(
                f"decision {decision_id}: explanation line {j} ({e.feature!r}): value must be a number, got {v!r}"
            )
        if not (isinstance(e.feature, str) and isinstance(e.method, str) and isinstance(e.symbol, str)):
            raise ValueError(
                f"decision {decision_id}: explanation line {j}: feature, method and symbol must be strings "
                f"('' symbol for all), got {e!r:.120}"
            )
    return decision.explanation


def verdict_record(
    run_id: str, contender: str, decision_id: str, k: int, ts: int, v: RiskVerdict, rollback: dict[str, Any] | None
) -> Any:
    """The ``risk_verdicts`` record (:class:`~arena.records.VerdictRecord`) of the ``k``-th
    verdict on a decision's orders.

    Args:
        rollback: details added to a verdict that asked for a rollback (``details["rollback"]``),
            e.g. ``{"rollback_checkpoint": label}``; None when no rollback happened.

    Returns:
        ``{verdict_id "<decision_id>/<k>", run_id, contender, decision_id, ts, symbol, action,
        scale (fraction), reasons_json [reason code], details_json {...}, requested_json,
        approved_json (request dicts; approved None when denied)}``.
    """
    return VerdictRecord(
        f"{decision_id}/{k}",
        run_id,
        contender,
        decision_id,
        ts,
        v.request.symbol,
        v.action.value,
        float(v.scale),
        list(v.reasons),
        dict(v.details) | rollback if rollback and v.details.get("rollback") else dict(v.details),
        request_dict(v.request),
        request_dict(v.approved),
    )


def order_event_records(
    run_id: str, contender: str, events: Sequence[OrderEvent], order_meta: OrderMeta, out: list[Any]
) -> None:
    """Append one ``orders`` record (:class:`~arena.records.OrderRecord`) per order event to ``out``:
    ``(run_id, contender, decision_id, client_order_id, symbol, status, ts, filled_quantity (units),
    reason, side, quantity, target_weight, order_type, limit_price, stop_price, time_in_force)``;
    the order's fields come from ``order_meta`` (None for an order it does not know).
    """
    for e in events:
        decision_id, req = order_meta.get(e.client_order_id, _NO_META)
        if req is None:
            out.append(OrderRecord(run_id, contender, decision_id, e.client_order_id, e.symbol, e.status.value,
                                   e.ts_ns, float(e.filled_quantity), e.reason))
            continue
        out.append(
            OrderRecord(
                run_id,
                contender,
                decision_id,
                e.client_order_id,
                e.symbol,
                e.status.value,
                e.ts_ns,
                float(e.filled_quantity),
                e.reason,
                req.side.value if req.side else None,
                req.quantity,
                req.target_weight,
                req.type.value,
                req.limit_price,
                req.stop_price,
                req.time_in_force.value,
            )
        )


def fill_records(run_id: str, contender: str, fills: Sequence[Fill], order_meta: OrderMeta, out: list[Any]) -> None:
    """Append one ``fills`` record (:class:`~arena.records.FillRecord`) per fill to ``out``:
    ``(run_id, contender, decision_id, client_order_id, symbol, side, quantity (units), price (USD
    per unit), commission (USD), slippage (USD), ts)``; ``decision_id`` from ``order_meta`` (None
    when unknown)."""
    for f in fills:
        out.append(
            FillRecord(
                run_id,
                contender,
                order_meta.get(f.client_order_id, _NO_META)[0],
                f.client_order_id,
                f.symbol,
                f.side.value,
                float(f.quantity),
                float(f.price),
                float(f.commission),
                float(f.slippage),
                f.ts_ns,
            )
        )


def failure_event_record(run_id: str, contender: str, ts: int, reason: str, exc: BaseException) -> Any:
    """The ``events`` record (:class:`~arena.records.EventRecord`) of a contender halted by an
    exception: ``(run_id, ts, contender, kind "CONTENDER_FAILED", reason, details_json
    {traceback (last 4000 characters)})``."""
    return EventRecord(
        run_id, ts, contender, "CONTENDER_FAILED", reason,
        {"traceback": "".join(traceback.format_exception(exc))[-4000:]},
    )


def cancel_rejected_record(run_id: str, contender: str, ts: int, decision_id: str, client_order_id: str) -> Any:
    """The ``events`` record of a ``Decision.cancel`` id that is not a working order of the
    contender: ``(run_id, ts, contender, kind "CANCEL_REJECTED", reason, details_json
    {decision_id, client_order_id})``."""
    return EventRecord(
        run_id, ts, contender, "CANCEL_REJECTED",
        f"cancel {client_order_id!r}: no such working order of {contender!r} (unknown, filled or ended)",
        {"decision_id": decision_id, "client_order_id": client_order_id},
    )


def flatten_event_record(
    run_id: str, contender: str, ts: int, halt_reason: str, decision_id: str, symbols: Sequence[str]
) -> Any:
    """The ``events`` record of a drawdown halt's flattening (``risk.on_halt: flatten``):
    ``(run_id, ts, contender, kind "CONTENDER_FLATTENED", reason, details_json {decision_id,
    symbols})``."""
    return EventRecord(
        run_id, ts, contender, "CONTENDER_FLATTENED",
        f"{halt_reason}; positions in {', '.join(symbols)} closed at the next fill (risk.on_halt: flatten)",
        {"decision_id": decision_id, "symbols": list(symbols)},
    )


def rollback_event_record(
    run_id: str, contender: str, ts: int, decision_id: str, label: str | None, sharpe: float, floor: float
) -> Any:
    """The ``events`` record (:class:`~arena.records.EventRecord`) of a ``SHARPE_ROLLBACK``:
    ``(run_id, ts, contender, kind "CONTENDER_ROLLED_BACK", reason, details_json {checkpoint
    (restored label or None), decision_id, rolling_sharpe, sharpe_floor})``."""
    restored = f"restored checkpoint {label}" if label is not None else "no previous checkpoint to restore"
    return EventRecord(
        run_id,
        ts,
        contender,
        "CONTENDER_ROLLED_BACK",
        f"SHARPE_ROLLBACK: rolling Sharpe {sharpe:.3f} < floor {floor:.3f}; {restored}",
        {"checkpoint": label, "decision_id": decision_id, "rolling_sharpe": sharpe, "sharpe_floor": floor},
    )


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
