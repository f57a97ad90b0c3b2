"""The paper mirror against a local server speaking Alpaca's formats, with the real
alpaca-py TradingClient: idempotent retries, a 429 storm, outages, auth failures, and the
reconciliation of a paper fill price that differs from the internal one."""

from __future__ import annotations

import logging
import time

import pytest

from arena.broker import InternalFill, MirrorOrder, PaperKeys, broker_client_order_id
from arena.broker.alpaca_paper import PaperMirror, paper_client

RUN = "mirror-test-20240102T000000-abcdef"
KEYS = PaperKeys("ALPACA_T", "PKTEST", "SECRET")
T0 = 1_704_186_000_000_000_000  # 2024-01-02 09:00 UTC, ns


def _order(coid: str, symbol: str = "AAPL", side: str = "BUY", qty: float = 10.0) -> MirrorOrder:
    return MirrorOrder(coid, symbol, side, qty, "MARKET", "DAY", T0)


class _Sink:
    def __init__(self) -> None:
        self.tables: dict[str, list] = {}

    def __call__(self, batch: dict[str, list]) -> None:
        for table, rows in batch.items():
            self.tables.setdefault(table, []).extend(rows)

    def rows(self, table: str) -> list:
        return self.tables.get(table, [])

    def kinds(self) -> list[str]:
        return [e.kind for e in self.rows("events")]


def _mirror(server, sink, keys: PaperKeys = KEYS, url: str | None = None) -> PaperMirror:
    client = paper_client(keys, url or server.url, timeout_s=2.0)
    return PaperMirror(RUN, "sma", client, sink, poll_every_s=0.05, min_backoff_s=0.01, max_backoff_s=0.05)


def test_a_retried_submission_is_never_doubled(trading_server):
    # the first POST creates the order but its answer is lost (500): the retry meets Alpaca's
    # "client_order_id must be unique", and the mirror adopts the order already there
    trading_server.fail_next("POST /v2/orders", "internal_error")
    sink = _Sink()
    mirror = _mirror(trading_server, sink)
    mirror.submit(_order("sma-1"))
    mirror.on_fills([InternalFill("sma-1", 10.0, 100.0, T0 + 60_000_000_000)])
    summary = mirror.close(settle_s=5.0)
    sent = broker_client_order_id(RUN, "sma-1")
    assert len(trading_server.orders_with(sent)) == 1
    assert trading_server.answered("POST", "/v2/orders", 500) == 1
    assert trading_server.answered("POST", "/v2/orders", 422) == 1
    assert trading_server.answered("GET", "/v2/orders:by_client_order_id", 200) == 1
    assert summary["submitted"] == 1 and summary["rejected_orders"] == 0
    [row] = sink.rows("reconciliation")
    assert (row.status, row.client_order_id, row.paper_quantity, row.internal_quantity) == ("FILLED", "sma-1", 10, 10)
    assert row.broker_order_id == trading_server.orders_with(sent)[0]["id"]


def test_a_429_storm_is_retried_and_reported_once(trading_server, caplog):
    trading_server.fail_next("POST /v2/orders", "rate_limited", times=6)
    sink = _Sink()
    mirror = _mirror(trading_server, sink)
    with caplog.at_level(logging.WARNING, logger="arena.broker.alpaca_paper"):
        t = time.perf_counter()
        for k in range(3):
            mirror.submit(_order(f"sma-{k}"))
        assert time.perf_counter() - t < 0.05  # the arena's side only queues
        summary = mirror.close(settle_s=10.0)
    assert trading_server.answered("POST", "/v2/orders", 429) == 6
    for k in range(3):
        assert len(trading_server.orders_with(broker_client_order_id(RUN, f"sma-{k}"))) == 1
    assert sink.kinds() == ["BROKER_UNAVAILABLE", "BROKER_RECOVERED"]
    assert sink.rows("events")[1].details_json["retries"] == 6
    assert "HTTP 429" in sink.rows("events")[0].reason
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert summary["episodes"] == 1 and summary["submitted"] == 3


def test_a_different_paper_fill_price_shows_as_divergence(trading_server):
    trading_server.fill_prices.update(AAPL=100.25, MSFT=199.80)
    sink = _Sink()
    mirror = _mirror(trading_server, sink)
    mirror.submit(_order("sma-1", "AAPL", "BUY", 10))
    mirror.submit(_order("sma-2", "MSFT", "SELL", 5))
    mirror.on_fills([InternalFill("sma-1", 10, 100.00, T0 + 1), InternalFill("sma-2", 5, 200.00, T0 + 2)])
    summary = mirror.close(settle_s=5.0)
    rows = {r.client_order_id: r for r in sink.rows("reconciliation")}
    aapl, msft = rows["sma-1"], rows["sma-2"]
    # by hand: |100.25 − 100.00| / 100.00 = 25 bps; then (2.5 + 1.0) USD on (1000 + 1000) USD = 17.5 bps
    assert aapl.price_diff == pytest.approx(0.25) and aapl.divergence_bps == pytest.approx(25.0)
    assert msft.price_diff == pytest.approx(-0.20) and msft.divergence_bps == pytest.approx(10.0)
    assert max(r.running_divergence_bps for r in rows.values()) == pytest.approx(25.0)
    assert summary["divergence_bps"] == pytest.approx(17.5)
    assert {r.quantity_diff for r in rows.values()} == {0.0}
    assert {r.status for r in rows.values()} == {"FILLED"}


