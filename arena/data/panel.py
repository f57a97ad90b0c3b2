"""Panel form of bar data: dense ``[T, S]`` arrays for fast replay.

The market-data actor converts a canonical bar frame into a :class:`Panel`
once and fans it out in chunks of timestamps (``panel.slice(lo, hi)``). A
panel is numpy-only (no pandas objects inside), so it pickles small and fast
and Ray can share its arrays zero-copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arena.data.schema import COLUMNS, PRICE_COLUMNS, SYMBOL, TIMESTAMP, TIMESTAMP_DTYPE, VOLUME

__all__ = ["FIELDS", "Panel", "to_panel"]

FIELDS: tuple[str, ...] = (*PRICE_COLUMNS, VOLUME)
"""Per-bar value arrays of a panel, in order."""


@dataclass(frozen=True, eq=False)
class Panel:
    """Bars as dense arrays: ``T`` timestamps by ``S`` symbols.

    Attributes:
        timestamps: int64 ``[T]``, bar open times in ns since the Unix epoch
            (UTC), strictly increasing.
        symbols: ``tuple[str, ...]`` of length ``S``, sorted.
        open: float64 ``[T, S]``, quote currency; NaN where the symbol has no
            bar at that timestamp.
        high: float64 ``[T, S]``, as ``open``.
        low: float64 ``[T, S]``, as ``open``.
        close: float64 ``[T, S]``, as ``open``.
        volume: float64 ``[T, S]``, units; NaN where there is no bar.

    A bar exists at ``[t, s]`` exactly where ``close[t, s]`` is not NaN
    (canonical bars never have a NaN price). Arrays are read-only: contenders
    share them.
    """

    timestamps: np.ndarray
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        t, s = len(self.timestamps), len(self.symbols)
        if self.timestamps.dtype != np.int64 or self.timestamps.ndim != 1:
            raise ValueError(f"Panel.timestamps must be int64 [T], got {self.timestamps.dtype} {self.timestamps.shape}")
        for name in FIELDS:
            arr = getattr(self, name)
            if arr.dtype != np.float64 or arr.shape != (t, s):
                raise ValueError(f"Panel.{name} must be float64 [{t}, {s}], got {arr.dtype} {arr.shape}")
        for arr in (self.timestamps, *(getattr(self, f) for f in FIELDS)):
            arr.flags.writeable = False

    def __len__(self) -> int:
        """Number of timestamps ``T``."""
        return len(self.timestamps)

    @property
    def present(self) -> np.ndarray:
        """Bool ``[T, S]``: True where the symbol has a bar at that timestamp."""
        return ~np.isnan(self.close)

    def symbol_index(self, symbol: str) -> int:
        """Column of ``symbol`` in the value arrays.

        Raises:
            KeyError: unknown symbol (the message lists the panel's symbols).
        """
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise KeyError(f"symbol {symbol!r} not in panel; symbols: {', '.join(self.symbols)}") from None

    def slice(self, start: int, stop: int) -> Panel:
        """Timestamps ``[start, stop)`` as a new panel of views (no copy).

        Args:
            start: first timestamp index (Python slice semantics, may be negative).
            stop: one past the last timestamp index.

        Returns:
            A panel sharing memory with this one.
        """
        sl = slice(start, stop)
        return Panel(self.timestamps[sl], self.symbols, *(getattr(self, f)[sl] for f in FIELDS))

    def chunks(self, n_bars: int) -> Iterator[Panel]:
        """Consecutive slices of at most ``n_bars`` timestamps each, covering the panel.

        Raises:
            ValueError: ``n_bars < 1``.
        """
        if n_bars < 1:
            raise ValueError(f"n_bars must be >= 1, got {n_bars}")
        for lo in range(0, len(self), n_bars):
            yield self.slice(lo, lo + n_bars)

    def to_frame(self) -> pd.DataFrame:
        """Back to the canonical long frame (exact inverse of :func:`to_panel`).

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            with one row per present bar, sorted by ``(timestamp, symbol)``.
        """
        t_idx, s_idx = np.nonzero(self.present)  # row-major: timestamp, then symbol order
        ts = pd.DatetimeIndex(self.timestamps[t_idx].view("datetime64[ns]")).tz_localize("UTC")
        data: dict[str, object] = {
            TIMESTAMP: pd.Series(ts, dtype=TIMESTAMP_DTYPE),
            SYMBOL: pd.Series(np.asarray(self.symbols, dtype=object)[s_idx], dtype=object),
        }
        for f in FIELDS:
            data[f] = pd.Series(getattr(self, f)[t_idx, s_idx], dtype=np.float64)
        return pd.DataFrame(data, columns=list(COLUMNS))


def to_panel(df: pd.DataFrame) -> Panel:
    """Build a :class:`Panel` from a canonical bar frame.

    Args:
        df: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            as returned by any :class:`arena.data.BarSource` (validated).

    Returns:
        The panel; ``T`` = number of distinct timestamps, ``S`` = number of
        distinct symbols.

    Raises:
        ValueError: a column is missing, the frame is empty, a
            ``(timestamp, symbol)`` pair occurs twice, or a price is NaN
            (validate the frame first).
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"to_panel: missing column(s) {missing}; expected {list(COLUMNS)}")
    if len(df) == 0:
        raise ValueError("to_panel: empty frame; expected at least one bar")
    ts = pd.to_datetime(df[TIMESTAMP])
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    ts_ns = ts.to_numpy(dtype="datetime64[ns]").view(np.int64)
    symbols_col = df[SYMBOL].astype(str).to_numpy(dtype=object)
    timestamps, t_idx = np.unique(ts_ns, return_inverse=True)
    symbols, s_idx = np.unique(symbols_col, return_inverse=True)
    t, s = len(timestamps), len(symbols)
    flat = t_idx.astype(np.int64) * s + s_idx
    if len(np.unique(flat)) != len(flat):
        raise ValueError("to_panel: duplicate (timestamp, symbol) bars; validate the frame first")
    arrays: dict[str, np.ndarray] = {}
    for f in FIELDS:
        values = df[f].to_numpy(dtype=np.float64)
        if f in PRICE_COLUMNS and np.isnan(values).any():
            raise ValueError(f"to_panel: NaN in '{f}'; validate the frame first")
        arr = np.full(t * s, np.nan)
        arr[flat] = values
        arrays[f] = arr.reshape(t, s)
    return Panel(timestamps.astype(np.int64), tuple(str(x) for x in symbols), **arrays)
