"""The live event stream's shape: Redis key, event kinds, entry encoding, URL check.

One Redis Stream per run, key ``arena:events:<run_id>``. Every entry has two
fields: ``kind`` (one of :data:`EVENT_KINDS`) and ``data`` (the payload as JSON
text). The entry id Redis assigns (``<ms>-<seq>``) orders the stream and is
what an SSE client sends back as ``Last-Event-ID`` to resume.

Payloads follow the HTTP API's conventions (``serve.models``): ``*_json`` store
columns appear without the suffix, timestamps are ISO-8601 UTC strings (``ts``)
with the nanosecond integer alongside (``ts_ns``), money is USD, returns and
drawdowns are fractions. Non-finite floats become ``null``.

No Redis import here: the config and the CLI use this module.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from urllib.parse import urlsplit

from arena.secrets import redact_url  # noqa: F401 - re-exported: log messages of the live stream

__all__ = [
    "BROKER",
    "EVENTS_URL_ENV",
    "EVENT_KINDS",
    "FILL",
    "HALT",
    "KILL_SWITCH",
    "LEADERBOARD",
    "RECONCILIATION",
    "RISK_VERDICT",
    "RUN_FINISHED",
    "RUN_STARTED",
    "STREAM_KEY_PREFIX",
    "decode_entry",
    "encode_entry",
    "jsonable",
    "redact_url",
    "stream_key",
    "ts_fields",
    "validate_events_url",
]

STREAM_KEY_PREFIX = "arena:events:"
"""A run's stream key is ``STREAM_KEY_PREFIX + run_id``."""

RUN_STARTED = "run_started"
FILL = "fill"
RISK_VERDICT = "risk_verdict"
LEADERBOARD = "leaderboard"
HALT = "halt"
KILL_SWITCH = "kill_switch"
RUN_FINISHED = "run_finished"
RECONCILIATION = "reconciliation"
BROKER = "broker"

EVENT_KINDS: tuple[str, ...] = (
    RUN_STARTED, FILL, RISK_VERDICT, LEADERBOARD, HALT, KILL_SWITCH, RECONCILIATION, BROKER, RUN_FINISHED
)
"""Every kind an entry's ``kind`` field may hold; ``run_finished`` is always a stream's last entry."""

EVENTS_URL_ENV = "ARENA_EVENTS_URL"
"""Environment variable ``arena run`` falls back to when neither ``--events`` nor the config names a URL."""

_SCHEMES = ("redis", "rediss")


def stream_key(run_id: str) -> str:
    """The Redis key of a run's stream, e.g. ``arena:events:goog-sma-20240102T000000-1a2b3c``.

    Raises:
        ValueError: if ``run_id`` is empty.
    """
    if not run_id:
        raise ValueError("run_id must be a non-empty string")
    return STREAM_KEY_PREFIX + run_id


def validate_events_url(url: str) -> str:
    """Check a live-events URL: ``redis://host[:port][/db]`` or ``rediss://`` (TLS).

    Returns:
        ``url`` unchanged.

    Raises:
        ValueError: naming what is wrong (scheme, missing host, bad port or db).
    """
    if not isinstance(url, str) or not url:
        raise ValueError(f"expected a redis:// or rediss:// URL, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"expected a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379/0), got {url!r}")
    if not parts.hostname:
        raise ValueError(f"{url!r} has no host (e.g. redis://127.0.0.1:6379/0)")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError(f"{url!r} has a bad port (expected 1..65535)") from None
    db = parts.path.lstrip("/")
    if db and not db.isdigit():
        raise ValueError(f"{url!r}: the path must be a database number (e.g. /0), got {parts.path!r}")
    return url


def jsonable(value: Any) -> Any:
    """``value`` made JSON-safe: numpy scalars/arrays → Python, datetimes → ISO-8601,
    non-finite floats → None, mappings and sequences recursively.

    Raises:
        TypeError: for a value of no known JSON form (naming its type).
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if hasattr(value, "tolist"):  # numpy scalar or array
        return jsonable(value.tolist())
    if hasattr(value, "isoformat"):  # pandas Timestamp, date
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON in a live event")


def encode_entry(kind: str, payload: dict[str, Any]) -> dict[str, str]:
    """The Redis Stream fields of one event: ``{"kind": kind, "data": <JSON text>}``.

    Raises:
        ValueError: if ``kind`` is not one of :data:`EVENT_KINDS`.
        TypeError: if the payload holds a value of no JSON form.
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown live event kind {kind!r}; expected one of {', '.join(EVENT_KINDS)}")
    return {"kind": kind, "data": json.dumps(jsonable(payload), separators=(",", ":"), allow_nan=False)}


def decode_entry(fields: dict[Any, Any]) -> tuple[str, str]:
    """``(kind, data JSON text)`` of a stream entry's fields (bytes or str keys).

    Raises:
        ValueError: if a field is missing (the entry was not written by the arena).
    """
    def get(name: str) -> str:
        value = fields.get(name, fields.get(name.encode()))
        if value is None:
            raise ValueError(f"live event entry has no {name!r} field (fields: {sorted(map(str, fields))})")
        return value.decode() if isinstance(value, bytes) else str(value)

    return get("kind"), get("data")


def ts_fields(ts_ns: Any) -> dict[str, Any]:
    """``{"ts": ISO-8601 UTC, "ts_ns": int}`` for a nanosecond timestamp (None → both None)."""
    if ts_ns is None:
        return {"ts": None, "ts_ns": None}
    ns = int(ts_ns)
    stamp = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC) + dt.timedelta(
        microseconds=(ns % 1_000_000_000) // 1000
    )
    return {"ts": stamp.isoformat(), "ts_ns": ns}