def test_unfilled_and_rejected_orders_are_counted(trading_server):
    trading_server.fill = "never"
    sink = _Sink()
    mirror = _mirror(trading_server, sink)
    mirror.submit(_order("sma-1"))
    mirror.submit(_order("sma-2", qty=0.5, side="SELL"))
    mirror.on_fills([InternalFill("sma-1", 10, 100.0, T0)])
    summary = mirror.close(settle_s=0.3)
    assert summary["unfilled_orders"] == 2
    assert [r.status for r in sink.rows("reconciliation")] == ["UNFILLED", "UNFILLED"]
    assert sink.rows("reconciliation")[-1].unfilled_orders == 2
    trading_server.fill = "reject"
    sink = _Sink()
    mirror = _mirror(trading_server, sink)
    mirror.submit(_order("sma-3"))
    summary = mirror.close(settle_s=2.0)
    assert summary["rejected_orders"] == 1 and sink.rows("reconciliation")[0].status == "REJECTED"


def test_refused_keys_are_reported_once_and_stop_the_sending(trading_server):
    sink = _Sink()
    mirror = _mirror(trading_server, sink, keys=PaperKeys("ALPACA_T", "PKWRONG", "NOPE"))
    mirror.submit(_order("sma-1"))
    mirror.submit(_order("sma-2"))
    summary = mirror.close(settle_s=2.0)
    assert trading_server.answered("POST", "/v2/orders", 403) == 1  # the second is not sent
    assert sink.kinds() == ["BROKER_AUTH_FAILED"]
    assert "NOPE" not in repr(sink.tables) and "PKWRONG" not in repr(sink.tables)
    assert summary["rejected_orders"] == 2
    assert [r.status for r in sink.rows("reconciliation")] == ["REJECTED", "REJECTED"]


def test_an_outage_never_blocks_and_is_reported_once(trading_server):
    url = trading_server.url
    trading_server.stop()  # nothing listens there now: connection refused
    sink = _Sink()
    mirror = _mirror(trading_server, sink, url=url)
    t = time.perf_counter()
    for k in range(5):
        mirror.submit(_order(f"sma-{k}"))
    assert time.perf_counter() - t < 0.05
    summary = mirror.close(settle_s=0.5)
    assert sink.kinds() == ["BROKER_UNAVAILABLE"]
    assert summary["episodes"] == 1 and summary["submitted"] == 0
    assert summary["unfilled_orders"] == 5


def test_paper_fills_come_from_the_trade_updates_stream():
    """Polling once an hour: only alpaca-py's TradingStream can bring the fill before the end."""
    from alpaca_trading_server import AlpacaTradingServer

    from arena.broker.trade_updates import TradeUpdatesListener

    server = AlpacaTradingServer(fill="stream", fill_prices={"AAPL": 100.50}).start()
    try:
        sink = _Sink()
        client = paper_client(KEYS, server.url, timeout_s=2.0)
        listeners = []

        def updates(on_order):
            listeners.append(TradeUpdatesListener(KEYS, on_order, server.stream_url))
            return listeners[-1]

        mirror = PaperMirror(RUN, "sma", client, sink, poll_every_s=3600.0, updates=updates)
        deadline = time.monotonic() + 20
        while server.listening() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.listening() == 1, "the stream authenticated and listens"
        mirror.submit(_order("sma-1"))
        mirror.on_fills([InternalFill("sma-1", 10.0, 100.0, T0 + 60_000_000_000)])
        t0 = time.monotonic()
        summary = mirror.close(settle_s=15.0)
        assert time.monotonic() - t0 < 10, "settled by the stream, not by waiting out settle_s"
        assert server.answered("GET", "/v2/orders/") == 0, "no poll was needed"
        assert listeners[0].updates == 1 and server.stream_messages[0]["data"]["event"] == "fill"
        filled = [r for r in sink.rows("reconciliation") if r.status == "FILLED"]
        assert len(filled) == 1 and filled[0].paper_price == 100.50
        assert filled[0].divergence_bps == pytest.approx(50.0)
        assert summary["unfilled_orders"] == 0
    finally:
        server.stop()
