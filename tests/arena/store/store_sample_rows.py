"""Row builders for the store tests: small, valid rows for every table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from arena.store import RunRecord
from ledger.types import Contribution

T0 = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
DAY_NS = 86_400 * 10**9
T0_NS = int(T0.timestamp()) * 10**9


def ts_ns(day: int) -> int:
    """Nanoseconds since the epoch of T0 + ``day`` days."""
    return T0_NS + day * DAY_NS


def iso(day: int) -> str:
    """ISO text of T0 + ``day`` days, as the store returns it."""
    return (T0 + dt.timedelta(days=day)).isoformat()


def run_record(run_id: str = "run-1", **changes: Any) -> RunRecord:
    fields: dict[str, Any] = dict(
        run_id=run_id,
        name="store test",
        config={"contenders": [{"name": "sma"}], "cash_usd": 100_000},
        data_source={"provider": "csv", "path": "bars.csv"},
        data_sha256="ab" * 32,
        code_version="0.1.0+dirty",
        seed=7,
        started_at=T0,
        symbols=("AAPL", "MSFT"),
        periods_per_year=252.0,
    )
    fields.update(changes)
    return RunRecord(**fields)


def equity_rows(run_id: str, contender: str, n: int, start_equity: float = 100_000.0) -> list[dict]:
    return [
        {
            "run_id": run_id,
            "contender": contender,
            "ts": ts_ns(i),
            "bar_index": i,
            "equity": start_equity + 100.0 * i,
            "cash": start_equity - 1000.0 * i,
            "gross_exposure": 1100.0 * i,
        }
        for i in range(n)
    ]


def decision_row(
    decision_id: str,
    run_id: str = "run-1",
    contender: str = "sma",
    day: int = 0,
    weights: dict[str, float] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    weights = {"AAPL": 0.5} if weights is None else weights
    row: dict[str, Any] = {
        "decision_id": decision_id,
        "run_id": run_id,
        "contender": contender,
        "ts": ts_ns(day),
        "bar_index": day,
        "weights_json": weights,
        "orders_json": [],
        "confidence": 0.8,
        "explanation_json": [
            Contribution("sma_fast", 101.5, 0.3, "rule", next(iter(weights), "")),
            Contribution("rsi", 71.0, -0.7, "rule", ""),
        ],
    }
    row.update(changes)
    return row


def order_rows(
    run_id: str, contender: str, decision_id: str | None, coid: str, day: int
) -> list[dict]:
    common = {"run_id": run_id, "contender": contender, "client_order_id": coid, "symbol": "AAPL"}
    return [
        {
            **common,
            "decision_id": decision_id,
            "status": "NEW",
            "ts": ts_ns(day),
            "side": "BUY",
            "quantity": 10.0,
            "order_type": "MARKET",
            "time_in_force": "DAY",
        },
        {**common, "decision_id": decision_id, "status": "ACCEPTED", "ts": ts_ns(day)},
        # a later lifecycle event recorded without the decision id
        {**common, "status": "FILLED", "ts": ts_ns(day + 1), "filled_quantity": 10.0},
    ]


def fill_row(run_id: str, contender: str, decision_id: str | None, coid: str, day: int) -> dict:
    return {
        "run_id": run_id,
        "contender": contender,
        "decision_id": decision_id,
        "client_order_id": coid,
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 10.0,
        "price": 185.25,
        "commission": 1.0,
        "slippage": 0.25,
        "ts": ts_ns(day + 1),
    }


def verdict_row(
    verdict_id: str, decision_id: str, run_id: str = "run-1", contender: str = "sma"
) -> dict:
    return {
        "verdict_id": verdict_id,
        "run_id": run_id,
        "contender": contender,
        "decision_id": decision_id,
        "ts": ts_ns(0),
        "symbol": "AAPL",
        "action": "scale",
        "scale": 0.5,
        "reasons_json": ["MAX_POSITION_WEIGHT"],
        "details_json": {"limit": 0.25, "requested": 0.5},
        "requested_json": {"AAPL": 0.5},
        "approved_json": {"AAPL": 0.25},
    }


def leaderboard_row(run_id: str, contender: str, rank: int, **changes: Any) -> dict:
    row: dict[str, Any] = {
        "run_id": run_id,
        "contender": contender,
        "rank": rank,
        "status": "ok",
        "final_equity": 110_000.0 - rank * 1000,
        "total_return": 0.1 - rank * 0.01,
        "sharpe": 1.5 - rank * 0.1,
        "max_drawdown": -0.05,
        "trades": 4,
        "n_bars": 10,
    }
    row.update(changes)
    return row


def bar_rows(run_id: str, symbols: tuple[str, ...], n: int) -> list[dict]:
    """``n`` daily bars per symbol (prices in USD, volume in shares)."""
    return [
        {
            "run_id": run_id,
            "symbol": symbol,
            "ts": ts_ns(day),
            "open": 100.0 + day,
            "high": 101.5 + day,
            "low": 99.0 + day,
            "close": 100.5 + day,
            "volume": 1_000.0 * (day + 1),
        }
        for day in range(n)
        for symbol in symbols
    ]
