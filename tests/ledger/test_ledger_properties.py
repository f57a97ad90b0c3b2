"""Property-based tests: random bar paths and random order streams (hypothesis).

After every bar: ``cash + Σ market values = equity``; no fill exceeds its order's
remaining quantity (nor the participation cap); ``cash >= 0`` without margin;
``realized + unrealized − fees = equity − starting capital``. A ledger restored
from a JSON snapshot at a random bar behaves identically from then on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    ExecutionConfig,
    Fill,
    Ledger,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

DAY_NS = 86_400 * 10**9
STEP_NS = 8 * 3_600 * 10**9  # three bars a day, so DAY orders do expire


@dataclass(frozen=True)
class Scenario:
    config: ExecutionConfig
    symbols: tuple[str, ...]
    capital: float
    ts: list[int]
    bars: np.ndarray  # [N, 5, S]: open, high, low, close, volume
    orders: dict[int, list[OrderRequest]]  # bar index → orders submitted on its close
    cancels: dict[int, list[int]]  # bar index → which working orders (by position) to cancel


configs = st.builds(
    ExecutionConfig,
    fill_price=st.sampled_from(["next_open", "next_close"]),
    slippage_bps=st.sampled_from([0.0, 5.0, 30.0]),
    commission_bps=st.sampled_from([0.0, 10.0]),
    commission_per_share=st.sampled_from([0.0, 0.01, 0.5]),
    max_participation=st.sampled_from([None, None, 0.02, 0.5]),
    latency_bars=st.integers(0, 2),
    sizing=st.sampled_from(["whole_shares", "fractional"]),
    allow_short=st.booleans(),
    margin=st.booleans(),
)


def _bars(rng: np.random.Generator, n: int, s: int) -> np.ndarray:
    out = np.empty((n, 5, s))
    close = rng.uniform(5.0, 200.0, s)
    for t in range(n):
        o = close * np.exp(rng.normal(0.0, 0.02, s))
        c = o * np.exp(rng.normal(0.0, 0.03, s))
        h = np.maximum(o, c) * np.exp(np.abs(rng.normal(0.0, 0.01, s)))
        lo = np.minimum(o, c) * np.exp(-np.abs(rng.normal(0.0, 0.01, s)))
        v = np.floor(rng.uniform(0.0, 2_000.0, s))
        out[t] = o, h, lo, c, v
        missing = rng.random(s) < 0.12
        out[t, :, missing] = np.nan
        close = np.where(missing, close, c)
    return out


@st.composite
def orders(draw: st.DrawFn, symbols: tuple[str, ...], price: float, fractional: bool) -> OrderRequest:
    sym = draw(st.sampled_from(symbols + ("UNKNOWN",))) if draw(st.integers(0, 30)) == 0 else draw(
        st.sampled_from(symbols))
    otype = draw(st.sampled_from([OrderType.MARKET, OrderType.MARKET, OrderType.LIMIT, OrderType.STOP]))
    tif = draw(st.sampled_from(list(TimeInForce)))
    k = draw(st.floats(0.9, 1.1))
    prices = {"limit_price": price * k} if otype is OrderType.LIMIT else (
        {"stop_price": price * k} if otype is OrderType.STOP else {})
    if draw(st.booleans()):
        w = draw(st.sampled_from([0.0, 1.0, -1.0, 0.5]) | st.floats(-1.5, 1.5))
        side = draw(st.sampled_from(list(Side))) if otype is not OrderType.MARKET or draw(st.booleans()) else None
        return OrderRequest(sym, side=side, target_weight=w, type=otype, time_in_force=tif, **prices)
    q = draw(st.floats(0.1, 80.0)) if fractional else float(draw(st.integers(1, 80)))
    return OrderRequest(sym, side=draw(st.sampled_from(list(Side))), quantity=q, type=otype, time_in_force=tif,
                        **prices)


@st.composite
def scenarios(draw: st.DrawFn, max_bars: int = 30) -> Scenario:
    cfg = draw(configs)
    s = draw(st.integers(1, 3))
    symbols = tuple(f"S{i}" for i in range(s))
    n = draw(st.integers(3, max_bars))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bars = _bars(rng, n, s)
    last = np.nanmean(bars[:, 3, :], axis=0)
    last = np.where(np.isnan(last), 50.0, last)
    per_bar = st.lists(orders(symbols, float(last.mean()), cfg.sizing == "fractional"), max_size=3)
    order_map = {t: draw(per_bar) for t in range(n - 1)}
    cancels = {t: draw(st.lists(st.integers(0, 5), max_size=1)) for t in range(n - 1)}
    capital = draw(st.sampled_from([1_000.0, 10_000.0, 250_000.0]))
    ts = [DAY_NS * 10 + i * STEP_NS for i in range(n)]
    return Scenario(cfg, symbols, capital, ts, bars, order_map, cancels)


def _step(led: Ledger, sc: Scenario, t: int) -> tuple[list[Fill], list]:
    o, h, lo, c, v = sc.bars[t]
    fills = led.on_bar(sc.ts[t], o, h, lo, c, v)
    working = [w.client_order_id for w in led.open_orders()]
    for k in sc.cancels.get(t, []):
        if k < len(working):
            led.cancel(working[k], sc.ts[t])
    for r in sc.orders.get(t, []):
        led.submit(r, sc.ts[t])
    return fills, led.drain_events()


_ALLOWED_NEXT = {
    None: {OrderStatus.NEW},
    OrderStatus.NEW: {OrderStatus.ACCEPTED, OrderStatus.REJECTED},
    OrderStatus.ACCEPTED: {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED,
                           OrderStatus.EXPIRED, OrderStatus.REJECTED},
    OrderStatus.PARTIALLY_FILLED: {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED,
                                   OrderStatus.EXPIRED},
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_after_every_bar(sc: Scenario) -> None:
    cfg = sc.config
    led = Ledger(sc.symbols, sc.capital, cfg)
    traded_usd = 0.0
    filled: dict[str, float] = {}
    last_status: dict[str, OrderStatus | None] = {}
    for t in range(len(sc.ts)):
        before = {w.client_order_id: w.remaining_quantity for w in led.open_orders()}
        fills, events = _step(led, sc, t)
        vol = sc.bars[t, 4]
        seen: set[str] = set()
        for f in fills:
            assert f.client_order_id not in seen  # at most one fill per order per bar
            seen.add(f.client_order_id)
            assert f.quantity > 0.0 and f.price > 0.0 and f.commission >= 0.0 and f.slippage >= 0.0
            rem = before[f.client_order_id]
            assert rem is None or f.quantity <= rem
            if cfg.max_participation is not None:
                assert f.quantity <= cfg.max_participation * vol[sc.symbols.index(f.symbol)]
            if cfg.whole_shares:
                assert f.quantity == math.floor(f.quantity)
            filled[f.client_order_id] = filled.get(f.client_order_id, 0.0) + f.quantity
            traded_usd += f.quantity * f.price
        for e in events:
            assert e.status in _ALLOWED_NEXT[last_status.get(e.client_order_id)], (e, last_status)
            last_status[e.client_order_id] = e.status
            if e.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
                assert e.filled_quantity == filled[e.client_order_id]
            if e.status.is_terminal:
                assert e.filled_quantity == filled.get(e.client_order_id, 0.0)
                assert e.status is OrderStatus.FILLED or e.reason
        for w in led.open_orders():
            if w.quantity is not None:
                assert w.filled_quantity + w.remaining_quantity == w.quantity or math.isclose(
                    w.filled_quantity + w.remaining_quantity, w.quantity, rel_tol=1e-12)
        # invariants
        mv = led.market_values()
        scale = sc.capital + traded_usd + float(np.abs(mv).sum()) + abs(led.cash)
        assert abs(led.cash + float(mv.sum()) - led.equity) <= 1e-9 * scale
        if not cfg.margin:
            assert led.cash >= 0.0
        if not cfg.allow_short:
            assert (led.quantities >= 0.0).all()
        pnl = led.realized_pnl + led.unrealized_pnl - led.fees_paid
        assert abs(pnl - (led.equity - led.starting_capital)) <= 1e-9 * scale
        positions = led.positions()
        assert math.isclose(sum(p.market_value for p in positions.values()), float(mv.sum()),
                            rel_tol=1e-12, abs_tol=1e-9)
    trades = led.closed_trades()
    tol = 1e-9 * (sc.capital + traded_usd)
    assert abs(sum(tr.gross_pnl for tr in trades) - led.realized_pnl) <= tol
    assert sum(tr.commission for tr in trades) <= led.fees_paid + tol
    assert all(tr.quantity > 0.0 and abs(tr.pnl - (tr.gross_pnl - tr.commission)) <= tol for tr in trades)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_bars=20), st.data())
def test_restore_from_json_snapshot_is_exact(sc: Scenario, data: st.DataObject) -> None:
    led = Ledger(sc.symbols, sc.capital, sc.config, order_id_prefix="p-")
    k = data.draw(st.integers(0, len(sc.ts) - 1))
    for t in range(k):
        _step(led, sc, t)
    if data.draw(st.booleans()):
        led.drain_events()  # restore with and without undrained events
    twin = Ledger.restore(json.loads(json.dumps(led.snapshot())))
    assert twin.snapshot() == led.snapshot()
    for t in range(k, len(sc.ts)):
        a, b = _step(led, sc, t), _step(twin, sc, t)
        assert a == b
        assert led.snapshot() == twin.snapshot()
        assert (led.equity, led.cash, led.fees_paid) == (twin.equity, twin.cash, twin.fees_paid)
        assert led.quantities.tolist() == twin.quantities.tolist()
        assert led.open_orders() == twin.open_orders() and led.closed_trades() == twin.closed_trades()
