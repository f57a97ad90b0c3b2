"""A local server that speaks Alpaca's trading wire formats, for the paper-mirror tests.

Started by test fixtures on loopback; the real alpaca-py ``TradingClient`` is pointed at it
with ``url_override``. Its answers are built from recorded real-format payloads
(``alpaca_payloads/``: the documented order and account schemas, the SDK's fixtures as
reference, and Alpaca's error bodies):

* ``POST /v2/orders``: creates an ``accepted`` order; a repeated ``client_order_id`` answers
  ``422 {"code": 40010001, "message": "client_order_id must be unique"}``;
* ``GET /v2/orders/{id}``, ``GET /v2/orders:by_client_order_id?client_order_id=``, ``GET /v2/account``;
* wrong keys answer ``403 {"message": "forbidden."}``;
* the trade-updates websocket at ``stream_url`` (``ws://127.0.0.1:<port>/stream``), as
  alpaca-py's ``TradingStream`` speaks it: ``{"action": "authenticate", "data": {key_id,
  secret_key}}`` → ``{"stream": "authorization", "data": {"status": "authorized", ...}}``,
  ``{"action": "listen", ...}`` → ``{"stream": "listening", ...}``, then one
  ``{"stream": "trade_updates", "data": {"event": "fill", "order": {...}, ...}}`` per fill.

An order fills in full at the first read of it (``fill="immediate"``, the default), or at
once when it is created, announced on the trade-updates stream (``fill="stream"``; reads
then find it filled), at ``fill_prices[symbol]`` (so a test sets a paper price that differs from the internal one),
or stays working (``fill="never"``), or is rejected (``fill="reject"``). Faults are queued
per route with :meth:`AlpacaTradingServer.fail_next`: ``rate_limited`` (429) answers, or
an ``internal_error`` (500) returned *after* the order was created (a submission whose
answer was lost, so a retry meets the duplicate).
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import uuid
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAYLOADS = Path(__file__).parent / "alpaca_payloads"
_ORDER = json.loads((PAYLOADS / "order.json").read_text())
_ACCOUNT = json.loads((PAYLOADS / "account.json").read_text())
ERRORS: dict[str, dict[str, Any]] = json.loads((PAYLOADS / "errors.json").read_text())


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class AlpacaTradingServer:
    """The server; ``url`` is its base URL (``http://127.0.0.1:<port>``), for ``url_override``.

    Args:
        key_id, secret_key: the only keys it accepts.
        fill_prices: symbol → paper fill price (USD); a symbol without one fills at 100.0.
        fill: ``immediate`` | ``never`` | ``reject`` | ``stream``.
    """

    def __init__(
        self, key_id: str = "PKTEST", secret_key: str = "SECRET", fill_prices: dict[str, float] | None = None,
        fill: str = "immediate",
    ) -> None:
        self.key_id, self.secret_key = key_id, secret_key
        self.fill_prices = dict(fill_prices or {})
        self.fill = fill
        self.orders: dict[str, dict[str, Any]] = {}  # broker id → order payload
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self._faults: dict[str, deque[str]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="alpaca-trading-server", daemon=True)
        self._loop = asyncio.new_event_loop()
        self._listeners: set[Any] = set()
        self.stream_messages: list[dict[str, Any]] = []  # what the stream sent, in order
        self._ws_ready = threading.Event()
        self._ws_thread = threading.Thread(target=self._serve_stream, name="alpaca-trade-updates", daemon=True)
        self.stream_url = ""

    def start(self) -> AlpacaTradingServer:
        """Serve REST and the trade-updates stream in daemon threads; returns itself."""
        self._thread.start()
        self._ws_thread.start()
        self._ws_ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._loop.call_soon_threadsafe(self._loop.stop)

    # ------------------------------------------------------------------ trade-updates stream
    def _serve_stream(self) -> None:
        from websockets.asyncio.server import serve

        async def session(ws: Any) -> None:
            auth = json.loads(await ws.recv())
            data = auth.get("data") or {}
            ok = data.get("key_id") == self.key_id and data.get("secret_key") == self.secret_key
            await ws.send(json.dumps({"stream": "authorization", "data": {
                "action": "authenticate", "status": "authorized" if ok else "unauthorized"}}))
            if not ok:
                return
            listen = json.loads(await ws.recv())
            streams = (listen.get("data") or {}).get("streams", [])
            await ws.send(json.dumps({"stream": "listening", "data": {"streams": streams}}))
            self._listeners.add(ws)
            try:
                await ws.wait_closed()
            finally:
                self._listeners.discard(ws)

        async def main() -> None:
            server = await serve(session, "127.0.0.1", 0)
            port = next(iter(server.sockets)).getsockname()[1]
            self.stream_url = f"ws://127.0.0.1:{port}/stream"
            self._ws_ready.set()
            await asyncio.Future()  # until the loop is stopped

        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(main())
        except RuntimeError:  # the loop was stopped
            pass

    def listening(self) -> int:
        """Trade-updates clients authenticated and listening."""
        return len(self._listeners)

    def _announce(self, event: str, order: dict[str, Any]) -> None:
        message = {"stream": "trade_updates", "data": {
            "event": event, "execution_id": str(uuid.uuid4()), "order": copy.deepcopy(order), "timestamp": _now(),
            "price": order.get("filled_avg_price"), "qty": order.get("filled_qty"),
            "position_qty": order.get("filled_qty")}}
        self.stream_messages.append(message)
        text = json.dumps(message)

        async def send_all() -> None:
            for ws in list(self._listeners):
                await ws.send(text)

        asyncio.run_coroutine_threadsafe(send_all(), self._loop)

    def fail_next(self, route: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` requests of ``route`` (``POST /v2/orders``, ``GET /v2/orders/{id}``)
        with the recorded ``error`` of ``errors.json`` (``rate_limited``, ``internal_error``, …)."""
        with self._lock:
            self._faults.setdefault(route, deque()).extend([error] * times)

    def orders_with(self, client_order_id: str) -> list[dict[str, Any]]:
        """The orders the server holds under ``client_order_id``."""
        return [o for o in self.orders.values() if o["client_order_id"] == client_order_id]

    def answered(self, method: str, path_prefix: str, status: int | None = None) -> int:
        """How many requests of ``method`` on a path starting with ``path_prefix`` (with ``status``) were answered."""
        return sum(1 for m, p, s in self.requests if m == method and p.startswith(path_prefix)
                   and (status is None or s == status))

    # ------------------------------------------------------------------ order book
    def _fault(self, route: str) -> str | None:
        with self._lock:
            q = self._faults.get(route)
            return q.popleft() if q else None

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        for key in ("symbol", "side", "type", "time_in_force"):
            if key not in body:
                return 422, {"code": 40010000, "message": f"{key} is required"}
        with self._lock:
            if self.orders_with(body.get("client_order_id", "")):
                return ERRORS["duplicate_client_order_id"]["status"], ERRORS["duplicate_client_order_id"]["body"]
            order = copy.deepcopy(_ORDER)
            now = _now()
            order.update(
                id=str(uuid.uuid4()), client_order_id=body.get("client_order_id") or str(uuid.uuid4()),
                created_at=now, updated_at=now, submitted_at=now, symbol=body["symbol"], qty=str(body.get("qty")),
                side=body["side"], type=body["type"], order_type=body["type"], time_in_force=body["time_in_force"],
                limit_price=body.get("limit_price"), stop_price=body.get("stop_price"), status="accepted",
                position_intent="buy_to_open" if body["side"] == "buy" else "sell_to_close",
            )
            self.orders[order["id"]] = order
            answer = copy.deepcopy(order)
            if self.fill == "stream":  # fills at once, told on the stream (the answer still says accepted)
                price = self.fill_prices.get(order["symbol"], 100.0)
                order.update(status="filled", filled_qty=order["qty"], filled_avg_price=f"{price:.4f}",
                             filled_at=now, updated_at=now)
                self._announce("fill", order)
            return 200, answer

    def _read(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order as a read finds it: filled (or rejected) at the first read, per ``fill``."""
        with self._lock:
            if order["status"] == "accepted" and self.fill != "never":
                now = _now()
                if self.fill == "reject":
                    order.update(status="rejected", failed_at=now, updated_at=now)
                else:
                    price = self.fill_prices.get(order["symbol"], 100.0)
                    order.update(status="filled", filled_qty=order["qty"], filled_avg_price=f"{price:.4f}",
                                 filled_at=now, updated_at=now)
            return copy.deepcopy(order)


def _handler(server: AlpacaTradingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            server.requests.append((self.command, urlsplit(self.path).path, status))  # before the client reads it
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            ok = (self.headers.get("APCA-API-KEY-ID") == server.key_id
                  and self.headers.get("APCA-API-SECRET-KEY") == server.secret_key)
            if not ok:
                self._answer(ERRORS["forbidden"]["status"], ERRORS["forbidden"]["body"])
            return ok

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if not self._authorized():
                return
            path = urlsplit(self.path).path
            if path != "/v2/orders":
                return self._answer(404, {"message": "Not Found"})
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            fault = server._fault("POST /v2/orders")
            if fault == "internal_error":  # created, but the answer is lost
                server._create(body)
            if fault is not None:
                return self._answer(ERRORS[fault]["status"], ERRORS[fault]["body"])
            self._answer(*server._create(body))

        def do_GET(self) -> None:  # noqa: N802
            if not self._authorized():
                return
            parts = urlsplit(self.path)
            if parts.path == "/v2/account":
                return self._answer(200, _ACCOUNT)
            if parts.path == "/v2/orders:by_client_order_id":
                coid = parse_qs(parts.query).get("client_order_id", [""])[0]
                found = server.orders_with(coid)
                if not found:
                    return self._answer(ERRORS["order_not_found"]["status"], ERRORS["order_not_found"]["body"])
                return self._answer(200, server._read(found[0]))
            if parts.path.startswith("/v2/orders/"):
                fault = server._fault("GET /v2/orders/{id}")
                if fault is not None:
                    return self._answer(ERRORS[fault]["status"], ERRORS[fault]["body"])
                order = server.orders.get(parts.path.rsplit("/", 1)[1])
                if order is None:
                    return self._answer(ERRORS["order_not_found"]["status"], ERRORS["order_not_found"]["body"])
                return self._answer(200, server._read(order))
            self._answer(404, {"message": "Not Found"})

    return Handler
