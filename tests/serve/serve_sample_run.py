"""A small, realistic finished arena run written to a store, for the API tests.

Two contenders (``sma_cross`` and ``momentum``) trade AAPL and MSFT over five
daily bars. Each bar every contender decides (with an explanation), the risk
guardian judges the decision (allow, or scale for an oversized weight), orders
go NEW → ACCEPTED → FILLED, fills and equity are recorded; at the end the
leaderboard is written and one kill-switch event and one halt are logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from arena.store import RunRecord, Store
from arena.trials import trial_rows
from ledger.types import Contribution, OrderRequest, OrderStatus, Side, TimeInForce

RUN_ID = "2024-01-02-sample"
SYMBOLS = ("AAPL", "MSFT")
CONTENDERS = ("momentum", "sma_cross")
N_BARS = 5
SAMPLE_SHA = "5e" * 32
T0 = dt.datetime(2024, 1, 2, 21, 0, tzinfo=dt.UTC)
BAR_NS = 86_400 * 10**9
PRICES = {"AAPL": [185.0, 186.5, 184.0, 188.0, 190.5], "MSFT": [370.0, 372.0, 369.5, 375.0, 374.0]}


@dataclass(frozen=True)
class SampleRun:
    """Ids of what :func:`write_sample_run` recorded."""

    run_id: str
    decision_ids: tuple[str, ...]
    scaled_decision_id: str


def decision_id(contender: str, bar: int) -> str:
    """Id of ``contender``'s decision on ``bar``; like the arena's ids, it contains ``/``."""
    return f"{RUN_ID}/{contender}/{bar:03d}"


def bar_ts_ns(bar: int) -> int:
    return int(T0.timestamp()) * 10**9 + bar * BAR_NS


def bar_iso(bar: int) -> str:
    return (T0 + dt.timedelta(days=bar)).isoformat()


def _decision(contender: str, bar: int) -> tuple[dict[str, float], list[Contribution]]:
    """Weights and explanation the contender gives on ``bar``."""
    if contender == "sma_cross":
        fast = PRICES["AAPL"][bar] + 1.0
        slow = PRICES["AAPL"][0]
        weight = 0.6 if fast > slow else 0.0
        return {"AAPL": weight}, [
            Contribution("sma_fast_minus_slow", fast - slow, round(fast - slow, 3), "rule", "AAPL"),
            Contribution("volume_z", 0.4, 0.05, "rule", "AAPL"),
        ]
    ret = PRICES["MSFT"][bar] / PRICES["MSFT"][max(bar - 1, 0)] - 1.0
    return {"MSFT": 0.3, "AAPL": 0.1}, [
        Contribution("ret_1d", ret, round(ret * 10, 4), "rule", "MSFT"),
        Contribution("ret_5d", 0.02, -0.9, "rule", "MSFT"),
        Contribution("market_vol", 0.15, 0.2, "rule", ""),
    ]


def write_sample_run(store: Store) -> SampleRun:
    """Record the sample run into ``store`` (writable) and finish it."""
    store.create_run(
        RunRecord(
            run_id=RUN_ID,
            name="sample: sma_cross vs momentum",
            config={
                "cash_usd": 100_000,
                "contenders": list(CONTENDERS),
                "risk": {"max_weight": 0.5},
            },
            data_source={
                "provider": "bundled",
                "dataset": "us_equities_daily",
                "symbols": list(SYMBOLS),
            },
            data_sha256=SAMPLE_SHA,
            code_version="0.1.0+dirty",
            seed=42,
            started_at=T0 - dt.timedelta(minutes=5),
            symbols=SYMBOLS,
            periods_per_year=252.0,
        )
    )
    decision_ids: list[str] = []
    scaled = ""
    decisions: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    fills: list[dict[str, Any]] = []
    equity: list[dict[str, Any]] = []
    for bar in range(N_BARS):
        ts = bar_ts_ns(bar)
        for contender in CONTENDERS:
            weights, explanation = _decision(contender, bar)
            did = decision_id(contender, bar)
            decision_ids.append(did)
            request = OrderRequest(
                symbol="MSFT", side=Side.BUY, quantity=2.0, time_in_force=TimeInForce.DAY
            )
            decisions.append(
                {
                    "decision_id": did,
                    "run_id": RUN_ID,
                    "contender": contender,
                    "ts": ts,
                    "bar_index": bar,
                    "weights_json": weights,
                    "orders_json": [dataclasses.asdict(request)] if contender == "momentum" else [],
                    "confidence": 0.55 + 0.05 * bar,
                    "explanation_json": list(explanation),
                }
            )
            too_big = any(abs(w) > 0.5 for w in weights.values())
            approved = {s: (0.5 if abs(w) > 0.5 else w) for s, w in weights.items()}
            if too_big and not scaled:
                scaled = did
            verdicts.append(
                {
                    "verdict_id": f"v-{did}",
                    "run_id": RUN_ID,
                    "contender": contender,
                    "decision_id": did,
                    "ts": ts,
                    "symbol": None,
                    "action": "SCALE" if too_big else "ALLOW",
                    "scale": 0.5 / 0.6 if too_big else 1.0,
                    "reasons_json": ["MAX_POSITION_WEIGHT"] if too_big else [],
                    "details_json": {"max_weight": 0.5},
                    "requested_json": weights,
                    "approved_json": approved,
                }
            )
            symbol = next(iter(weights))
            coid = f"{did}-{symbol}"
            quantity = 100.0 + bar
            price = PRICES[symbol][bar]
            common = {
                "run_id": RUN_ID,
                "contender": contender,
                "client_order_id": coid,
                "symbol": symbol,
            }
            orders += [
                {
                    **common,
                    "decision_id": did,
                    "status": OrderStatus.NEW,
                    "ts": ts,
                    "target_weight": approved[symbol],
                    "order_type": "MARKET",
                    "time_in_force": "DAY",
                },
                {**common, "decision_id": did, "status": OrderStatus.ACCEPTED, "ts": ts},
                {
                    **common,
                    "status": OrderStatus.FILLED,
                    "ts": ts + BAR_NS,
                    "filled_quantity": quantity,
                },
            ]
            fills.append(
                {
                    **common,
                    "decision_id": did,
                    "side": Side.BUY,
                    "quantity": quantity,
                    "price": price * 1.0005,
                    "commission": 1.0,
                    "slippage": price * 0.0005 * quantity,
                    "ts": ts + BAR_NS,
                }
            )
            equity.append(
                {
                    "run_id": RUN_ID,
                    "contender": contender,
                    "ts": ts,
                    "bar_index": bar,
                    "equity": 100_000.0 + (150.0 if contender == "momentum" else 90.0) * bar,
                    "cash": 40_000.0,
                    "gross_exposure": 60_000.0,
                }
            )
    store.append("decisions", decisions)
    store.append("risk_verdicts", verdicts)
    store.append("orders", orders)
    store.append("fills", fills)
    store.append("equity", equity)
    store.append(
        "events",
        [
            {
                "run_id": RUN_ID,
                "ts": bar_ts_ns(3),
                "contender": "sma_cross",
                "kind": "CONTENDER_HALTED",
                "reason": "MAX_DRAWDOWN",
                "details_json": {"drawdown": -0.21},
            },
            {
                "run_id": RUN_ID,
                "ts": bar_ts_ns(4),
                "kind": "KILL_SWITCH_TRIPPED",
                "reason": "manual: api",
                "details_json": {"source": "POST /kill-switch"},
            },
        ],
    )
    store.append(
        "leaderboard",
        [
            {
                "run_id": RUN_ID,
                "contender": "momentum",
                "rank": 1,
                "status": "ok",
                "final_equity": 100_600.0,
                "total_return": 0.006,
                "sharpe": 1.9,
                "sortino": 2.4,
                "max_drawdown": -0.01,
                "trades": 5,
                "fills": 5,
                "n_bars": N_BARS,
                "metrics_json": {"sharpe": 1.9, "omega": 1.4},
                "rank_by": "sharpe",
                "benchmark": "sma_cross",
                "beats_benchmark": 1,
                "spa_pvalue": 0.03,
                "calendar_json": {"monthly": {"2024-01": 0.006}, "yearly": {"2024": 0.006}},
            },
            {
                "run_id": RUN_ID,
                "contender": "sma_cross",
                "rank": 2,
                "status": "halted",
                "halt_reason": "MAX_DRAWDOWN",
                "final_equity": 100_360.0,
                "total_return": 0.0036,
                "sharpe": float("nan"),
                "profit_factor": float("inf"),
                "trades": 5,
                "fills": 5,
                "n_bars": N_BARS,
            },
        ],
    )
    store.append("trials", trial_rows(
        RUN_ID, SAMPLE_SHA, bar_ts_ns(0), bar_ts_ns(N_BARS - 1), bar_ts_ns(0),
        [("momentum", "momentum", {"lookback": 3}), ("sma_cross", "sma_crossover", {"fast": 2, "slow": 4})],
        {"momentum": 0.12, "sma_cross": None},
    ))
    store.finish_run(RUN_ID, T0 + dt.timedelta(days=N_BARS), "killed", N_BARS)
    return SampleRun(run_id=RUN_ID, decision_ids=tuple(decision_ids), scaled_decision_id=scaled)
