"""A local server that speaks Alpaca's market-data wire formats, on loopback.

It serves what alpaca-py's real clients ask for, in Alpaca's own formats:

* REST ``GET /v2/stocks/bars`` and ``GET /v1beta3/crypto/us/bars``: query ``symbols``
  (comma-separated), ``timeframe``, ``start``, ``end`` (RFC 3339, inclusive), ``limit``,
  ``page_token``; answer ``{"bars": {SYMBOL: [{"t", "o", "h", "l", "c", "v", "n", "vw"}]},
  "next_page_token": str | null}``, ordered by symbol then time, ``page_size`` bars a page;
  keys in the ``APCA-API-KEY-ID``/``APCA-API-SECRET-KEY`` headers (else HTTP 403
  ``{"message": "forbidden."}``); HTTP 429 ``{"message": "too many requests."}`` on demand.
* the market-data websocket (``/v2/iex``, ``/v2/sip``, ``/v1beta3/crypto/us``) in msgpack:
  on connect ``[{"T": "success", "msg": "connected"}]``; ``{"action": "auth", "key",
  "secret"}`` → ``[{"T": "success", "msg": "authenticated"}]`` (or ``[{"T": "error",
  "code": 402, "msg": "auth failed"}]``); ``{"action": "subscribe", "bars": [...]}`` →
  ``[{"T": "subscription", "bars": [...], ...}]``; then ``[{"T": "b", "S", "o", "h", "l",
  "c", "v", "t": msgpack.Timestamp, ...}]`` bar messages.

The server holds a fixed set of bars and a clock of its own: :meth:`AlpacaMarketSim.publish_next`
releases the next timestamp (REST serves released bars only; the stream sends them to every
subscribed connection); :meth:`play` releases one every ``interval_s`` seconds. Faults for
tests: :meth:`fail_next` (HTTP errors), :meth:`drop_streams` (connections closed),
:meth:`mute_streams` (connections kept open, sent nothing more).

Used by the tests (``tests/support/alpaca_market_server.py``) and by the live demo
(``python -m arena.data.alpaca.sim``).
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
import pandas as pd
from aiohttp import WSMsgType, web

from arena.data.alpaca.historical import SESSION_TZ
from arena.data.schema import SYMBOL, TIMESTAMP

__all__ = ["AlpacaMarketSim", "bars_from_frame", "bars_from_payload"]

_FIELDS = ("o", "h", "l", "c", "v")
_COLUMNS = dict(zip(_FIELDS, ("open", "high", "low", "close", "volume"), strict=True))


def bars_from_payload(payload: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The bars of an Alpaca bars answer (``{"bars": {SYMBOL: [bar, ...]}}``), by symbol.

    Raises:
        ValueError: not that shape, or a bar without ``t``/``o``/``h``/``l``/``c``/``v``
            (names the symbol and the bar's position).
    """
    bars = payload.get("bars") if isinstance(payload, Mapping) else None
    if not isinstance(bars, Mapping):
        raise ValueError("Alpaca bars payload: expected {'bars': {SYMBOL: [bar, ...]}}")
    for symbol, rows in bars.items():
        for i, bar in enumerate(rows):
            missing = [k for k in ("t", *_FIELDS) if k not in bar]
            if missing:
                raise ValueError(f"Alpaca bars payload: bars[{symbol!r}][{i}] lacks {missing}")
    return {str(s): [dict(b) for b in rows] for s, rows in bars.items()}


