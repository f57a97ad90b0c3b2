"""Alpaca bars as a bar source: ``data: {source: alpaca, ...}``.

Example spec::

    {"source": "alpaca", "symbols": ["AAPL", "MSFT"], "timeframe": "1Day",
     "start": "2024-01-02", "end": "2024-06-28", "feed": "iex", "adjustment": "split"}

Keys: ``symbols`` (required), ``start`` (required; ISO 8601, naive = UTC), ``end`` (None =
the last complete bar now: such a request is downloaded again on each run, give ``end`` for
an offline rerun), ``timeframe`` (``1Min|5Min|15Min|1Hour|1Day``, default ``1Day``),
``feed`` (``iex|sip``), ``adjustment`` (``raw|split|dividend|all``), ``asset_class``
(``stock|crypto``), ``data_url`` (REST base URL; default Alpaca's), ``stream_url`` (the
market-data websocket, for live mode; default Alpaca's), ``cache_dir`` (default
``runs/alpaca_cache``). The API keys come from the environment only
(:mod:`arena.data.alpaca.keys`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from arena.data.alpaca.cache import BarCache
from arena.data.alpaca.historical import Progress, fetch_bars
from arena.data.alpaca.keys import keys_from_env
from arena.data.alpaca.request import DEFAULT_DATA_URL, BarsRequest, timeframe_ns
from arena.data.base import BarSource
from arena.data.window import parse_bound

__all__ = ["ALPACA_KEYS", "DEFAULT_CACHE_DIR", "AlpacaSource", "request_from_spec", "source_from_alpaca_spec"]

DEFAULT_CACHE_DIR = "runs/alpaca_cache"
ALPACA_KEYS = frozenset(
    {"symbols", "timeframe", "start", "end", "feed", "adjustment", "asset_class", "data_url", "stream_url", "cache_dir"}
)
"""Keys of an ``alpaca`` data spec (``symbols`` and ``start`` required)."""


def request_from_spec(spec: Mapping[str, Any], now: pd.Timestamp | None = None) -> BarsRequest:
    """The bars request of an ``alpaca`` data spec.

    Args:
        spec: the data spec (see module docstring).
        now: the time an open ``end`` is resolved against (default: the clock).

    Raises:
        ValueError: naming the key, for bad symbols, times, time frame, feed, adjustment
            or asset class.
    """
    symbols = spec.get("symbols")
    if isinstance(symbols, str):
        symbols = [symbols]
    if not symbols or not all(isinstance(s, str) and s.strip() for s in symbols):
        raise ValueError(f"data spec key 'symbols': expected a list of Alpaca symbols, got {symbols!r}")
    timeframe = str(spec.get("timeframe") or "1Day")
    step = timeframe_ns(timeframe)
    start = parse_bound(spec.get("start"), "start")
    if start is None:
        raise ValueError("data spec key 'start': required for source 'alpaca' (ISO 8601, e.g. '2024-01-02')")
    end = parse_bound(spec.get("end"), "end")
    if end is None:
        now = pd.Timestamp.now(tz="UTC") if now is None else now
        end = pd.Timestamp((now.value // step) * step - step, tz="UTC")  # the last complete bar
    asset_class = str(spec.get("asset_class") or "stock")
    stock = asset_class == "stock"
    return BarsRequest(
        symbols=tuple(sorted({s.strip() for s in symbols})),
        timeframe=timeframe,
        start=start,
        end=end,
        asset_class=asset_class,
        feed=str(spec.get("feed") or "iex") if stock else None,
        adjustment=str(spec.get("adjustment") or "raw") if stock else None,
        data_url=str(spec.get("data_url") or DEFAULT_DATA_URL).rstrip("/"),
    )


class AlpacaSource(BarSource):
    """Historical Alpaca bars, downloaded once and then read from the cache.

    Args:
        request: what to download.
        cache_dir: the cache folder (:class:`arena.data.alpaca.cache.BarCache`).
        env: where the keys are read (default ``os.environ``); only on a cache miss.

    Example:
        >>> src = AlpacaSource(request_from_spec({"symbols": ["AAPL"], "start": "2024-01-02",
        ...                                       "end": "2024-02-01"}))  # doctest: +SKIP
        >>> src.load()  # doctest: +SKIP
    """

    kind: ClassVar[str] = "alpaca"

    def __init__(
        self, request: BarsRequest, cache_dir: str | Path = DEFAULT_CACHE_DIR, env: Mapping[str, str] | None = None
    ) -> None:
        self.request = request
        self.cache = BarCache(cache_dir)
        self._env = env
        self._loaded: dict[str, Any] | None = None

    @property
    def cache_file(self) -> Path:
        """The Parquet file of this request in the cache."""
        return self.cache.path_for(self.request)

    def fetch(self, progress: Progress | None = None, *, refresh: bool = False) -> tuple[Path, pd.DataFrame, bool]:
        """Fill the cache with this request's bars (download unless cached).

        Args:
            progress: called after each symbol's download.
            refresh: download even when cached (the file is replaced).

        Returns:
            ``(cache file, bars, downloaded)``; ``downloaded`` is False on a cache hit.

        Raises:
            AlpacaAuthError: keys missing (names the variable) or rejected.
            AlpacaDataError: the API answered with an error or cannot be reached.
            CacheIntegrityError: a cached file does not match its metadata.
            BarValidationError: the downloaded bars fail validation.
            ValueError: Alpaca has no bar of any symbol in the window.
        """
        frame = None if refresh else self.cache.read(self.request)
        if frame is not None:
            return self.cache_file, frame, False
        frame = fetch_bars(self.request, keys_from_env(self._env), progress)
        if frame.empty:
            r = self.request
            raise ValueError(
                f"Alpaca has no {r.timeframe} bar of {', '.join(r.symbols)} from {r.start.isoformat()} to "
                f"{r.end.isoformat()} ({r.data_url}); check the symbols, the window and the feed"
            )
        return self.cache.write(self.request, frame), frame, True

    def load(self) -> pd.DataFrame:
        """The bars (from the cache, else downloaded and cached).

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical.

        Raises:
            as :meth:`fetch`.
        """
        path, frame, downloaded = self.fetch()
        meta = BarCache.metadata(path)
        self._loaded = {"rows": meta["rows"], "sha256": meta["sha256"], "downloaded": downloaded}
        return frame

    def describe(self) -> dict[str, Any]:
        """Kind, the request (no credentials), the cache file and, once loaded, its rows and sha256."""
        return {
            "kind": self.kind,
            "request": self.request.to_json(),
            "cache_file": str(self.cache_file.resolve()),
            **(self._loaded or {}),
        }


def source_from_alpaca_spec(spec: Mapping[str, Any], base_dir: Path | None = None) -> AlpacaSource:
    """The :class:`AlpacaSource` of a data spec (the registered factory of kind ``alpaca``)."""
    return AlpacaSource(request_from_spec(spec), spec.get("cache_dir") or DEFAULT_CACHE_DIR)
