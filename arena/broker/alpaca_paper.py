"""One mirrored contender's Alpaca paper account: orders submitted in the background,
fills taken from the account's trade-updates stream (:mod:`arena.broker.trade_updates`) and
polled (``GET /v2/orders/{id}``) as the fallback, reconciled.

The arena never waits for the broker: :meth:`PaperMirror.submit` and
:meth:`PaperMirror.on_fills` only queue; one worker thread per mirror talks to the account
with alpaca-py's ``TradingClient(paper=True)``. Idempotency: every order carries the arena's
``client_order_id`` (run-scoped, :func:`~arena.broker.types.broker_client_order_id`); when a
retried submission meets Alpaca's ``422 client_order_id must be unique``, the order already
exists, and it is looked up (``GET /v2/orders:by_client_order_id``) instead of being sent
again. Rate limits (HTTP 429), server errors (5xx) and outages (connection refused, timeouts)
are retried with exponential backoff and jitter (tenacity) and reported once per episode:
one ``BROKER_UNAVAILABLE`` event and warning when it begins, one ``BROKER_RECOVERED`` with
the retries counted when a call succeeds again. A refused order (other 4xx) is a
``REJECTED`` reconciliation row; an authentication failure (401, or 403 ``forbidden``)
is reported once (``BROKER_AUTH_FAILED``) and the orders that follow are rejected
without being sent.

Sources: Alpaca Trading API, Orders (https://docs.alpaca.markets/reference/postorder),
Streaming trade updates (https://docs.alpaca.markets/docs/websocket-streaming).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests
import tenacity
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest, StopOrderRequest

from arena.broker.keys import PaperKeys
from arena.broker.reconcile import Reconciler
from arena.broker.types import InternalFill, MirrorOrder, broker_client_order_id
from arena.records import EventRecord

__all__ = ["PaperMirror", "Sink", "paper_client"]

log = logging.getLogger(__name__)

Sink = Callable[[dict[str, list[Any]]], None]
"""Where a mirror's records go: called with ``{table: [records]}`` (``reconciliation``,
``events``) from its worker thread."""

DUPLICATE_CODE = 40010001
"""Alpaca's error code of ``client_order_id must be unique`` (HTTP 422)."""


class _TimeoutAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with a default timeout (seconds): alpaca-py's session has none, so a
    broker that stops answering would hold the mirror's thread forever."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__()
        self._timeout_s = timeout_s

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]  # noqa: D102 - forwards requests' own arguments
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout_s
        return super().send(request, **kwargs)


def paper_client(keys: PaperKeys, url: str | None = None, timeout_s: float = 10.0) -> TradingClient:
    """alpaca-py's ``TradingClient(paper=True)`` for one account, at ``url`` (``url_override``;
    None = Alpaca's paper endpoint), each request bounded by ``timeout_s`` seconds.

    alpaca-py retries HTTP 429/504 itself, three times 3 s apart, blocking, then raises; that
    retry is turned off here (its ``_retry`` count, alpaca-py 0.44, pinned in uv.lock), so that
    :class:`PaperMirror`'s backoff alone decides and reports."""
    client = TradingClient(keys.key_id, keys.secret_key, paper=True, url_override=url)
    client._retry = 0  # noqa: SLF001 - see the docstring
    adapter = _TimeoutAdapter(timeout_s)
    client._session.mount("http://", adapter)  # noqa: SLF001 - the SDK's requests session
    client._session.mount("https://", adapter)  # noqa: SLF001
    return client


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, APIError) else None


def _transient(exc: BaseException) -> bool:
    """Worth retrying: rate limited (429), request timeout (408), a server error (5xx), or no answer."""
    if isinstance(exc, requests.exceptions.RequestException):
        return True
    code = _status(exc)
    return code is not None and (code in (408, 429) or code >= 500)