def bars_from_frame(frame: pd.DataFrame, daily_stock: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Canonical bars (``DataFrame[timestamp, symbol, open, high, low, close, volume]``) as
    Alpaca bar objects by symbol; ``daily_stock`` stamps each at midnight New York time, as
    Alpaca stamps daily stock bars."""
    out: dict[str, list[dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        ts = pd.Timestamp(getattr(row, TIMESTAMP))
        if daily_stock:
            ts = pd.Timestamp(ts.tz_convert("UTC").date()).tz_localize(SESSION_TZ).tz_convert("UTC")
        bar = {"t": _rfc3339(ts), **{k: float(getattr(row, col)) for k, col in _COLUMNS.items()}}
        out.setdefault(str(getattr(row, SYMBOL)), []).append(bar)
    return out


@dataclass
class _Conn:
    ws: web.WebSocketResponse
    authed: bool = False
    bars: set[str] = field(default_factory=set)
    muted: bool = False


class AlpacaMarketSim:
    """Alpaca's market-data REST and websocket endpoints on ``127.0.0.1``, in a thread.

    Args:
        bars: Alpaca bar objects by symbol (:func:`bars_from_payload`, :func:`bars_from_frame`).
        asset_class: ``"stock"`` or ``"crypto"`` (which paths answer).
        timeframe: the time frame the bars are (a request for another gets HTTP 422).
        released: how many of the first distinct timestamps are released at start
            (None: all; 0: none, for live tests that release them one by one).
        key_id / secret_key: the only key pair accepted.
        page_size: bars per REST page at most (the client's ``limit`` may lower it).
        port: TCP port (0: a free one).

    Example:
        >>> with AlpacaMarketSim(bars_from_payload(payload)) as sim:  # doctest: +SKIP
        ...     client = StockHistoricalDataClient("demo", "demo", url_override=sim.url)
    """

    def __init__(
        self,
        bars: Mapping[str, Iterable[Mapping[str, Any]]],
        *,
        asset_class: str = "stock",
        timeframe: str = "1Min",
        released: int | None = None,
        key_id: str = "demo",
        secret_key: str = "demo",
        page_size: int = 1000,
        port: int = 0,
    ) -> None:
        self.asset_class = asset_class
        self.timeframe = timeframe
        self._keys = (key_id, secret_key)
        self.page_size = int(page_size)
        self._port = port
        rows = [(pd.Timestamp(b["t"]).value, s, dict(b)) for s, bs in bars.items() for b in bs]
        rows.sort(key=lambda r: (r[1], r[0]))
        self._rows = rows
        self.timestamps = np.unique(np.array([r[0] for r in rows], dtype=np.int64))
        self.released = len(self.timestamps) if released is None else int(released)
        self._fail: list[tuple[int, str]] = []
        self._conns: list[_Conn] = []
        self.requests = 0
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._player: threading.Thread | None = None
        self._stop_play = threading.Event()
        self.url = self.stream_url = ""

    # lifecycle --------------------------------------------------------------------------
    def start(self) -> AlpacaMarketSim:
        """Start serving (returns once the port is bound); sets :attr:`url` (``http://127.0.0.1:PORT``)
        and :attr:`stream_url` (``ws://127.0.0.1:PORT``)."""
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name="alpaca-sim", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the Alpaca market-data simulator did not start within 10 s")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/v2/stocks/bars", self._bars)
        app.router.add_get("/v1beta3/crypto/us/bars", self._bars)
        for path in ("/v2/iex", "/v2/sip", "/v1beta3/crypto/us"):
            app.router.add_get(path, self._stream)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url, self.stream_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop playing and serving (closes every connection)."""
        self._stop_play.set()
        if self._player is not None:
            self._player.join(5)
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    async def _shutdown(self) -> None:
        for c in list(self._conns):
            await c.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> AlpacaMarketSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # the clock ---------------------------------------------------------------------------
    def stream_path(self, feed: str = "iex") -> str:
        """The websocket URL of a feed: ``ws://.../v2/iex`` (stock) or ``ws://.../v1beta3/crypto/us``."""
        return self.stream_url + ("/v1beta3/crypto/us" if self.asset_class == "crypto" else f"/v2/{feed}")

    def publish_next(self) -> int | None:
        """Release the next timestamp: REST serves its bars from now on, and each subscribed,
        unmuted connection is sent them (one ``"T": "b"`` message per symbol, one frame).

        Returns:
            The timestamp (ns since the epoch, UTC), or None when every one is released.
        """
        if self.released >= len(self.timestamps):
            return None
        ts = int(self.timestamps[self.released])
        self.released += 1
        assert self._loop is not None, "start() the simulator first"
        asyncio.run_coroutine_threadsafe(self._send_bars(ts), self._loop).result(10)
        return ts

    def play(self, interval_s: float) -> None:
        """Release the remaining timestamps one every ``interval_s`` seconds, in a thread."""

        def loop() -> None:
            while not self._stop_play.wait(interval_s):
                if self.publish_next() is None:
                    return

        self._player = threading.Thread(target=loop, name="alpaca-sim-play", daemon=True)
        self._player.start()

    # faults --------------------------------------------------------------------------------
    def fail_next(self, status: int, n: int = 1, message: str = "too many requests.") -> None:
        """Answer the next ``n`` REST requests with HTTP ``status`` and ``{"message": message}``."""
        self._fail.extend([(status, message)] * n)

    def drop_streams(self) -> int:
        """Close every websocket connection (as a dropped network would); returns how many."""
        assert self._loop is not None
        conns = list(self._conns)

        async def close() -> None:
            for c in conns:
                await c.ws.close(code=1011, message=b"simulated drop")

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        return len(conns)

    def mute_streams(self) -> int:
        """Keep the current connections open but send them nothing more; returns how many."""
        for c in self._conns:
            c.muted = True
        return len(self._conns)

    @property
    def subscribed_streams(self) -> int:
        """Open, authenticated, unmuted connections subscribed to at least one symbol's bars."""
        return sum(c.authed and bool(c.bars) and not c.muted and not c.ws.closed for c in self._conns)

    @property
    def open_streams(self) -> int:
        """Websocket connections open now."""
        return sum(not c.ws.closed for c in self._conns)

    # handlers ------------------------------------------------------------------------------
    async def _bars(self, request: web.Request) -> web.Response:
        self.requests += 1
        h = request.headers
        if (h.get("APCA-API-KEY-ID"), h.get("APCA-API-SECRET-KEY")) != self._keys:
            return web.json_response({"message": "forbidden."}, status=403)
        if self._fail:
            status, message = self._fail.pop(0)
            return web.json_response({"message": message}, status=status)
        q = request.query
        if q.get("timeframe") != self.timeframe:
            return web.json_response({"code": 42210000, "message": f"invalid timeframe {q.get('timeframe')!r}"},
                                     status=422)
        try:
            symbols = {s for s in q.get("symbols", "").split(",") if s}
            start = pd.Timestamp(q["start"]).value if q.get("start") else None
            end = pd.Timestamp(q["end"]).value if q.get("end") else None
            offset = int(base64.b64decode(q["page_token"]).decode()) if q.get("page_token") else 0
            limit = min(int(q.get("limit") or 1000), 10_000, self.page_size)
        except (ValueError, KeyError) as exc:
            return web.json_response({"code": 40010001, "message": f"invalid query: {exc}"}, status=400)
        horizon = int(self.timestamps[self.released - 1]) if self.released else None
        rows = [
            r for r in self._rows
            if r[1] in symbols and horizon is not None and r[0] <= horizon
            and (start is None or r[0] >= start) and (end is None or r[0] <= end)
        ]
        page = rows[offset:offset + limit]
        out: dict[str, list[dict[str, Any]]] = {}
        for _, symbol, bar in page:
            out.setdefault(symbol, []).append(bar)
        more = offset + limit < len(rows)
        token = base64.b64encode(str(offset + limit).encode()).decode() if more else None
        return web.json_response({"bars": out, "next_page_token": token})

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Conn(ws)
        self._conns.append(conn)
        self.connections += 1
        try:
            await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "connected"}]))
            async for msg in ws:
                if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                    continue
                data = msgpack.unpackb(msg.data if msg.type == WSMsgType.BINARY else msg.data.encode())
                await self._on_message(conn, data)
        finally:
            self._conns.remove(conn)
        return ws

    async def _on_message(self, conn: _Conn, data: Any) -> None:
        action = data.get("action") if isinstance(data, dict) else None
        if action == "auth":
            if (data.get("key"), data.get("secret")) == self._keys:
                conn.authed = True
                await conn.ws.send_bytes(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
            else:
                await conn.ws.send_bytes(msgpack.packb([{"T": "error", "code": 402, "msg": "auth failed"}]))
                await conn.ws.close()
        elif action in ("subscribe", "unsubscribe"):
            if not conn.authed:
                await conn.ws.send_bytes(msgpack.packb([{"T": "error", "code": 401, "msg": "not authenticated"}]))
                return
            symbols = set(data.get("bars", []))
            conn.bars = conn.bars | symbols if action == "subscribe" else conn.bars - symbols
            channels = ("trades", "quotes", "updatedBars", "dailyBars", "statuses", "lulds", "corrections",
                        "cancelErrors")
            ack = {"T": "subscription", **{c: [] for c in channels}, "bars": sorted(conn.bars)}
            await conn.ws.send_bytes(msgpack.packb([ack]))
        else:
            await conn.ws.send_bytes(msgpack.packb([{"T": "error", "code": 400, "msg": "invalid syntax"}]))

    async def _send_bars(self, ts: int) -> None:
        bars = [(s, b) for t, s, b in self._rows if t == ts]
        for conn in list(self._conns):
            if conn.muted or not conn.authed or conn.ws.closed:
                continue
            msgs = [_stream_bar(s, b, ts) for s, b in bars if s in conn.bars or "*" in conn.bars]
            if msgs:
                try:
                    await conn.ws.send_bytes(msgpack.packb(msgs, datetime=False))
                except (ConnectionError, RuntimeError):
                    pass  # closing under us: that connection misses these bars, as over a real network


def _stream_bar(symbol: str, bar: Mapping[str, Any], ts: int) -> dict[str, Any]:
    msg: dict[str, Any] = {"T": "b", "S": symbol, **{k: bar[k] for k in _FIELDS}}
    msg["t"] = msgpack.Timestamp.from_unix_nano(ts)
    for k in ("n", "vw"):
        if k in bar:
            msg[k] = bar[k]
    return msg


def _rfc3339(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
