"""Answers about ended runs, kept: a run that has ended never changes, so the API answers a
repeated request about it from memory instead of the store.

:class:`EndedRunCache` is an ASGI middleware in front of the API. It keeps the whole answer
(status, headers, body) of a ``GET`` under ``/runs/{run_id}/…`` or ``/decisions/{decision_id}…``
when the answer is 200 and the run has ended for good (a status of
:data:`CACHEABLE_STATUSES`: not ``running``, and not ``stopped``, which may be resumed). The
run's status is read from the store once per run when it has ended, and at most once every
``recheck_s`` seconds while it runs. Answers that depend on other runs (``/runs/{id}/trials``:
the trials register of the run's data grows with later runs) and the live event stream are
never kept. At most ``max_bytes`` of bodies are kept per process (each Serve replica has its
own), least recently used first out (``cachetools.LRUCache``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from cachetools import LRUCache, TTLCache

__all__ = ["CACHEABLE_STATUSES", "EndedRunCache", "run_of_path"]

CACHEABLE_STATUSES = frozenset({"finished", "finished_with_failures", "failed", "killed"})
"""Run statuses after which nothing of the run changes: not ``stopped`` (it may be resumed),
nor ``interrupted`` (a driver killed while QuestDB was down leaves rows in its spool, which a
later writer sends)."""
_NEVER = ("/events", "/trials")  # path endings whose answers change while the run does not

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def run_of_path(path: str) -> str | None:
    """The run a request path is about: ``/runs/{run_id}`` and ``/runs/{run_id}/…`` or
    ``/decisions/{run_id}/{contender}/{bar}…``; None otherwise or for answers never kept."""
    parts = unquote(path).split("/")
    if len(parts) >= 3 and parts[1] == "runs" and parts[2] and not path.rstrip("/").endswith(_NEVER):
        return parts[2]
    if len(parts) >= 3 and parts[1] == "decisions" and parts[2]:
        return parts[2]
    return None


class EndedRunCache:
    """ASGI middleware keeping the answers about ended runs (see the module docstring).

    Args:
        app: the API app.
        run_status: ``run_status(run_id) -> status | None`` (None: no such run), called in a
            worker thread; e.g. a read of the store's ``runs`` row.
        max_bytes: most bytes of bodies kept.
        recheck_s: seconds a status that allows no keeping is trusted before it is read again.
    """

    def __init__(self, app: App, run_status: Callable[[str], str | None], max_bytes: int = 64 << 20,
                 recheck_s: float = 1.0) -> None:
        self.app = app
        self._status = run_status
        self._answers: LRUCache[tuple[str, bytes], tuple[int, list[tuple[bytes, bytes]], bytes]] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda v: len(v[2]) + 256)
        self._ended: set[str] = set()
        self._open: TTLCache[str, bool] = TTLCache(maxsize=4096, ttl=recheck_s, timer=time.monotonic)
        self.hits = 0
        self.misses = 0

    async def _has_ended(self, run_id: str) -> bool:
        if run_id in self._ended:
            return True
        if run_id in self._open:
            return False
        from starlette.concurrency import run_in_threadpool

        status = await run_in_threadpool(self._status, run_id)
        if status in CACHEABLE_STATUSES:
            self._ended.add(run_id)
            return True
        self._open[run_id] = True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a kept answer, or pass the request on and keep its answer when it may be."""
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        run_id = run_of_path(scope["path"])
        if run_id is None:
            await self.app(scope, receive, send)
            return
        key = (scope["path"], scope.get("query_string", b""))
        kept = self._answers.get(key)
        if kept is not None:
            self.hits += 1
            status, headers, body = kept
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        self.misses += 1
        start: dict[str, Any] = {}
        parts: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        if start.get("status") == 200 and await self._has_ended(run_id):
            self._answers[key] = (200, list(start.get("headers", [])), b"".join(parts))