def _message(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        try:
            return f"HTTP {exc.status_code}: {exc.message}"
        except (ValueError, KeyError, TypeError):
            return f"HTTP {exc.status_code}: {str(exc)[:200]}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _is_duplicate(exc: BaseException) -> bool:
    if _status(exc) != 422:
        return False
    try:
        return exc.code == DUPLICATE_CODE or "client_order_id must be unique" in exc.message  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return "client_order_id must be unique" in str(exc)


def _is_auth_failure(exc: BaseException) -> bool:
    code = _status(exc)
    if code == 401:
        return True
    if code != 403:
        return False
    text = str(exc).lower()
    return "forbidden." in text or "not authorized" in text or "unauthorized" in text


def _ns(value: Any) -> int | None:
    return None if value is None else int(value.timestamp() * 1e9)


def _order_request(order: MirrorOrder, client_order_id: str) -> Any:
    common = {
        "symbol": order.symbol,
        "qty": order.quantity,
        "side": OrderSide.BUY if order.side == "BUY" else OrderSide.SELL,
        "time_in_force": TimeInForce(order.time_in_force.lower()),
        "client_order_id": client_order_id,
    }
    if order.order_type == "LIMIT":
        return LimitOrderRequest(limit_price=order.limit_price, **common)
    if order.order_type == "STOP":
        return StopOrderRequest(stop_price=order.stop_price, **common)
    return MarketOrderRequest(**common)


class PaperMirror:
    """Mirrors one contender's approved orders to its Alpaca paper account and reconciles
    the fills (see the module notes).

    Args:
        run_id: the run (scopes the ``client_order_id`` sent).
        contender: the mirrored contender.
        client: its account's ``TradingClient`` (:func:`paper_client`).
        sink: receives the records made (:data:`Sink`), from the worker thread.
        poll_every_s: seconds between polls of the working paper orders.
        updates: subscribe a trade-updates listener: ``updates(on_order)`` starts one (e.g.
            :class:`~arena.broker.trade_updates.TradeUpdatesListener`) whose orders are
            reconciled as they come; polling stays as the fallback. None: polling only.
        min_backoff_s, max_backoff_s: first and longest wait between retries (seconds).
        clock: monotonic clock (seconds).

    Call :meth:`close` at the run's end: it waits (at most ``settle_s``) for working
    orders to fill, records the unfilled ones, and stops the thread.
    """

    def __init__(
        self,
        run_id: str,
        contender: str,
        client: TradingClient,
        sink: Sink,
        *,
        poll_every_s: float = 2.0,
        updates: Callable[[Callable[[Any], None]], Any] | None = None,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.contender = contender
        self._client = client
        self._sink = sink
        self._poll_every_s = poll_every_s
        self._min_backoff_s = min_backoff_s
        self._max_backoff_s = max_backoff_s
        self._clock = clock
        self.reconciler = Reconciler(run_id, contender)
        self._jobs: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._working: dict[str, str] = {}  # arena coid → broker order id, not ended on paper
        self._stop = threading.Event()
        self._out: dict[str, list[Any]] = {}
        self._down_since: float | None = None
        self._retries = 0
        self._auth_failed: str | None = None
        self.episodes = 0
        """Broker trouble episodes reported (each one event and one warning)."""
        self.submitted = 0
        """Orders the paper account holds (accepted, or found there after a retried submission)."""
        self._thread = threading.Thread(target=self._run, name=f"paper-mirror-{contender}", daemon=True)
        self._thread.start()
        self._listener = updates(lambda order: self._jobs.put(("update", order))) if updates is not None else None

    # ------------------------------------------------------------------ the arena's side (never blocks)
    def submit(self, order: MirrorOrder) -> None:
        """Queue an approved order for the paper account."""
        self._jobs.put(("order", order))

    def on_fills(self, fills: Sequence[InternalFill]) -> None:
        """Queue internal fills of the contender, to reconcile."""
        if fills:
            self._jobs.put(("fills", list(fills)))

    def close(self, settle_s: float = 10.0) -> dict[str, Any]:
        """Wait at most ``settle_s`` seconds for the queued orders to be sent and the working
        ones to fill, then record the rest as unfilled and stop; returns
        :meth:`Reconciler.summary` plus ``episodes`` (broker trouble reported) and ``submitted``."""
        self._jobs.put(("close", self._clock() + settle_s))
        self._thread.join(settle_s + 1.0)
        if self._thread.is_alive():  # stuck retrying an outage: stop the retries
            self._stop.set()
            self._thread.join(30.0)
        if self._listener is not None:
            self._listener.stop()
        return {**self.reconciler.summary(), "episodes": self.episodes, "submitted": self.submitted}

    # ------------------------------------------------------------------ the worker thread
    def _run(self) -> None:
        deadline: float | None = None
        next_poll = self._clock() + self._poll_every_s
        while True:
            now = self._clock()
            if deadline is not None and (now >= deadline or (not self._working and self._jobs.empty())):
                break
            wait = max(0.0, min(next_poll, deadline or next_poll) - now)
            try:
                kind, item = self._jobs.get(timeout=wait if self._working or deadline else None)
            except queue.Empty:
                kind, item = "", None
            try:
                if kind == "close":
                    deadline = item
                elif kind == "order":
                    self._send(item)
                elif kind == "fills":
                    for fill in item:
                        self._emit(self.reconciler.internal_fill(fill))
                elif kind == "update" and self._arena_id(item.client_order_id) in self._working:
                    self._paper(item)  # a trade update: reconciled now, not at the next poll
                if self._clock() >= next_poll:
                    self._poll()
                    next_poll = self._clock() + self._poll_every_s
            except _Stopped:
                break
            except Exception:  # noqa: BLE001 - a bug here must not end the mirror; the arena goes on
                log.exception("paper mirror of %r: unexpected error (the mirror goes on)", self.contender)
            self._flush()
        while not self._jobs.empty():  # what came after the end: fills still count
            kind, item = self._jobs.get_nowait()
            if kind == "order":  # never sent: recorded as unfilled
                self.reconciler.expect(item)
            elif kind == "fills":
                for fill in item:
                    self._emit(self.reconciler.internal_fill(fill))
        self._emit(self.reconciler.finish())
        self._flush()

    def _send(self, order: MirrorOrder) -> None:
        self.reconciler.expect(order)
        coid = order.client_order_id
        if self._auth_failed is not None:
            self._emit(self.reconciler.rejected(coid, f"not sent: {self._auth_failed}"))
            return
        sent_id = broker_client_order_id(self.run_id, coid)
        request = _order_request(order, sent_id)
        try:
            placed = self._call(lambda: self._client.submit_order(request))
        except _Stopped:
            raise
        except APIError as exc:
            if _is_duplicate(exc):  # an earlier try reached the broker: the order is there already
                try:
                    placed = self._call(lambda: self._client.get_order_by_client_id(sent_id))
                except APIError as again:
                    self._emit(self.reconciler.rejected(coid, _message(again)))
                    return
            elif _is_auth_failure(exc):
                self._auth(exc)
                self._emit(self.reconciler.rejected(coid, _message(exc)))
                return
            else:
                self._emit(self.reconciler.rejected(coid, _message(exc)))
                return
        self.submitted += 1
        self._working[coid] = str(placed.id)
        self._paper(placed)

    def _paper(self, order: Any) -> None:
        coid = self._arena_id(order.client_order_id)
        if coid is None:
            return
        status = order.status.value if hasattr(order.status, "value") else str(order.status)
        ended = order.filled_at if status == "filled" else (order.canceled_at or order.expired_at or order.failed_at)
        self._emit(
            self.reconciler.paper_update(
                coid,
                broker_order_id=str(order.id),
                status=status,
                filled_qty=float(order.filled_qty or 0.0),
                filled_avg_price=float(order.filled_avg_price) if order.filled_avg_price else None,
                broker_ts_ns=_ns(ended or order.filled_at),
                reason=None if status in ("filled", "partially_filled") else f"paper order {status}",
            )
        )
        if status in ("filled", "canceled", "expired", "rejected", "done_for_day", "replaced"):
            self._working.pop(coid, None)

    def _poll(self) -> None:
        for coid, broker_id in list(self._working.items()):
            try:
                order = self._call(lambda b=broker_id: self._client.get_order_by_id(b))  # type: ignore[misc]  # mypy cannot infer a lambda with default arguments
            except APIError as exc:
                log.warning("paper mirror of %r: polling order %s failed (%s)", self.contender, coid, _message(exc))
                continue
            self._paper(order)

    def _arena_id(self, sent_id: str) -> str | None:
        prefix = broker_client_order_id(self.run_id, "")
        return sent_id[len(prefix):] if sent_id.startswith(prefix) else None

    def _call(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, retried with backoff while the broker is rate limiting or unreachable."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_transient),
            wait=tenacity.wait_exponential_jitter(
                multiplier=self._min_backoff_s, max=self._max_backoff_s, jitter=self._min_backoff_s
            ),
            stop=tenacity.stop_when_event_set(self._stop),
            before_sleep=self._trouble,
            # returns at once when the run's end stops the retries (its bool, which tenacity's type forbids, is unused)
            sleep=self._stop.wait,  # type: ignore[arg-type]
            reraise=True,
        )
        try:
            out = retrying(fn)
        except Exception as exc:
            if _transient(exc):
                raise _Stopped from exc
            self._recovered()
            raise
        self._recovered()
        return out

    def _trouble(self, state: tenacity.RetryCallState) -> None:
        self._retries += 1
        if self._down_since is not None:
            return
        self._down_since = self._clock()
        self.episodes += 1
        exc = state.outcome.exception() if state.outcome is not None else None
        why = _message(exc) if exc is not None else "unknown"
        log.warning("paper mirror of %r: the broker is unavailable (%s); retrying with backoff in the background "
                    "(reported once until it is back; the arena goes on)", self.contender, why)
        self._event("BROKER_UNAVAILABLE", f"paper account of {self.contender!r}: {why}; retrying with backoff",
                    {"error": why})

    def _recovered(self) -> None:
        if self._down_since is None:
            return
        down_s = self._clock() - self._down_since
        log.info("paper mirror of %r: the broker answers again after %.1f s (%d retries)", self.contender, down_s,
                 self._retries)
        self._event("BROKER_RECOVERED", f"paper account of {self.contender!r} answers again after {down_s:.1f} s",
                    {"down_s": down_s, "retries": self._retries})
        self._down_since, self._retries = None, 0

    def _auth(self, exc: BaseException) -> None:
        if self._auth_failed is not None:
            return
        self._auth_failed = _message(exc)
        log.error("paper mirror of %r: the paper account refused the keys (%s); its orders are no longer sent",
                  self.contender, self._auth_failed)
        self._event("BROKER_AUTH_FAILED", f"paper account of {self.contender!r} refused the keys: "
                    f"{self._auth_failed}; mirroring stopped", {"error": self._auth_failed})

    def _event(self, kind: str, reason: str, details: dict[str, Any]) -> None:
        self._out.setdefault("events", []).append(
            EventRecord(self.run_id, time.time_ns(), self.contender, kind, reason, details)
        )
        self._flush()

    def _emit(self, records: list[Any]) -> None:
        if records:
            self._out.setdefault("reconciliation", []).extend(records)

    def _flush(self) -> None:
        if not self._out:
            return
        out, self._out = self._out, {}
        try:
            self._sink(out)
        except Exception:  # noqa: BLE001 - the records are lost to the store, never the arena
            log.exception("paper mirror of %r: could not hand %s records on", self.contender, sorted(out))


class _Stopped(Exception):
    """The run's end stopped a retry (the broker was still unavailable)."""
