"""The live bar feed: Alpaca's bar stream, watched, backfilled, released one timestamp at a time.

:class:`LiveBarFeed` runs alpaca-py's :class:`~alpaca.data.live.StockDataStream` (or
:class:`~alpaca.data.live.CryptoDataStream`) in a thread of its own and turns its minute bars
into chunks of one timestamp each, in time order, in the form the contenders take
(``ts_ns`` int64 [1]; ``open``, ``high``, ``low``, ``close``, ``volume`` float64 [1, S]).

* **Release**: a timestamp is released once every symbol's bar for it is in, or ``grace_s``
  seconds after its first bar arrived (the missing symbols are NaN, as in replay).
* **Exactly once**: bars are keyed by (symbol, timestamp); one that was seen, or whose
  timestamp was already released, is dropped (counted in ``stats["duplicates"]``).
* **Watched**: a stream silent for ``heartbeat_s`` seconds while the market is open is
  stopped and started again with exponential backoff (``backoff_min_s`` doubling up to
  ``backoff_max_s``), then the bars since the last one are backfilled from the historical
  API. A dropped connection is reconnected by alpaca-py itself; the first bar after it
  shows the gap, which is backfilled before that bar is released. A backfill asks for every
  symbol in one request; its timestamps up to the newest one every returned symbol reached
  are final (the historical API is the record) and released at once. Later ones (a symbol's
  latest minute not yet aggregated when it answered) wait for the stream or the grace period.
* **Market hours**: for stocks, outside the sessions of ``calendar`` (an
  ``exchange_calendars`` name, default ``XNYS``) the feed idles: no stall is declared and
  nothing is released until the next session opens. Crypto (or ``calendar=None``) is
  always open.

Plain Python (no Ray); the market-data actor iterates :meth:`LiveBarFeed.chunks`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arena.data.alpaca.historical import fetch_bars
from arena.data.alpaca.keys import AlpacaKeys
from arena.data.alpaca.request import BarsRequest

__all__ = ["DEFAULT_STREAM_URL", "FeedSettings", "LiveBarFeed", "SessionCalendar", "stream_endpoint"]

log = logging.getLogger(__name__)

DEFAULT_STREAM_URL = "wss://stream.data.alpaca.markets"
IDLE_STEP_S = 30.0
"""Longest wait (s) of an idle feed between two looks at the clock."""
_FIELDS = ("open", "high", "low", "close", "volume")
_WIRE = ("o", "h", "l", "c", "v")


def stream_endpoint(base_url: str, asset_class: str, feed: str | None) -> str:
    """The websocket URL of bars: ``<base>/v2/<feed>`` (stocks) or ``<base>/v1beta3/crypto/us``."""
    base = base_url.rstrip("/")
    return f"{base}/v1beta3/crypto/us" if asset_class == "crypto" else f"{base}/v2/{feed or 'iex'}"


@dataclass(frozen=True, slots=True)
class FeedSettings:
    """How the feed waits and recovers.

    Attributes:
        grace_s: seconds after a timestamp's first bar before it is released without the
            symbols still missing (NaN).
        heartbeat_s: seconds without a bar, market open, after which the stream is deemed
            stalled, reconnected and backfilled.
        backoff_min_s: first reconnect delay (s); doubles on each reconnect without a bar since.
        backoff_max_s: longest reconnect delay (s).
        poll_s: seconds between checks (and between idle yields of :meth:`LiveBarFeed.chunks`).
        calendar: ``exchange_calendars`` name of the stock market's sessions; None = always open.
    """

    grace_s: float = 5.0
    heartbeat_s: float = 90.0
    backoff_min_s: float = 1.0
    backoff_max_s: float = 30.0
    poll_s: float = 0.05
    calendar: str | None = "XNYS"


class SessionCalendar:
    """Whether a market is in session, from ``exchange_calendars`` (``None``: always open).

    Args:
        name: calendar name, e.g. ``"XNYS"`` (New York Stock Exchange), or None.

    Raises:
        ValueError: an unknown calendar name.
    """

    def __init__(self, name: str | None) -> None:
        self.name = name
        self._cal: Any = None
        if name is not None:
            import exchange_calendars as xcals

            try:
                self._cal = xcals.get_calendar(name)
            except Exception as exc:  # noqa: BLE001 - its own InvalidCalendarName
                raise ValueError(f"unknown exchange calendar {name!r} ({exc}); e.g. 'XNYS'") from None

    def is_open(self, now: pd.Timestamp) -> bool:
        """True when ``now`` (UTC) is inside a session."""
        return self._cal is None or bool(self._cal.is_open_on_minute(now.floor("min")))

    def next_open(self, now: pd.Timestamp) -> pd.Timestamp:
        """The next session open after ``now`` (UTC); ``now`` itself when always open."""
        return now if self._cal is None else pd.Timestamp(self._cal.next_open(now.floor("min"))).tz_convert("UTC")


class LiveBarFeed:
    """Live bars of ``symbols``, one released timestamp at a time (see module docstring).

    Args:
        request: the historical request the feed backfills with (its symbols, time frame,
            feed, asset class and ``data_url``); the stream sends minute bars, so the time
            frame must be ``1Min``.
        keys: the key pair (stream auth and backfills).
        symbols: the symbols of the chunks' columns, sorted (the warm-up panel's).
        stream_url: websocket base URL (:data:`DEFAULT_STREAM_URL` or a local server's).
        last_ns: the last timestamp already delivered (the warm-up's, or a resumed run's last
            bar); bars up to it are dropped, and those after it, up to the last complete
            minute, are backfilled when :meth:`chunks` starts.
        settings: waits and recovery (:class:`FeedSettings`).
        clock: wall clock in s since the epoch (market hours, backfill end); injectable.
        sleep: how an idle feed waits (default: a wait that :meth:`close` ends); injectable.
        monotonic: the clock of grace periods and heartbeats; injectable.

    Raises:
        ValueError: a time frame other than ``1Min``; an unknown calendar.
    """

    def __init__(
        self,
        request: BarsRequest,
        keys: AlpacaKeys,
        symbols: tuple[str, ...],
        stream_url: str = DEFAULT_STREAM_URL,
        last_ns: int | None = None,
        settings: FeedSettings = FeedSettings(),
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if request.timeframe != "1Min":
            raise ValueError(f"live mode streams minute bars: data.timeframe must be '1Min', got {request.timeframe!r}")
        self.request = request
        self._keys = keys
        self.symbols = tuple(symbols)
        self._col = {s: i for i, s in enumerate(self.symbols)}
        self.endpoint = stream_endpoint(stream_url, request.asset_class, request.feed)
        self.settings = settings
        self.calendar = SessionCalendar(None if request.asset_class == "crypto" else settings.calendar)
        self._stop = threading.Event()
        self._clock, self._mono = clock, monotonic
        self._sleep = sleep if sleep is not None else self._stop.wait  # close() ends an idle wait
        self._step = request.step_ns
        self._last_ns = last_ns  # last released timestamp
        self._pending: dict[int, dict[str, Any]] = {}  # ts -> {"first": mono, "bars": {sym: vals}, "final": bool}
        self._queue: queue.Queue[tuple[str, int, tuple[float, ...]]] = queue.Queue()
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._last_bar_mono = monotonic()
        self._attempt = 0
        self.idle_until: pd.Timestamp | None = None
        self.stats = {"released": 0, "streamed": 0, "backfilled": 0, "duplicates": 0, "reconnects": 0,
                      "backfills": 0, "idle_s": 0.0}

    # the stream ----------------------------------------------------------------------------
    def _start_stream(self) -> None:
        from alpaca.data.enums import CryptoFeed, DataFeed
        from alpaca.data.live import CryptoDataStream, StockDataStream

        if self.request.asset_class == "crypto":
            stream: Any = CryptoDataStream(self._keys.key_id, self._keys.secret_key, raw_data=True,
                                           feed=CryptoFeed.US, url_override=self.endpoint)
        else:
            stream = StockDataStream(self._keys.key_id, self._keys.secret_key, raw_data=True,
                                     feed=DataFeed(self.request.feed or "iex"), url_override=self.endpoint)
        q = self._queue

        async def on_bar(msg: dict[str, Any]) -> None:
            t = msg["t"]
            ts = t.to_unix_nano() if hasattr(t, "to_unix_nano") else pd.Timestamp(t).value
            q.put((str(msg["S"]), int(ts), tuple(float(msg[k]) for k in _WIRE)))

        stream.subscribe_bars(on_bar, *self.symbols)
        self._stream = stream
        self._thread = threading.Thread(target=stream.run, name="alpaca-bar-stream", daemon=True)
        self._thread.start()
        self._last_bar_mono = self._mono()

    def _stop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            if stream._loop is not None:  # alpaca-py's stop() needs the stream's loop to be running
                stream.stop()
        except Exception as exc:  # noqa: BLE001 - a stream already gone is stopped
            log.debug("stopping the bar stream: %s", exc)

    def close(self) -> None:
        """Stop the feed and its stream (from any thread); :meth:`chunks` then returns."""
        self._stop.set()
        self._stop_stream()

    # bars in ------------------------------------------------------------------------------
    def _horizon(self) -> int | None:
        """The latest timestamp released or pending."""
        latest = max(self._pending, default=None)
        if self._last_ns is None:
            return latest
        return self._last_ns if latest is None else max(latest, self._last_ns)

    def _accept(self, symbol: str, ts: int, vals: tuple[float, ...]) -> bool:
        if symbol not in self._col:
            return False
        if (self._last_ns is not None and ts <= self._last_ns) or symbol in self._pending.get(ts, {}).get("bars", {}):
            self.stats["duplicates"] += 1
            return False
        slot = self._pending.setdefault(ts, {"first": self._mono(), "bars": {}, "final": False})
        slot["bars"][symbol] = vals
        return True

    def _on_streamed(self, symbol: str, ts: int, vals: tuple[float, ...]) -> None:
        horizon = self._horizon()
        if self._accept(symbol, ts, vals):
            self.stats["streamed"] += 1
            self._last_bar_mono = self._mono()
            self._attempt = 0
            if horizon is not None and ts > horizon + self._step:  # timestamps in between never came
                self._backfill(horizon + self._step, ts - self._step)

    def _backfill(self, start_ns: int, end_ns: int) -> None:
        if end_ns < start_ns:
            return
        self.stats["backfills"] += 1
        req = self.request.with_window(pd.Timestamp(start_ns, tz="UTC"), pd.Timestamp(end_ns, tz="UTC"))
        try:
            frame = fetch_bars(req, self._keys, together=True)
        except Exception as exc:  # noqa: BLE001 - a backfill that fails is retried at the next stall
            log.warning("backfill %s..%s failed: %s", req.start.isoformat(), req.end.isoformat(), exc)
            return
        ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        for i, (t, s) in enumerate(zip(ts, frame["symbol"], strict=True)):
            vals = tuple(float(frame[f].iat[i]) for f in _FIELDS)
            if self._accept(str(s), int(t), vals):
                self.stats["backfilled"] += 1
        if not len(ts):
            return
        # final up to the newest timestamp every answered symbol reached (its streamed bars too)
        cutoff = int(pd.Series(ts).groupby(frame["symbol"].to_numpy()).max().min())
        for t in set(ts.tolist()):
            if int(t) <= cutoff and int(t) in self._pending:
                self._pending[int(t)]["final"] = True

    # chunks out ----------------------------------------------------------------------------
    def _releasable(self) -> Iterator[dict[str, Any]]:
        now = self._mono()
        for ts in sorted(self._pending):
            slot = self._pending[ts]
            if not (slot["final"] or len(slot["bars"]) == len(self.symbols)
                    or now - slot["first"] >= self.settings.grace_s):
                return  # in order: a later timestamp waits for this one
            del self._pending[ts]
            self._last_ns = ts
            self.stats["released"] += 1
            yield self._chunk(ts, slot["bars"])

    def _chunk(self, ts: int, bars: dict[str, tuple[float, ...]]) -> dict[str, Any]:
        values = np.full((len(_FIELDS), 1, len(self.symbols)), np.nan)
        for symbol, vals in bars.items():
            values[:, 0, self._col[symbol]] = vals
        return {"ts_ns": np.array([ts], dtype=np.int64), **{f: values[k] for k, f in enumerate(_FIELDS)}}

    def _reconnect(self) -> None:
        self._stop_stream()
        self._attempt += 1
        delay = min(self.settings.backoff_max_s, self.settings.backoff_min_s * 2 ** (self._attempt - 1))
        log.warning("bar stream silent for %.0f s: reconnecting in %.1f s (attempt %d)",
                    self.settings.heartbeat_s, delay, self._attempt)
        if self._stop.wait(delay):
            return
        self.stats["reconnects"] += 1
        self._start_stream()
        self._catch_up()

    def _catch_up(self) -> None:
        """Backfill from after the latest bar released or pending to the last complete bar."""
        horizon = self._horizon()
        now_ns = int(self._clock() * 1e9)
        end = (now_ns // self._step) * self._step - self._step  # the last complete bar
        start = horizon + self._step if horizon is not None else self.request.start.value
        self._backfill(start, end)

    def chunks(self, max_bars: int | None = None) -> Iterator[dict[str, Any] | None]:
        """Released timestamps, as one-timestamp chunks, until :meth:`close` or ``max_bars``.

        Yields:
            A chunk (``ts_ns`` int64 [1]; ``open``, ``high``, ``low``, ``close``, ``volume``
            float64 [1, S], NaN where a symbol has no bar), or None about every ``poll_s``
            seconds when none is due (the caller's chance to do other work; the feed also
            idles this way outside market sessions, with :attr:`idle_until` set).
        """
        released = 0
        self._start_stream()
        if self._last_ns is not None:  # the bars since the last one delivered (a resumed run's since its stop)
            self._catch_up()
        try:
            while not self._stop.is_set():
                now = pd.Timestamp(self._clock(), unit="s", tz="UTC")
                if not self.calendar.is_open(now):
                    self.idle_until = self.calendar.next_open(now)
                    wait = min(IDLE_STEP_S, max(0.0, (self.idle_until - now).total_seconds()))
                    self._sleep(wait)
                    self.stats["idle_s"] += wait
                    self._last_bar_mono = self._mono()  # silence while closed is not a stall
                    yield None
                    continue
                self.idle_until = None
                try:
                    self._on_streamed(*self._queue.get(timeout=self.settings.poll_s))
                    while True:  # everything already queued, before releasing
                        self._on_streamed(*self._queue.get_nowait())
                except queue.Empty:
                    pass
                out = False
                for chunk in self._releasable():
                    out = True
                    yield chunk
                    released += 1
                    if max_bars is not None and released >= max_bars:
                        return
                if self._mono() - self._last_bar_mono > self.settings.heartbeat_s:
                    self._reconnect()
                    self._last_bar_mono = self._mono()
                    continue
                if not out:
                    yield None
        finally:
            self.close()
