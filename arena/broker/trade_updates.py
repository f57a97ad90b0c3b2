"""Paper fills as they happen: alpaca-py's ``TradingStream`` (the account's ``trade_updates``
websocket) in a daemon thread, each update's order handed to a callback.

Polling (``GET /v2/orders/{id}``) stays as the fallback of the mirror: an update missed while
the stream reconnects is found by the next poll, and the reconciler takes each order state
once (its records are keyed by the order's status and quantities).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from arena.broker.keys import PaperKeys

__all__ = ["PAPER_STREAM_URL", "TradeUpdatesListener", "stream_url_of"]

log = logging.getLogger(__name__)

PAPER_STREAM_URL = "wss://paper-api.alpaca.markets/stream"
"""Alpaca's trade-updates websocket of paper accounts (what ``TradingStream(paper=True)`` uses)."""


def stream_url_of(rest_url: str | None) -> str | None:
    """The trade-updates websocket beside a trading REST base URL, as Alpaca lays them out
    (``https://paper-api.alpaca.markets`` → ``wss://paper-api.alpaca.markets/stream``);
    None for None (alpaca-py's paper default)."""
    if rest_url is None:
        return None
    scheme, sep, rest = rest_url.partition("://")
    return f"{'wss' if scheme == 'https' else 'ws'}{sep}{rest.rstrip('/')}/stream"


class TradeUpdatesListener:
    """Listens to one paper account's trade updates and calls ``on_order(order)`` with the
    update's :class:`alpaca.trading.models.Order` (from the stream's thread).

    Args:
        keys: the account's keys.
        on_order: called with each update's order; it must only queue (it runs in the stream's loop).
        url: the websocket URL (``url_override``); None = :data:`PAPER_STREAM_URL`.

    ``stop()`` closes the stream and joins its thread (at most ``timeout_s``).
    """

    def __init__(self, keys: PaperKeys, on_order: Callable[[Any], None], url: str | None = None) -> None:
        from alpaca.trading.stream import TradingStream

        # None = alpaca's own URL: TradingStream defaults url_override to None but types it str
        self._stream = TradingStream(
            keys.key_id, keys.secret_key, paper=True, url_override=url  # type: ignore[arg-type]
        )
        self.updates = 0
        """Trade updates received."""

        async def handler(update: Any) -> None:
            self.updates += 1
            on_order(update.order)

        self._stream.subscribe_trade_updates(handler)
        self._thread = threading.Thread(target=self._stream.run, name="paper-trade-updates", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the websocket and end the thread."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self._thread.is_alive():
            loop = getattr(self._stream, "_loop", None)
            if loop is not None and loop.is_running():
                try:
                    self._stream.stop()
                except RuntimeError:  # the loop ended meanwhile
                    pass
                break
            time.sleep(0.05)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.warning("the trade-updates stream did not stop within %g s (a daemon thread: it ends with the "
                        "process)", timeout_s)
