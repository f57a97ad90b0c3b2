"""Publishing a run's live events to its Redis Stream, without ever holding up trading."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from arena.live.schema import encode_entry, redact_url, stream_key, validate_events_url

__all__ = ["DEFAULT_MAXLEN", "RedisEventStream"]

log = logging.getLogger(__name__)

DEFAULT_MAXLEN = 100_000
"""Default cap on a run's stream length (entries, approximate: ``XADD ... MAXLEN ~``)."""


class RedisEventStream:
    """Appends a run's events to the Redis Stream ``arena:events:<run_id>``.

    Each event becomes one entry ``{kind, data}`` (see :mod:`arena.live.schema`),
    added with ``XADD key MAXLEN ~ maxlen * kind K data JSON``: Redis trims the
    oldest entries in whole internal nodes, so the stream holds at least
    ``maxlen`` entries once that many were published and at most about
    ``maxlen`` + 100 (one node, ``stream-node-max-entries``). Events are sent
    pipelined, ``batch_size`` per round trip.

    Redis trouble never reaches the caller and never holds trading up for long:

    * the first failure logs ONE warning naming the URL; the events of that call
      and every later one are dropped from the live stream (they are still
      recorded in the audit store) and counted in :attr:`dropped`;
    * while down, a reconnection is tried at most every ``retry_every_s``
      seconds (a publish in between returns at once); each try waits at most
      ``connect_timeout_s``;
    * when a reconnection succeeds, ONE info line says so (with the drop count).

    Args:
        url: ``redis://host:port/db`` or ``rediss://`` (TLS).
        run_id: the run whose stream this is.
        maxlen: approximate cap on the stream's entries (default 100 000).
        batch_size: entries per pipelined round trip.
        retry_every_s: least time between reconnection tries while Redis is down (seconds).
        connect_timeout_s: TCP connect timeout (seconds).
        socket_timeout_s: timeout of one round trip (seconds).
        clock: monotonic clock (seconds), replaceable in tests.

    Raises:
        ValueError: if ``url`` is not a redis:// or rediss:// URL, or a number is out of range.

    Examples:
        >>> stream = RedisEventStream("redis://127.0.0.1:6379/0", "demo-run")  # doctest: +SKIP
        >>> stream.publish("fill", {"contender": "sma", "symbol": "AAPL", "quantity": 10.0})  # doctest: +SKIP
        True
    """

    def __init__(
        self,
        url: str,
        run_id: str,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        batch_size: int = 1000,
        retry_every_s: float = 3.0,
        connect_timeout_s: float = 0.5,
        socket_timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        validate_events_url(url)
        if maxlen < 1:
            raise ValueError(f"maxlen must be >= 1 entries, got {maxlen}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if retry_every_s < 0:
            raise ValueError(f"retry_every_s must be >= 0 seconds, got {retry_every_s}")
        self.url = url
        self.run_id = run_id
        self.key = stream_key(run_id)
        self.maxlen = int(maxlen)
        self.batch_size = int(batch_size)
        self.retry_every_s = float(retry_every_s)
        self._connect_timeout_s = connect_timeout_s
        self._socket_timeout_s = socket_timeout_s
        self._clock = clock
        self._client: redis.Redis | None = None
        self._down = False
        self._next_try = 0.0
        self.published = 0
        """Entries written to the stream so far."""
        self.dropped = 0
        """Events not written because Redis was unreachable (they are in the store)."""

    @property
    def is_down(self) -> bool:
        """True from a failure until the next successful reconnection."""
        return self._down

    def publish(self, kind: str, payload: dict[str, Any]) -> bool:
        """Append one event. Returns True if it reached the stream, False if it was dropped.

        Raises:
            ValueError: unknown ``kind``; TypeError: a payload value of no JSON form.
        """
        return self.publish_many([(kind, payload)]) == 1

    def publish_many(self, events: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Append events in order, pipelined ``batch_size`` per round trip.

        Args:
            events: ``(kind, payload)`` pairs.

        Returns:
            How many reached the stream (the rest were dropped; see the class notes).

        Raises:
            ValueError: unknown ``kind``; TypeError: a payload value of no JSON form
                (checked before anything is sent).
        """
        entries = [encode_entry(kind, payload) for kind, payload in events]
        if not entries:
            return 0
        client = self._connection()
        if client is None:
            self.dropped += len(entries)
            return 0
        sent = 0
        try:
            for lo in range(0, len(entries), self.batch_size):
                pipe = client.pipeline(transaction=False)
                for fields in entries[lo : lo + self.batch_size]:
                    # a dict[str, str] is a valid field map; redis-py's invariant dict type says otherwise
                    pipe.xadd(self.key, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
                pipe.execute()
                sent += min(self.batch_size, len(entries) - lo)
        except (redis.RedisError, OSError) as exc:
            self._went_down(exc)
            self.dropped += len(entries) - sent
        self.published += sent
        return sent

    def close(self) -> None:
        """Close the connection (publishing later reconnects)."""
        if self._client is not None:
            try:
                self._client.close()
            except (redis.RedisError, OSError):
                pass
            self._client = None

    # ------------------------------------------------------------------ internals
    def _connection(self) -> redis.Redis | None:
        if self._client is not None:
            return self._client
        now = self._clock()
        if self._down and now < self._next_try:
            return None
        client = redis.Redis.from_url(
            self.url,
            socket_connect_timeout=self._connect_timeout_s,
            socket_timeout=self._socket_timeout_s,
            retry=Retry(NoBackoff(), 0),  # no hidden retries: this class decides when to retry
        )
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            client.close()
            self._went_down(exc)
            return None
        if self._down:
            log.info(
                "live events: redis at %s is reachable again; publishing run %s resumes "
                "(%d events were dropped from the live stream meanwhile; they are in the store)",
                redact_url(self.url),
                self.run_id,
                self.dropped,
            )
        self._down = False
        self._client = client
        return client

    def _went_down(self, exc: BaseException) -> None:
        self.close()
        self._next_try = self._clock() + self.retry_every_s
        if self._down:
            log.debug("live events: redis at %s still unreachable: %s", redact_url(self.url), exc)
            return
        self._down = True
        log.warning(
            "live events: redis at %s is unreachable (%s: %s); events of run %s are dropped from the live "
            "stream until it is back (they are still recorded in the store); retrying at most every %g s",
            redact_url(self.url),
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
            self.run_id,
            self.retry_every_s,
        )
