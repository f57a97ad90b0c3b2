"""Order lifecycle: events, rejections, time in force, latency, cancellation."""

from __future__ import annotations

import pytest

from ledger import (
    ExecutionConfig,
    Ledger,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

DAY_NS = 86_400 * 10**9
HOUR_NS = 3_600 * 10**9
S = OrderStatus


def ts(day: int, hour: int = 20) -> int:
    return day * DAY_NS + hour * HOUR_NS


def bar(led: Ledger, t: int, o: float = 100.0, h: float = 105.0, lo: float = 95.0, c: float = 102.0,
        v: float = 1e6) -> list:
    return led.on_bar(t, [o], [h], [lo], [c], [v])


def statuses(events: list[OrderEvent]) -> list[tuple[str, OrderStatus, float, str]]:
    return [(e.client_order_id, e.status, e.filled_quantity, e.reason) for e in events]


def test_ids_are_prefix_plus_counter_and_events_come_in_order() -> None:
    led = Ledger(["A"], 10_000.0, order_id_prefix="sma-")
    bar(led, ts(0))
    a = led.submit(OrderRequest("A", Side.BUY, quantity=10), ts(0))
    b = led.submit(OrderRequest("A", Side.BUY, quantity=5), ts(0))
    assert (a, b) == ("sma-1", "sma-2")
    assert statuses(led.drain_events()) == [
        ("sma-1", S.NEW, 0.0, ""), ("sma-1", S.ACCEPTED, 0.0, ""),
        ("sma-2", S.NEW, 0.0, ""), ("sma-2", S.ACCEPTED, 0.0, ""),
    ]
    assert led.drain_events() == []
    bar(led, ts(1))
    ev = led.drain_events()
    assert statuses(ev) == [("sma-1", S.FILLED, 10.0, ""), ("sma-2", S.FILLED, 5.0, "")]
    assert all(e.ts_ns == ts(1) and e.symbol == "A" for e in ev)


def test_new_accepted_partially_filled_filled() -> None:
    led = Ledger(["A"], 1e6, ExecutionConfig(max_participation=0.5))
    bar(led, ts(0))
    oid = led.submit(OrderRequest("A", Side.BUY, quantity=30, time_in_force=TimeInForce.GTC), ts(0))
    bar(led, ts(1), v=21.0)  # cap floor(10.5) = 10
    bar(led, ts(2), v=21.0)
    bar(led, ts(3), v=1000.0)
    assert [(e.status, e.filled_quantity) for e in led.drain_events()] == [
        (S.NEW, 0.0), (S.ACCEPTED, 0.0), (S.PARTIALLY_FILLED, 10.0), (S.PARTIALLY_FILLED, 20.0), (S.FILLED, 30.0),
    ]
    assert led.open_orders() == [] and led.quantities[0] == 30.0 and oid == "1"


@pytest.mark.parametrize(
    ("request_kwargs", "reason"),
    [
        ({"symbol": "ZZZ", "side": Side.BUY, "quantity": 1.0}, "UNKNOWN_SYMBOL"),
        ({"symbol": "A", "side": Side.BUY, "quantity": 1.5}, "FRACTIONAL_QUANTITY"),
        ({"symbol": "A", "side": Side.BUY, "quantity": float("inf")}, "INVALID_QUANTITY"),
        ({"symbol": "A", "target_weight": float("nan")}, "INVALID_TARGET_WEIGHT"),
        ({"symbol": "A", "side": Side.BUY, "quantity": 1.0, "limit_price": 99.0}, "INVALID_PRICE"),
        ({"symbol": "A", "side": Side.BUY, "quantity": 1.0, "type": OrderType.LIMIT, "limit_price": float("inf")},
         "INVALID_PRICE"),
        ({"symbol": "A", "side": Side.BUY, "quantity": 1.0, "type": OrderType.STOP, "stop_price": 9.0,
          "limit_price": 9.5}, "INVALID_PRICE"),
        ({"symbol": "A", "target_weight": 0.5, "type": OrderType.LIMIT, "limit_price": 99.0}, "SIDE_REQUIRED"),
    ],
)
def test_rejected_at_submission_with_reason(request_kwargs: dict, reason: str) -> None:
    led = Ledger(["A"], 10_000.0)
    oid = led.submit(OrderRequest(**request_kwargs), ts(0))
    assert statuses(led.drain_events()) == [(oid, S.NEW, 0.0, ""), (oid, S.REJECTED, 0.0, reason)]
    assert led.open_orders() == []


def test_fractional_sizing_accepts_fractional_quantity() -> None:
    led = Ledger(["A"], 10_000.0, ExecutionConfig(sizing="fractional"))
    led.submit(OrderRequest("A", Side.BUY, quantity=1.5), ts(0))
    bar(led, ts(1))
    assert led.quantities[0] == 1.5


def test_day_order_expires_when_a_later_day_starts() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    oid = led.submit(OrderRequest("A", Side.BUY, quantity=1, type=OrderType.LIMIT, limit_price=90.0), ts(0))
    bar(led, ts(1))  # first eligible bar: not reached, still working
    assert [o.expires_after_day for o in led.open_orders()] == [1]
    bar(led, ts(2), lo=80.0)  # a later day: expires before this bar is traded
    assert statuses(led.drain_events())[-1] == (oid, S.EXPIRED, 0.0, "DAY_END")
    assert led.quantities[0] == 0.0


def test_day_order_keeps_working_within_its_day() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0, 14))
    led.submit(OrderRequest("A", Side.BUY, quantity=1, type=OrderType.LIMIT, limit_price=90.0), ts(0, 14))
    bar(led, ts(0, 15))
    bar(led, ts(0, 16), lo=89.0)
    assert led.quantities[0] == 1.0
    assert [e.status for e in led.drain_events()][-1] is S.FILLED


