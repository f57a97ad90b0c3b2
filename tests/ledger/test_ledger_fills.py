"""Fills and accounting: prices, costs, caps, sizing, shorting, cash, positions, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ledger import ExecutionConfig, Ledger, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

DAY_NS = 86_400 * 10**9
NAN = float("nan")
S = OrderStatus


def ts(day: int) -> int:
    return day * DAY_NS + 20 * 3_600 * 10**9


def bar(led: Ledger, t: int, o: float = 100.0, h: float = 105.0, lo: float = 95.0, c: float = 102.0,
        v: float = 1e6) -> list:
    return led.on_bar(t, [o], [h], [lo], [c], [v])


def one_fill(cfg: ExecutionConfig, req: OrderRequest, capital: float = 10_000.0, **bar_kw: float):
    led = Ledger(["A"], capital, cfg)
    bar(led, ts(0))
    led.submit(req, ts(0))
    fills = bar(led, ts(1), **bar_kw)
    return led, fills


def test_market_buy_next_open_then_mark_at_close() -> None:
    led, (f,) = one_fill(ExecutionConfig(), OrderRequest("A", Side.BUY, quantity=10))
    assert (f.side, f.quantity, f.price, f.commission, f.slippage, f.ts_ns) == (Side.BUY, 10.0, 100.0, 0.0, 0.0, ts(1))
    assert led.cash == 9_000.0 and led.equity == 9_000.0 + 10 * 102.0
    assert led.unrealized_pnl == 20.0 and led.gross_exposure_usd == 1020.0


def test_market_buy_next_close() -> None:
    led, (f,) = one_fill(ExecutionConfig(fill_price="next_close"), OrderRequest("A", Side.BUY, quantity=10))
    assert f.price == 102.0 and led.equity == 10_000.0


def test_no_fill_on_the_submission_bar() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    led.submit(OrderRequest("A", Side.BUY, quantity=1), ts(0))
    assert led.quantities[0] == 0.0 and led.open_orders()[0].bars_until_eligible == 1


@pytest.mark.parametrize(
    ("otype", "side", "price_kw", "bar_kw", "expected"),
    [
        (OrderType.LIMIT, Side.BUY, {"limit_price": 97.0}, {}, 97.0),
        (OrderType.LIMIT, Side.BUY, {"limit_price": 101.0}, {}, 100.0),
        (OrderType.LIMIT, Side.SELL, {"limit_price": 103.0}, {}, 103.0),
        (OrderType.STOP, Side.BUY, {"stop_price": 103.0}, {}, 103.0),
        (OrderType.STOP, Side.BUY, {"stop_price": 103.0}, {"o": 104.0}, 104.0),
        (OrderType.STOP, Side.SELL, {"stop_price": 97.0}, {}, 97.0),
        (OrderType.STOP, Side.SELL, {"stop_price": 97.0}, {"o": 96.0, "c": 96.0}, 96.0),
    ],
)
def test_limit_and_stop_fill_prices(otype, side, price_kw, bar_kw, expected) -> None:
    cfg = ExecutionConfig(allow_short=True)
    led, fills = one_fill(cfg, OrderRequest("A", side, quantity=3, type=otype, **price_kw), **bar_kw)
    assert [(f.side, f.quantity, f.price) for f in fills] == [(side, 3.0, expected)]


def test_slippage_bps_enters_the_fill_price() -> None:
    cfg = ExecutionConfig(slippage_bps=10.0, allow_short=True)
    _, (buy,) = one_fill(cfg, OrderRequest("A", Side.BUY, quantity=10))
    _, (sell,) = one_fill(cfg, OrderRequest("A", Side.SELL, quantity=10))
    assert buy.price == pytest.approx(100.1) and buy.slippage == pytest.approx(1.0)
    assert sell.price == pytest.approx(99.9) and sell.slippage == pytest.approx(1.0)


def test_commission_bps_and_per_share() -> None:
    cfg = ExecutionConfig(slippage_bps=10.0, commission_bps=10.0, commission_per_share=0.01)
    led, (f,) = one_fill(cfg, OrderRequest("A", Side.BUY, quantity=10))
    assert f.commission == pytest.approx(10 * 100.1 * 1e-3 + 10 * 0.01)
    assert led.fees_paid == f.commission
    assert led.cash == pytest.approx(10_000.0 - 10 * 100.1 - f.commission)


def test_participation_cap_fractional() -> None:
    cfg = ExecutionConfig(max_participation=0.1, sizing="fractional")
    led, (f,) = one_fill(cfg, OrderRequest("A", Side.BUY, quantity=10.0), v=35.0)
    assert f.quantity == pytest.approx(3.5) and led.open_orders()[0].status is S.PARTIALLY_FILLED


def test_participation_cap_zero_volume_fills_nothing_and_keeps_working() -> None:
    cfg = ExecutionConfig(max_participation=0.5)
    led, fills = one_fill(cfg, OrderRequest("A", Side.BUY, quantity=10, time_in_force=TimeInForce.GTC), v=0.0)
    assert fills == [] and len(led.open_orders()) == 1


def test_target_weight_whole_vs_fractional_sizing() -> None:
    led, (f,) = one_fill(ExecutionConfig(), OrderRequest("A", target_weight=1.0), o=333.0, h=340.0)
    assert f.quantity == 30.0 and led.cash == 10_000.0 - 30 * 333.0
    led, (f,) = one_fill(ExecutionConfig(sizing="fractional"), OrderRequest("A", target_weight=1.0), o=333.0, h=340.0)
    assert f.quantity == pytest.approx(10_000.0 / 333.0) and 0.0 <= led.cash < 1e-9


def test_target_weight_all_in_accounts_for_costs() -> None:
    cfg = ExecutionConfig(slippage_bps=10.0, commission_bps=5.0, commission_per_share=0.01)
    led, (f,) = one_fill(cfg, OrderRequest("A", target_weight=1.0))
    assert f.quantity == math.floor(10_000.0 / (100.0 * 1.001 * 1.0005 + 0.01))
    assert led.cash >= 0.0
    frac = ExecutionConfig(slippage_bps=10.0, commission_bps=5.0, commission_per_share=0.01, sizing="fractional")
    led, (f,) = one_fill(frac, OrderRequest("A", target_weight=1.0))
    assert 0.0 <= led.cash < 1e-9  # all of the cash, at the price actually paid
    assert led.open_orders() == []


def test_target_weight_nothing_to_do() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    led.submit(OrderRequest("A", target_weight=0.0), ts(0))  # flat already
    bar(led, ts(1))
    assert [(e.status, e.reason) for e in led.drain_events()][-1] == (S.CANCELLED, "NOTHING_TO_DO")
    led.submit(OrderRequest("A", Side.BUY, quantity=50), ts(1))
    bar(led, ts(2), o=100.0, c=100.0)  # 50 @ 100 of 10,000 equity: weight 0.5 exactly
    led.submit(OrderRequest("A", target_weight=0.5), ts(2))
    bar(led, ts(3), o=100.0, c=100.0)
    assert [(e.status, e.reason) for e in led.drain_events()][-1] == (S.CANCELLED, "NOTHING_TO_DO")


def test_target_weight_partial_reduction_and_exact_close() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    led.submit(OrderRequest("A", target_weight=1.0), ts(0))
    bar(led, ts(1), o=100.0, c=100.0)
    assert led.quantities[0] == 100.0
    led.submit(OrderRequest("A", target_weight=0.25), ts(1))
    (f,) = bar(led, ts(2), o=200.0, h=210.0, c=200.0)  # equity 20,000 → keep 25 units
    assert (f.side, f.quantity) == (Side.SELL, 75.0)
    led.submit(OrderRequest("A", target_weight=0.0), ts(2))
    (f,) = bar(led, ts(3), o=123.456, h=130.0, lo=120.0, c=125.0)
    assert f.quantity == 25.0 and led.quantities[0] == 0.0


def test_sells_are_processed_before_buys_so_a_rebalance_frees_cash() -> None:
    led = Ledger(["A", "B"], 10_000.0)
    px = [100.0, 50.0]
    led.on_bar(ts(0), px, px, px, px, [1e6, 1e6])
    led.submit(OrderRequest("A", target_weight=1.0), ts(0))
    led.on_bar(ts(1), px, px, px, px, [1e6, 1e6])
    assert led.quantities.tolist() == [100.0, 0.0] and led.cash == 0.0
    led.submit(OrderRequest("B", target_weight=1.0), ts(1))  # submitted first, but a buy
    led.submit(OrderRequest("A", target_weight=0.0), ts(1))
    fills = led.on_bar(ts(2), px, px, px, px, [1e6, 1e6])
    assert [(f.symbol, f.side, f.quantity) for f in fills] == [("A", Side.SELL, 100.0), ("B", Side.BUY, 200.0)]
    assert led.cash == 0.0


def test_cash_cut_partial_then_cancelled_and_rejected_when_nothing_affordable() -> None:
    led, (f,) = one_fill(ExecutionConfig(), OrderRequest("A", Side.BUY, quantity=200))
    assert f.quantity == 100.0 and led.cash == 0.0
    assert [(e.status, e.filled_quantity, e.reason) for e in led.drain_events()][-2:] == [
        (S.PARTIALLY_FILLED, 100.0, ""), (S.CANCELLED, 100.0, "INSUFFICIENT_CASH")]
    led, fills = one_fill(ExecutionConfig(), OrderRequest("A", Side.BUY, quantity=1), capital=50.0)
    assert fills == [] and led.cash == 50.0
    assert [(e.status, e.reason) for e in led.drain_events()][-1] == (S.REJECTED, "INSUFFICIENT_CASH")


def test_margin_lets_cash_go_negative() -> None:
    led, (f,) = one_fill(ExecutionConfig(margin=True), OrderRequest("A", Side.BUY, quantity=200))
    assert f.quantity == 200.0 and led.cash == -10_000.0 and led.equity == -10_000.0 + 200 * 102.0


def test_no_short_without_allow_short() -> None:
    led, fills = one_fill(ExecutionConfig(), OrderRequest("A", Side.SELL, quantity=10))
    assert fills == [] and [(e.status, e.reason) for e in led.drain_events()][-1] == (S.REJECTED, "SHORT_NOT_ALLOWED")
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    led.submit(OrderRequest("A", Side.BUY, quantity=5), ts(0))
    bar(led, ts(1))
    led.submit(OrderRequest("A", Side.SELL, quantity=10), ts(1))
    (f,) = bar(led, ts(2))
    assert f.quantity == 5.0 and led.quantities[0] == 0.0
    assert [(e.status, e.filled_quantity, e.reason) for e in led.drain_events()][-2:] == [
        (S.PARTIALLY_FILLED, 5.0, ""), (S.CANCELLED, 5.0, "SHORT_NOT_ALLOWED")]
    led.submit(OrderRequest("A", target_weight=-0.5), ts(2))  # flat: a negative target cannot fill
    assert bar(led, ts(3)) == []
    assert [(e.status, e.reason) for e in led.drain_events()][-1] == (S.REJECTED, "SHORT_NOT_ALLOWED")


def test_short_with_allow_short_and_cover() -> None:
    led = Ledger(["A"], 10_000.0, ExecutionConfig(allow_short=True))
    bar(led, ts(0))
    led.submit(OrderRequest("A", target_weight=-0.5), ts(0))
    (f,) = bar(led, ts(1), lo=85.0, c=90.0)
    assert (f.side, f.quantity) == (Side.SELL, 50.0)
    assert led.cash == 15_000.0 and led.equity == 15_000.0 - 50 * 90.0
    assert led.weights()[0] == pytest.approx(-4_500.0 / 10_500.0)
    assert led.gross_exposure_usd == 4_500.0 and led.unrealized_pnl == 500.0
    led.submit(OrderRequest("A", target_weight=0.0), ts(1))
    (f,) = bar(led, ts(2), o=90.0, lo=85.0, c=90.0)
    assert (f.side, f.quantity) == (Side.BUY, 50.0)
    (t,) = led.closed_trades()
    assert (t.side, t.quantity, t.entry_price, t.exit_price, t.pnl) == (Side.SELL, 50.0, 100.0, 90.0, 500.0)
    assert led.realized_pnl == 500.0 and led.equity == 10_500.0


def test_average_cost_realized_pnl_reversal_and_trades() -> None:
    led = Ledger(["A"], 100_000.0, ExecutionConfig(allow_short=True))
    bar(led, ts(0))
    for d, (side, q, o) in enumerate([(Side.BUY, 10, 100.0), (Side.BUY, 10, 110.0), (Side.SELL, 5, 120.0),
                                      (Side.SELL, 25, 90.0)], start=1):
        led.submit(OrderRequest("A", side, quantity=q), ts(d - 1))
        bar(led, ts(d), o=o, h=o + 5, lo=o - 5, c=o)
    pos = led.positions()["A"]
    assert (pos.quantity, pos.avg_price, pos.entry_ts_ns) == (-10.0, 90.0, ts(4))
    assert pos.realized_pnl == (120.0 - 105.0) * 5 + (90.0 - 105.0) * 15
    t1, t2 = led.closed_trades()
    assert (t1.quantity, t1.entry_price, t1.exit_price) == (5.0, 105.0, 120.0)
    assert (t1.entry_ts_ns, t1.exit_ts_ns) == (ts(1), ts(3))
    assert (t2.quantity, t2.gross_pnl, t2.return_pct) == (15.0, -225.0, -225.0 / (105.0 * 15))


def test_closed_trade_carries_round_trip_commission() -> None:
    cfg = ExecutionConfig(commission_bps=10.0, commission_per_share=0.5)
    led = Ledger(["A"], 10_000.0, cfg)
    bar(led, ts(0))
    led.submit(OrderRequest("A", Side.BUY, quantity=20), ts(0))
    (buy,) = bar(led, ts(1), c=100.0)
    led.submit(OrderRequest("A", Side.SELL, quantity=5), ts(1))
    (sell1,) = bar(led, ts(2), o=110.0, h=110.0, c=110.0)
    led.submit(OrderRequest("A", Side.SELL, quantity=15), ts(2))
    (sell2,) = bar(led, ts(3), o=90.0, h=95.0, lo=90.0, c=90.0)
    t1, t2 = led.closed_trades()
    assert t1.commission == pytest.approx(buy.commission / 4 + sell1.commission)
    assert t2.commission == pytest.approx(buy.commission * 3 / 4 + sell2.commission)
    assert t1.pnl == pytest.approx(50.0 - t1.commission)
    assert t1.pnl + t2.pnl == pytest.approx(led.equity - led.starting_capital)


def test_symbol_without_a_bar_keeps_its_last_price_and_its_orders_wait() -> None:
    led = Ledger(["A", "B"], 10_000.0)
    led.on_bar(ts(0), [100.0, 10.0], [100.0, 10.0], [100.0, 10.0], [100.0, 10.0], [1e6, 1e6])
    led.submit(OrderRequest("A", Side.BUY, quantity=10), ts(0))
    led.submit(OrderRequest("B", Side.BUY, quantity=10, time_in_force=TimeInForce.GTC), ts(0))
    fills = led.on_bar(ts(1), [100.0, NAN], [101.0, NAN], [100.0, NAN], [101.0, NAN], [1e6, NAN])
    assert [f.symbol for f in fills] == ["A"]
    assert led.last_prices.tolist() == [101.0, 10.0]
    assert led.equity == led.cash + 10 * 101.0
    assert [o.symbol for o in led.open_orders()] == ["B"]


def test_read_only_state() -> None:
    led = Ledger(["A", "B"], 10_000.0)
    assert np.isnan(led.last_prices).all()
    with pytest.raises(ValueError):
        led.quantities[0] = 5.0
    assert led.weights().tolist() == [0.0, 0.0]
    assert set(led.positions()) == {"A", "B"} and led.positions()["A"].market_value == 0.0


def test_bad_input_errors_and_ledger_unchanged() -> None:
    with pytest.raises(ValueError, match="unique"):
        Ledger(["A", "A"], 1.0)
    with pytest.raises(ValueError, match="capital_usd"):
        Ledger(["A"], 0.0)
    led = Ledger(["A", "B"], 10_000.0)
    px = [10.0, 20.0]
    led.on_bar(ts(0), px, px, px, px, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"after the previous bar"):
        led.on_bar(ts(0), px, px, px, px, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"open must be float64 \[2\]"):
        led.submit(OrderRequest("A", Side.BUY, quantity=1), ts(0))
        led.on_bar(ts(1), [10.0], px, px, px, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"symbol 'B': close must be NaN \(no bar\) or a finite price > 0"):
        led.on_bar(ts(1), px, px, px, [10.0, -3.0], [1.0, 1.0])
    before = led.snapshot()
    with pytest.raises(ValueError, match=r"symbol 'A': inconsistent OHLC"):
        led.on_bar(ts(1), [10.0, 20.0], [9.0, 20.0], [8.0, 20.0], [10.0, 20.0], [1.0, 1.0])
    assert led.snapshot() == before
