"""Following a run's live event stream (``redis.asyncio``, ``XREAD BLOCK``).

Used by the HTTP API's ``GET /runs/{run_id}/events`` (Server-Sent Events).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import redis.asyncio as aioredis

from arena.live.schema import RUN_FINISHED, decode_entry, stream_key

__all__ = ["START", "LiveEvent", "check_stream_id", "connect", "follow", "latest_id", "stream_exists"]

_STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
START = "0-0"
"""Read a stream from its first entry."""


class LiveEvent(NamedTuple):
    """One stream entry: Redis stream ``id`` (``<ms>-<seq>``), ``kind`` and ``data`` (JSON text)."""

    id: str
    kind: str
    data: str


def check_stream_id(value: str, what: str = "Last-Event-ID") -> str:
    """Validate a Redis stream id (``<ms>-<seq>`` or ``<ms>``).

    Raises:
        ValueError: naming ``what`` and the expected form.
    """
    if not _STREAM_ID.match(value):
        raise ValueError(f"{what} must be a Redis stream id like 1718000000000-0, got {value!r}")
    return value


def connect(url: str) -> aioredis.Redis:
    """An asyncio Redis client for ``url`` (replies decoded as UTF-8 text)."""
    return aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0)


async def stream_exists(client: aioredis.Redis, run_id: str) -> bool:
    """Whether the run has a live event stream."""
    return bool(await client.exists(stream_key(run_id)))


async def latest_id(client: aioredis.Redis, run_id: str) -> str:
    """Id of the stream's newest entry (``0-0`` when empty): follow from there to get only new events."""
    newest = await client.xrevrange(stream_key(run_id), count=1)
    return newest[0][0] if newest else START  # type: ignore[return-value]  # decode_responses=True: redis-py types replies as bytes | str


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _entries(reply: Any) -> list[tuple[str, dict[str, str]]]:
    """Entries of an XREAD reply, RESP2 (``[[key, entries]]``) or RESP3 (``{key: entries}``)."""
    if not reply:
        return []
    groups = reply.values() if isinstance(reply, dict) else (entries for _key, entries in reply)
    out: list[tuple[str, dict[str, str]]] = []
    for entries in groups:
        out.extend((entry_id, fields) for entry_id, fields in entries)
    return out


async def follow(
    client: aioredis.Redis, run_id: str, after_id: str = START, *, block_ms: int = 5000, count: int = 500
) -> AsyncIterator[LiveEvent]:
    """Yield the run's events after ``after_id``, live, until ``run_finished``.

    Reads ``XREAD COUNT count BLOCK block_ms STREAMS arena:events:<run_id> <last id>``
    in a loop, so events arrive as they are published. After yielding the
    ``run_finished`` entry it returns; it returns at once when ``after_id`` is at or
    past a finished stream's ``run_finished``. Entries trimmed away by ``MAXLEN`` before
    they were read are skipped by Redis (the stream resumes at the oldest kept).

    Args:
        client: from :func:`connect`.
        run_id: the run.
        after_id: yield only entries with a larger id (``0-0``: from the start).
        block_ms: how long one XREAD waits for new entries (ms).
        count: most entries per XREAD.

    Raises:
        ValueError: bad ``after_id``, or an entry not written by the arena.
        redis.RedisError: Redis trouble (the caller ends the response).
    """
    key = stream_key(run_id)
    last = check_stream_id(after_id, "after_id")
    newest = await client.xrevrange(key, count=1)
    # decode_responses=True: the ids and fields are str, which redis-py types as bytes | str
    if newest and _id_key(newest[0][0]) <= _id_key(last) and decode_entry(newest[0][1])[0] == RUN_FINISHED:  # type: ignore[arg-type]
        return  # the run has finished and the caller has seen everything
    while True:
        reply = await client.xread({key: last}, count=count, block=block_ms)
        for entry_id, fields in _entries(reply):
            kind, data = decode_entry(fields)
            last = entry_id
            yield LiveEvent(entry_id, kind, data)
            if kind == RUN_FINISHED:
                return
