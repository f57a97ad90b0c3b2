"""What to ask Alpaca for: a bar request, its stable key, and its time frame.

A :class:`BarsRequest` is the whole identity of a download: the same request gives the
same bars, so the cache (:mod:`arena.data.alpaca.cache`) is keyed by it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "ADJUSTMENTS",
    "ASSET_CLASSES",
    "DEFAULT_DATA_URL",
    "FEEDS",
    "TIMEFRAMES",
    "BarsRequest",
    "timeframe_ns",
]

TIMEFRAMES: dict[str, int] = {
    "1Min": 60 * 10**9,
    "5Min": 5 * 60 * 10**9,
    "15Min": 15 * 60 * 10**9,
    "1Hour": 3600 * 10**9,
    "1Day": 86_400 * 10**9,
}
"""Bar time frames Alpaca serves, and each one's length in ns."""
FEEDS = ("iex", "sip")
ADJUSTMENTS = ("raw", "split", "dividend", "all")
ASSET_CLASSES = ("stock", "crypto")
DEFAULT_DATA_URL = "https://data.alpaca.markets"
"""Alpaca's market-data REST base URL (``/v2/stocks/bars``, ``/v1beta3/crypto/us/bars``)."""


def timeframe_ns(timeframe: str) -> int:
    """The length of one bar of ``timeframe`` in ns (``"1Min"`` → 60_000_000_000).

    Raises:
        ValueError: unknown time frame (lists the known ones).
    """
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise ValueError(f"unknown Alpaca time frame {timeframe!r}; expected one of {', '.join(TIMEFRAMES)}") from None


@dataclass(frozen=True, slots=True)
class BarsRequest:
    """One historical bars request.

    Attributes:
        symbols: the symbols, sorted and distinct (``("AAPL", "MSFT")``, ``("BTC/USD",)``).
        timeframe: one of :data:`TIMEFRAMES`.
        start: first bar open time wanted (UTC, inclusive).
        end: last bar open time wanted (UTC, inclusive).
        asset_class: ``"stock"`` or ``"crypto"``.
        feed: ``"iex"`` or ``"sip"`` (stocks only; ``None`` for crypto).
        adjustment: ``"raw"``, ``"split"``, ``"dividend"`` or ``"all"`` (stocks only).
        data_url: REST base URL (:data:`DEFAULT_DATA_URL` unless pointed at a local server).

    Raises:
        ValueError: on construction, for an unknown time frame, feed, adjustment or asset
            class, no symbols, or ``start`` after ``end``.
    """

    symbols: tuple[str, ...]
    timeframe: str
    start: pd.Timestamp
    end: pd.Timestamp
    asset_class: str = "stock"
    feed: str | None = "iex"
    adjustment: str | None = "raw"
    data_url: str = DEFAULT_DATA_URL

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ValueError("Alpaca bars request: no symbols; expected at least one")
        if tuple(sorted(set(self.symbols))) != self.symbols:
            raise ValueError(f"Alpaca bars request: symbols must be sorted and distinct, got {list(self.symbols)}")
        timeframe_ns(self.timeframe)
        if self.asset_class not in ASSET_CLASSES:
            raise ValueError(f"Alpaca asset_class {self.asset_class!r}: expected one of {', '.join(ASSET_CLASSES)}")
        if self.asset_class == "stock":
            if self.feed not in FEEDS:
                raise ValueError(f"Alpaca feed {self.feed!r}: expected one of {', '.join(FEEDS)}")
            if self.adjustment not in ADJUSTMENTS:
                raise ValueError(f"Alpaca adjustment {self.adjustment!r}: expected one of {', '.join(ADJUSTMENTS)}")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Alpaca bars request: start and end must be tz-aware (UTC)")
        if self.start > self.end:
            raise ValueError(f"Alpaca bars request: start {self.start.isoformat()} is after end {self.end.isoformat()}")

    @property
    def step_ns(self) -> int:
        """The length of one bar in ns."""
        return TIMEFRAMES[self.timeframe]

    def with_window(self, start: pd.Timestamp, end: pd.Timestamp) -> BarsRequest:
        """The same request over ``[start, end]`` (a backfill)."""
        return BarsRequest(self.symbols, self.timeframe, start, end, self.asset_class, self.feed,
                           self.adjustment, self.data_url)

    def to_json(self) -> dict[str, Any]:
        """The request as JSON-ready data (ISO 8601 UTC times); no credentials are part of it."""
        return {
            "asset_class": self.asset_class,
            "symbols": list(self.symbols),
            "timeframe": self.timeframe,
            "start": self.start.tz_convert("UTC").isoformat(),
            "end": self.end.tz_convert("UTC").isoformat(),
            "feed": self.feed,
            "adjustment": self.adjustment,
            "data_url": self.data_url.rstrip("/"),
        }

    def key(self) -> str:
        """16 hex characters: the SHA-256 of :meth:`to_json` as sorted, compact JSON."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