def test_day_remainder_after_partial_fill_expires() -> None:
    led = Ledger(["A"], 1e6, ExecutionConfig(max_participation=0.1))
    bar(led, ts(0))
    oid = led.submit(OrderRequest("A", Side.BUY, quantity=50), ts(0))
    bar(led, ts(1), v=100.0)
    bar(led, ts(2), v=100.0)
    assert statuses(led.drain_events())[2:] == [(oid, S.PARTIALLY_FILLED, 10.0, ""), (oid, S.EXPIRED, 10.0, "DAY_END")]
    assert led.quantities[0] == 10.0


def test_gtc_survives_days_until_filled() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    led.submit(OrderRequest("A", Side.BUY, quantity=2, type=OrderType.LIMIT, limit_price=90.0,
                            time_in_force=TimeInForce.GTC), ts(0))
    for d in range(1, 6):
        bar(led, ts(d))
    assert len(led.open_orders()) == 1 and led.open_orders()[0].expires_after_day is None
    fills = bar(led, ts(6), lo=85.0)
    assert [(f.quantity, f.price) for f in fills] == [(2.0, 90.0)]


def test_ioc_remainder_is_cancelled() -> None:
    led = Ledger(["A"], 1e6, ExecutionConfig(max_participation=0.1))
    bar(led, ts(0))
    oid = led.submit(OrderRequest("A", Side.BUY, quantity=50, time_in_force=TimeInForce.IOC), ts(0))
    bar(led, ts(1), v=100.0)
    assert statuses(led.drain_events())[2:] == [
        (oid, S.PARTIALLY_FILLED, 10.0, ""), (oid, S.CANCELLED, 10.0, "IOC_REMAINDER")]


def test_ioc_limit_not_reached_is_cancelled_unfilled() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    oid = led.submit(OrderRequest("A", Side.BUY, quantity=1, type=OrderType.LIMIT, limit_price=90.0,
                                  time_in_force=TimeInForce.IOC), ts(0))
    bar(led, ts(1))
    assert statuses(led.drain_events())[-1] == (oid, S.CANCELLED, 0.0, "IOC_REMAINDER")


def test_cancel_working_order_and_unknown_or_ended_ids() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(0))
    oid = led.submit(OrderRequest("A", Side.BUY, quantity=1, time_in_force=TimeInForce.GTC), ts(0))
    assert led.cancel(oid, ts(0)) is True
    assert led.cancel(oid, ts(0)) is False
    assert led.cancel("nope", ts(0)) is False
    assert statuses(led.drain_events())[-1] == (oid, S.CANCELLED, 0.0, "CANCEL_REQUESTED")
    assert bar(led, ts(1)) == []


@pytest.mark.parametrize("latency", [0, 1, 3])
def test_latency_counts_bars_of_the_order_symbol(latency: int) -> None:
    nan = float("nan")
    led = Ledger(["A", "B"], 10_000.0, ExecutionConfig(latency_bars=latency))
    led.on_bar(ts(0), [100.0, 50.0], [100.0, 50.0], [100.0, 50.0], [100.0, 50.0], [1e6, 1e6])
    led.submit(OrderRequest("B", Side.BUY, quantity=1, time_in_force=TimeInForce.GTC), ts(0))
    filled_on = None
    for k in range(1, 12):
        b_has_bar = k % 2 == 0  # B trades every other bar only
        px = [100.0 + k, 50.0 + k if b_has_bar else nan]
        if led.on_bar(ts(k), px, px, px, px, [1e6, 1e6 if b_has_bar else nan]):
            filled_on = k
            break
    assert filled_on == 2 * (1 + latency)  # the (1 + latency)-th bar of B
    assert led.open_orders() == []


def test_order_view_reports_progress() -> None:
    led = Ledger(["A"], 1e6, ExecutionConfig(max_participation=0.1, latency_bars=1))
    bar(led, ts(0))
    led.submit(OrderRequest("A", target_weight=0.5, time_in_force=TimeInForce.GTC, tag="t"), ts(0))
    (o,) = led.open_orders()
    assert (o.client_order_id, o.status, o.side, o.quantity, o.bars_until_eligible) == ("1", S.ACCEPTED, None, None, 2)
    assert o.symbol == "A" and o.request.tag == "t" and o.remaining_quantity is None
    bar(led, ts(1))
    bar(led, ts(2), v=1000.0)  # resolves to floor(0.5 * 1e6 / 100) = 5000 units, fills 100
    (o,) = led.open_orders()
    assert (o.status, o.side, o.quantity, o.filled_quantity, o.remaining_quantity) == (
        S.PARTIALLY_FILLED, Side.BUY, 5000.0, 100.0, 4900.0)
    assert o.avg_fill_price == 100.0 and o.bars_until_eligible == 0


def test_submit_before_the_last_bar_is_an_error() -> None:
    led = Ledger(["A"], 10_000.0)
    bar(led, ts(3))
    with pytest.raises(ValueError, match="before the last bar"):
        led.submit(OrderRequest("A", Side.BUY, quantity=1), ts(2))
    with pytest.raises(TypeError, match="OrderRequest"):
        led.submit({"symbol": "A"}, ts(3))  # type: ignore[arg-type]
