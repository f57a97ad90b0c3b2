"""The one canonical schema of bar data in model-arena, and its content hash.

A canonical bar frame is a ``DataFrame[timestamp, symbol, open, high, low,
close, volume]``, one row per bar, with:

* ``timestamp``: ``datetime64[ns, UTC]``, the bar's open time. Daily bars of
  equities carry the session date at 00:00 UTC.
* ``symbol``: ``str`` (object dtype), e.g. ``"SPX"``, ``"BTCUSD"``.
* ``open``, ``high``, ``low``, ``close``: ``float64``, in the quote currency
  (USD for every bundled data set).
* ``volume``: ``float64``, traded quantity in units of the instrument
  (shares, coins; index points volume for indices as the source reports it).

Rows are sorted by ``(timestamp, symbol)`` with a fresh ``RangeIndex``, and no
``(timestamp, symbol)`` pair occurs twice. :func:`canonical_frame` builds such
a frame from already-valid columns; :func:`arena.data.validate.to_canonical`
validates raw input first.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = [
    "COLUMNS",
    "PRICE_COLUMNS",
    "SYMBOL",
    "TIMESTAMP",
    "TIMESTAMP_DTYPE",
    "VOLUME",
    "canonical_frame",
    "data_sha256",
]

TIMESTAMP = "timestamp"
SYMBOL = "symbol"
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
VOLUME = "volume"
COLUMNS: tuple[str, ...] = (TIMESTAMP, SYMBOL, *PRICE_COLUMNS, VOLUME)
"""Canonical column order."""

TIMESTAMP_DTYPE = pd.DatetimeTZDtype(unit="ns", tz="UTC")

_HASH_VERSION = b"model-arena/bars/v1"


def canonical_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` in canonical form: column order, dtypes, sort order, index.

    Args:
        df: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            whose values are already valid (see
            :func:`arena.data.validate.validate_bars`); extra columns are
            dropped. ``timestamp`` may be naive (taken as UTC) or tz-aware.

    Returns:
        A new ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
        sorted by ``(timestamp, symbol)`` with a ``RangeIndex``.

    Raises:
        KeyError: a canonical column is missing.
    """
    ts = pd.to_datetime(df[TIMESTAMP])
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    out = pd.DataFrame(
        {
            TIMESTAMP: ts.astype(TIMESTAMP_DTYPE).array,
            SYMBOL: df[SYMBOL].astype(str).to_numpy(dtype=object),
            **{c: df[c].to_numpy(dtype=np.float64) for c in (*PRICE_COLUMNS, VOLUME)},
        }
    )
    out = out.sort_values([TIMESTAMP, SYMBOL], kind="mergesort").reset_index(drop=True)
    return out


def data_sha256(df: pd.DataFrame) -> str:
    """Content hash of a bar frame, independent of file format and row order.

    The frame is put in canonical order (sorted by ``(timestamp, symbol)``);
    then a SHA-256 is taken over a version tag, the row count, and the columns
    in the fixed order of :data:`COLUMNS`: ``timestamp`` as little-endian int64
    nanoseconds since the Unix epoch (UTC); ``symbol`` as the sorted distinct
    symbols (length-prefixed UTF-8) followed by each row's int32 index into
    them; and each of ``open, high, low, close, volume`` as little-endian
    IEEE-754 float64 (``-0.0`` folded to ``0.0`` and every NaN to one bit
    pattern). A CSV and a Parquet file holding the same bars hash the same.

    Args:
        df: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            (extra columns are ignored; naive timestamps are taken as UTC).

    Returns:
        64 lowercase hex characters.

    Raises:
        KeyError: a canonical column is missing.
    """
    frame = canonical_frame(df)
    h = hashlib.sha256()
    h.update(_HASH_VERSION)
    h.update(np.int64(len(frame)).astype("<i8").tobytes())
    ts_ns = frame[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
    h.update(b"|" + TIMESTAMP.encode())
    h.update(ts_ns.astype("<i8").tobytes())
    h.update(b"|" + SYMBOL.encode())
    codes, uniques = pd.factorize(frame[SYMBOL], sort=True)
    h.update(np.int64(len(uniques)).astype("<i8").tobytes())
    for sym in uniques:
        raw = str(sym).encode("utf-8")
        h.update(np.int32(len(raw)).astype("<i4").tobytes())
        h.update(raw)
    h.update(codes.astype("<i4").tobytes())
    for col in (*PRICE_COLUMNS, VOLUME):
        values = frame[col].to_numpy(dtype=np.float64) + 0.0  # folds -0.0 into 0.0
        values = np.where(np.isnan(values), np.float64("nan"), values)
        h.update(b"|" + col.encode())
        h.update(values.astype("<f8").tobytes())
    return h.hexdigest()
