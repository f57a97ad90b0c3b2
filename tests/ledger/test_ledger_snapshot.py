"""Snapshot/restore: plain JSON, exact floats, identical behaviour after restore."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from ledger import ExecutionConfig, Ledger, OrderRequest, OrderType, Side, TimeInForce

DAY_NS = 86_400 * 10**9
SYMBOLS = ("AAA", "BBB", "CCC")
CFG = ExecutionConfig(slippage_bps=7.0, commission_bps=3.0, commission_per_share=0.005, max_participation=0.3,
                      latency_bars=1, sizing="fractional", allow_short=True)


def _bars(n: int = 14) -> np.ndarray:
    rng = np.random.default_rng(7)
    c = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, 3)), axis=0)) * np.array([1.0, 0.37, 3.1])
    o = c * np.exp(rng.normal(0, 0.01, (n, 3)))
    h = np.maximum(o, c) * 1.01
    lo = np.minimum(o, c) * 0.99
    v = rng.uniform(50, 500, (n, 3))
    bars = np.stack([o, h, lo, c, v], axis=1)
    bars[5, :, 1] = np.nan  # BBB has no bar on 5 and 6
    bars[6, :, 1] = np.nan
    return bars


ORDERS = {
    0: [OrderRequest("AAA", target_weight=0.6, time_in_force=TimeInForce.GTC),
        OrderRequest("BBB", Side.SELL, quantity=123.25, time_in_force=TimeInForce.GTC)],
    2: [OrderRequest("CCC", Side.BUY, quantity=40.5, type=OrderType.LIMIT, limit_price=250.0)],
    3: [OrderRequest("AAA", target_weight=0.1), OrderRequest("BBB", target_weight=0.0)],
    4: [OrderRequest("CCC", Side.SELL, quantity=10.0, type=OrderType.STOP, stop_price=1.0,
                     time_in_force=TimeInForce.IOC),
        OrderRequest("BBB", target_weight=0.2, time_in_force=TimeInForce.GTC)],
    6: [OrderRequest("AAA", target_weight=-0.3, time_in_force=TimeInForce.GTC)],
}


def _run(led: Ledger, bars: np.ndarray, start: int, stop: int, out: list) -> None:
    for t in range(start, stop):
        ts = (t // 2) * DAY_NS + (t % 2 + 1) * 6 * 3_600 * 10**9  # two bars a day
        fills = led.on_bar(ts, *bars[t])
        for r in ORDERS.get(t, []):
            led.submit(r, ts)
        out.append((fills, led.drain_events() if t % 3 else [], led.snapshot()))


def test_snapshot_is_plain_json_with_exact_floats() -> None:
    led = Ledger(SYMBOLS, 12_345.678, CFG, order_id_prefix="x-")
    _run(led, _bars(), 0, 6, [])
    snap = led.snapshot()
    text = json.dumps(snap, allow_nan=False)
    assert json.loads(text) == snap
    assert snap["working_orders"] and snap["positions"]["trades"] is not None
    assert isinstance(snap["cash"], float) and snap["cash"] == led.cash


@pytest.mark.parametrize("cut", [0, 3, 5, 8])
def test_restore_mid_run_then_both_continue_identically(cut: int) -> None:
    bars = _bars()
    a = Ledger(SYMBOLS, 12_345.678, CFG, order_id_prefix="x-")
    head: list = []
    _run(a, bars, 0, cut, head)
    b = Ledger.restore(json.loads(json.dumps(a.snapshot())))
    assert b.snapshot() == a.snapshot()
    out_a: list = []
    out_b: list = []
    _run(a, bars, cut, 14, out_a)
    _run(b, bars, cut, 14, out_b)
    assert out_a == out_b
    assert any(fills for fills, _, _ in out_a)
    assert (a.cash, a.equity, a.fees_paid, a.realized_pnl, a.unrealized_pnl) == (
        b.cash, b.equity, b.fees_paid, b.realized_pnl, b.unrealized_pnl)
    assert a.positions() == b.positions() and a.closed_trades() == b.closed_trades()
    assert a.open_orders() == b.open_orders() and a.drain_events() == b.drain_events()
    np.testing.assert_array_equal(a.quantities, b.quantities)
    np.testing.assert_array_equal(a.last_prices, b.last_prices)
    assert b.submit(OrderRequest("AAA", Side.BUY, quantity=1.0), b.last_ts_ns) == a.submit(
        OrderRequest("AAA", Side.BUY, quantity=1.0), a.last_ts_ns)


def test_restored_quantities_view_is_read_only_and_follows_the_ledger() -> None:
    led = Ledger(SYMBOLS, 10_000.0, CFG)
    _run(led, _bars(), 0, 4, [])
    twin = Ledger.restore(led.snapshot())
    q = twin.quantities
    with pytest.raises(ValueError):
        q[0] = 1.0
    _run(twin, _bars(), 4, 8, [])
    assert q.tolist() == twin.quantities.tolist()


def test_restore_rejects_bad_snapshots_naming_the_problem() -> None:
    led = Ledger(SYMBOLS, 10_000.0, CFG)
    _run(led, _bars(), 0, 4, [])
    snap = led.snapshot()
    with pytest.raises(ValueError, match="format"):
        Ledger.restore({**snap, "format": "other/9"})
    missing = {k: v for k, v in snap.items() if k != "cash"}
    with pytest.raises(ValueError, match="missing key 'cash'"):
        Ledger.restore(missing)
    bad = copy.deepcopy(snap)
    bad["positions"]["qty"] = [1.0]
    with pytest.raises(ValueError, match=r"positions.qty must hold 3 finite floats"):
        Ledger.restore(bad)
    bad = copy.deepcopy(snap)
    bad["execution"]["slippage_bps"] = -1.0
    with pytest.raises(ValueError, match="slippage_bps"):
        Ledger.restore(bad)
