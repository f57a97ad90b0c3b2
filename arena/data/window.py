"""A time window on any bar source: keep the bars from ``since`` to ``until``.

Every data spec may carry ``since`` and/or ``until`` (inclusive bar timestamps,
ISO 8601; a naive value is taken as UTC)::

    {"source": "sample", "name": "us_equities_daily", "since": "2012-01-01", "until": "2013-12-31"}

:func:`arena.data.source_from_spec` then wraps the source in a
:class:`WindowedSource`. ``arena walkforward`` uses it to run each fold on its
own bars.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd

from arena.data.base import BarSource
from arena.data.schema import TIMESTAMP

__all__ = ["WINDOW_KEYS", "WindowedSource", "parse_bound"]

WINDOW_KEYS = frozenset({"since", "until"})
"""Spec keys every source kind accepts."""


def parse_bound(value: Any, key: str) -> pd.Timestamp | None:
    """A window bound as a UTC timestamp.

    Args:
        value: ISO 8601 date or timestamp string (``"2015-01-02"``,
            ``"2015-01-02T14:30:00Z"``), a ``pd.Timestamp``/``datetime``, or None.
        key: the spec key (``since``/``until``), for the error message.

    Returns:
        The bound (tz-aware, UTC), or None when ``value`` is None.

    Raises:
        ValueError: naming ``key``, when the value is not a timestamp.
    """
    if value is None:
        return None
    if not isinstance(value, (str, pd.Timestamp)) and not hasattr(value, "isoformat"):
        raise ValueError(f"data spec key {key!r}: expected an ISO 8601 date or timestamp string, got {value!r}")
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"data spec key {key!r}: {value!r} is not an ISO 8601 date or timestamp ({exc}); "
            "e.g. '2015-01-02' or '2015-01-02T14:30:00Z'"
        ) from None
    if ts is pd.NaT:
        raise ValueError(f"data spec key {key!r}: expected a date or timestamp, got {value!r}")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


class WindowedSource(BarSource):
    """The bars of ``inner`` with timestamps in ``[since, until]`` (both inclusive).

    Args:
        inner: the source to restrict.
        since: first bar timestamp kept (UTC), or None for the beginning.
        until: last bar timestamp kept (UTC), or None for the end.

    Raises:
        ValueError: ``since`` is after ``until``, or neither is given.
    """

    kind: ClassVar[str] = "window"

    def __init__(self, inner: BarSource, since: pd.Timestamp | None, until: pd.Timestamp | None) -> None:
        if since is None and until is None:
            raise ValueError("WindowedSource needs `since` and/or `until`")
        if since is not None and until is not None and since > until:
            raise ValueError(f"data window: since ({since.isoformat()}) is after until ({until.isoformat()})")
        self.inner = inner
        self.since = since
        self.until = until

    def load(self) -> pd.DataFrame:
        """Load the inner source and keep the window's bars.

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical.

        Raises:
            ValueError: the window holds no bar (names the window and the data's span).
            The inner source's errors.
        """
        frame = self.inner.load()
        ts = frame[TIMESTAMP]
        keep = pd.Series(True, index=frame.index)
        if self.since is not None:
            keep &= ts >= self.since
        if self.until is not None:
            keep &= ts <= self.until
        if not keep.any():
            span = f"{ts.min().isoformat()} .. {ts.max().isoformat()}" if len(frame) else "no bars"
            raise ValueError(
                f"data window since={_iso(self.since)} until={_iso(self.until)} holds no bar; "
                f"the {self.inner.kind!r} data spans {span}"
            )
        return frame.loc[keep].reset_index(drop=True)

    def describe(self) -> dict[str, Any]:
        """The inner source's description plus ``since`` and ``until`` (ISO 8601 or None)."""
        return {**self.inner.describe(), "since": _iso(self.since), "until": _iso(self.until)}


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.isoformat()
