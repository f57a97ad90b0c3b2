"""The live feed against a local server in Alpaca's wire formats, through alpaca-py's real
StockDataStream and historical client: every bar delivered exactly once across a dropped and a
silent stream (each reconnected and backfilled), grace-period release, market-hours idling."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from alpaca_market_server import load_payload, market_sim

from arena.data.alpaca import keys_from_env, request_from_spec
from arena.data.alpaca.feed import FeedSettings, LiveBarFeed

WARM = 30  # timestamps the server has released before the feed starts
PAYLOAD = load_payload("stock_bars_1min.json")["bars"]
EXPECTED = {(s, pd.Timestamp(b["t"]).value): b for s, bars in PAYLOAD.items() for b in bars}
FAST = FeedSettings(grace_s=0.4, heartbeat_s=1.0, backoff_min_s=0.2, backoff_max_s=1.0, poll_s=0.02, calendar=None)


def _feed(sim, settings=FAST, **kw):
    request = request_from_spec({"symbols": ["AAPL", "MSFT"], "timeframe": "1Min", "start": "2024-01-03T14:30:00Z",
                                 "end": "2024-01-03T15:59:00Z", "data_url": sim.url})
    last = int(sim.timestamps[sim.released - 1]) if sim.released else None
    return LiveBarFeed(request, keys_from_env(), ("AAPL", "MSFT"), sim.stream_url, last_ns=last, settings=settings,
                       **kw)


def _consume(feed, n, out):
    for chunk in feed.chunks(max_bars=n):
        if chunk is not None:
            out.append(chunk)


def _wait(cond, timeout_s=15.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def _delivered(chunks):
    ts = [int(c["ts_ns"][0]) for c in chunks]
    bars = {}
    for c in chunks:
        for j, sym in enumerate(("AAPL", "MSFT")):
            if not np.isnan(c["close"][0, j]):
                bars[(sym, int(c["ts_ns"][0]))] = tuple(c[f][0, j] for f in ("open", "high", "low", "close", "volume"))
    return ts, bars


def _check_exactly_once(sim, chunks):
    ts, bars = _delivered(chunks)
    live = [int(t) for t in sim.timestamps[WARM:]]
    assert ts == live  # every timestamp after the warm-up, once, in order
    want = {k: v for k, v in EXPECTED.items() if k[1] in set(live)}
    assert set(bars) == set(want)  # every bar once; MSFT 14:47 absent in the data, NaN in the chunk
    for k, b in want.items():
        assert bars[k] == (b["o"], b["h"], b["l"], b["c"], float(b["v"]))


@pytest.mark.parametrize("fault", ["drop", "mute"])
def test_every_bar_once_across_a_broken_stream(alpaca_keys, fault):
    sim = market_sim(released=WARM)
    feed = _feed(sim)
    out: list = []
    consumer = threading.Thread(target=_consume, args=(feed, len(sim.timestamps) - WARM, out), daemon=True)
    try:
        consumer.start()
        _wait(lambda: sim.subscribed_streams == 1)
        for i in range(len(sim.timestamps) - WARM):
            if i == 20:
                if fault == "drop":
                    assert sim.drop_streams() == 1
                else:
                    assert sim.mute_streams() == 1
            if i == 30:  # ten timestamps the stream never delivered: REST only
                _wait(lambda: sim.subscribed_streams >= 1)  # reconnected (alpaca-py's own or the feed's)
            sim.publish_next()
            time.sleep(0.02)
        consumer.join(30)
        assert not consumer.is_alive()
    finally:
        feed.close()
        sim.stop()
    _check_exactly_once(sim, out)
    assert feed.stats["backfills"] >= 1 and feed.stats["backfilled"] >= 18  # ~10 timestamps x 2 symbols
    if fault == "mute":
        assert feed.stats["reconnects"] >= 1  # the silent stream was the feed's to reconnect
    assert sim.connections >= 2


def test_a_timestamp_waits_for_every_symbol_then_the_grace_period(alpaca_keys):
    sim = market_sim(released=WARM)
    feed = _feed(sim, FeedSettings(grace_s=0.5, heartbeat_s=60, poll_s=0.02, calendar=None))
    out: list = []
    consumer = threading.Thread(target=_consume, args=(feed, 1, out), daemon=True)
    try:
        consumer.start()
        _wait(lambda: sim.subscribed_streams == 1)
        sim._rows = [r for r in sim._rows if not (r[1] == "MSFT" and r[0] == int(sim.timestamps[WARM]))]
        t0 = time.monotonic()
        sim.publish_next()  # AAPL only
        consumer.join(10)
        waited = time.monotonic() - t0
    finally:
        feed.close()
        sim.stop()
    assert len(out) == 1 and not np.isnan(out[0]["close"][0, 0]) and np.isnan(out[0]["close"][0, 1])
    assert 0.45 <= waited < 3.0


def test_outside_market_hours_the_feed_idles(alpaca_keys):
    sim = market_sim(released=WARM)
    now = [pd.Timestamp("2024-01-06T15:00:00Z").timestamp()]  # a Saturday
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    feed = _feed(sim, FeedSettings(grace_s=0.5, heartbeat_s=0.05, poll_s=0.01, calendar="XNYS"),
                 clock=lambda: now[0], sleep=sleep)
    seen_idle = []
    try:
        for chunk in feed.chunks():
            assert chunk is None
            if feed.idle_until is None:
                break  # the session has opened
            seen_idle.append(feed.idle_until)
    finally:
        feed.close()
        sim.stop()
    assert set(seen_idle) == {pd.Timestamp("2024-01-08T14:30:00Z")}  # Monday's open
    assert sum(slept) == pytest.approx((pd.Timestamp("2024-01-08T14:30Z") - pd.Timestamp("2024-01-06T15:00Z"))
                                       .total_seconds())
    assert max(slept) <= 30.0 and feed.stats["reconnects"] == 0  # silence while closed is no stall


def test_crypto_never_idles():
    from arena.data.alpaca.feed import SessionCalendar

    closed = SessionCalendar("XNYS")
    always = SessionCalendar(None)
    saturday = pd.Timestamp("2024-01-06T15:00:00Z")
    assert not closed.is_open(saturday) and always.is_open(saturday)
    with pytest.raises(ValueError, match="unknown exchange calendar 'XNOPE'"):
        SessionCalendar("XNOPE")


def test_a_backfill_is_final_only_as_far_as_every_symbol_reached(alpaca_keys):
    """A backfill of a window ending now may find one symbol's latest minute and not yet
    another's: that minute stays pending (stream or grace), the earlier ones are released."""
    sim = market_sim(released=WARM)
    head = int(sim.timestamps[WARM - 1])
    sim._rows = [r for r in sim._rows if not (r[1] == "AAPL" and r[0] == head)]  # AAPL's head not yet in
    feed = _feed(sim, FeedSettings(grace_s=60, heartbeat_s=60, poll_s=0.02, calendar=None))
    feed._last_ns = int(sim.timestamps[WARM - 6])
    try:
        feed._backfill(int(sim.timestamps[WARM - 5]), head)
        released = [int(c["ts_ns"][0]) for c in feed._releasable()]
    finally:
        feed.close()
        sim.stop()
    assert released == [int(t) for t in sim.timestamps[WARM - 5:WARM - 1]]
    assert list(feed._pending) == [head] and set(feed._pending[head]["bars"]) == {"MSFT"}
    assert feed.stats["backfills"] == 1 and feed.stats["backfilled"] == 9
