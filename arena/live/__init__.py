"""Live events: every run's fills, risk verdicts, halts, leaderboard snapshots and
start/finish, published to a Redis Stream per run (``arena:events:<run_id>``) while
it runs, and served as Server-Sent Events by ``GET /runs/{run_id}/events``.

* :mod:`arena.live.schema` — stream key, event kinds, entry encoding, URL check.
* :mod:`arena.live.publisher` — :class:`RedisEventStream` (``XADD … MAXLEN ~``, never blocks trading).
* :mod:`arena.live.snapshot` — :class:`LiveLeaderboard` (standings from equity rows).
* :mod:`arena.live.feed` — :class:`RunEventFeed` (the recorder's rows → events).
* :mod:`arena.live.reader` — :func:`follow` (``XREAD BLOCK`` with ``redis.asyncio``).

The live stream is a view for watching a run; the audit store is the record.
Importing this package is light (the config and the CLI use :mod:`arena.live.schema`);
the Redis-, numpy- and metrics-backed classes load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from arena.live.schema import (
    EVENT_KINDS,
    EVENTS_URL_ENV,
    FILL,
    HALT,
    KILL_SWITCH,
    LEADERBOARD,
    RISK_VERDICT,
    RUN_FINISHED,
    RUN_STARTED,
    STREAM_KEY_PREFIX,
    decode_entry,
    encode_entry,
    stream_key,
    validate_events_url,
)

_LAZY = {
    "RunEventFeed": "arena.live.feed",
    "row_payload": "arena.live.feed",
    "DEFAULT_MAXLEN": "arena.live.publisher",
    "RedisEventStream": "arena.live.publisher",
    "LiveLeaderboard": "arena.live.snapshot",
}

__all__ = [
    "DEFAULT_MAXLEN",
    "EVENTS_URL_ENV",
    "EVENT_KINDS",
    "FILL",
    "HALT",
    "KILL_SWITCH",
    "LEADERBOARD",
    "RISK_VERDICT",
    "RUN_FINISHED",
    "RUN_STARTED",
    "STREAM_KEY_PREFIX",
    "LiveLeaderboard",
    "RedisEventStream",
    "RunEventFeed",
    "decode_entry",
    "encode_entry",
    "row_payload",
    "stream_key",
    "validate_events_url",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'arena.live' has no attribute {name!r}")
