"""Cell parsers shared by validation and the quality report (internal).

Each parser keeps every row (nothing is dropped) and returns masks saying
which cells were absent and which could not be parsed, so the caller can name
the row in an error.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["parse_numbers", "parse_symbols", "parse_timestamps"]

# A UTC offset after a time of day ("...10:00Z", "...10:00:00.5+02:00"); a bare date's "-02" is not one.
_OFFSET_RE = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_NAN_TEXT = frozenset({"nan", "-nan", "+nan"})


def parse_timestamps(col: pd.Series, fmt: str | None) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse a timestamp column to UTC.

    Naive values are taken as UTC; tz-aware values (or strings with an offset
    such as ``Z`` or ``+02:00``) are converted to UTC. Strings are parsed as
    ISO 8601 when ``fmt`` is None, else with the ``strftime`` format ``fmt``.
    Bare numbers are rejected (their unit, s or ms or ns, is ambiguous).

    Args:
        col: the raw column, any dtype, ``n`` rows.
        fmt: ``strftime`` format for string cells, or None for ISO 8601.

    Returns:
        ``(values, missing, unparseable)``: ``Series[datetime64[ns, UTC]]``
        with a ``RangeIndex`` (NaT where not parsed), and two bool ``[n]``
        masks: empty cells, and non-empty cells that could not be parsed.
    """
    n = len(col)
    col = col.reset_index(drop=True)
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        out = col.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        return out, out.isna().to_numpy(), np.zeros(n, dtype=bool)
    if pd.api.types.is_datetime64_dtype(col.dtype):
        out = col.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
        return out, out.isna().to_numpy(), np.zeros(n, dtype=bool)
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns, UTC]")
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        missing = col.isna().to_numpy()
        return out, missing, ~missing
    obj = col.astype(object)
    if pd.api.types.infer_dtype(obj, skipna=True) == "string":
        is_str = ~obj.isna().to_numpy()
    else:
        is_str = obj.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    stripped = obj[is_str].str.strip()
    blank = np.zeros(n, dtype=bool)
    blank[np.flatnonzero(is_str)[(stripped == "").to_numpy(dtype=bool)]] = True
    missing = (obj.isna().to_numpy() & ~is_str) | blank
    strings = stripped[stripped != ""]
    if len(strings):
        if fmt is None:
            has_offset = strings.str.contains(_OFFSET_RE).to_numpy(dtype=bool)
            # Parsed apart: pandas 2.x applies an offset seen earlier to later naive strings.
            for part in (strings[has_offset], strings[~has_offset]):
                if len(part):
                    out.loc[part.index] = pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce")
        else:
            out.loc[strings.index] = pd.to_datetime(strings, format=fmt, utc=True, errors="coerce")
    others = ~is_str & ~missing
    if others.any():
        part = obj[others]
        out.loc[part.index] = pd.to_datetime(part, utc=True, errors="coerce")
    bad = out.isna().to_numpy() & ~missing
    return out, missing, bad


def parse_symbols(col: pd.Series) -> pd.Series:
    """Symbols as stripped ``str``.

    Args:
        col: the raw column, ``n`` rows; non-string values are turned into
            strings (a CSV ticker ``7203`` becomes ``"7203"``).

    Returns:
        ``Series[object]`` of ``n`` rows with a ``RangeIndex``, ``None`` where
        the cell is empty.
    """
    text = col.reset_index(drop=True).astype("string").str.strip()
    absent = (text.isna() | (text == "")).to_numpy(dtype=bool)
    out = text.astype(object).to_numpy()
    out[absent] = None
    return pd.Series(out, dtype=object)


def parse_numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a price or volume column to float64.

    Args:
        col: the raw column, ``n`` rows (numbers or strings).

    Returns:
        ``(values, not_a_number)``: float64 ``[n]`` (NaN where empty, NaN or
        unparseable) and a bool ``[n]`` mask of non-empty cells holding text
        that is not a number (``"abc"``, ``"1,234"``). The text ``"NaN"``
        counts as NaN, not as "not a number".
    """
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(col), dtype=bool)
    try:  # fast path: every cell is a number, empty or NaN
        numbers = pd.to_numeric(col.reset_index(drop=True), errors="raise")
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(col), dtype=bool)
    except (ValueError, TypeError):
        pass
    text = col.astype(object).reset_index(drop=True).map(lambda v: v.strip() if isinstance(v, str) else v)
    blank = text.map(lambda v: isinstance(v, str) and v == "").to_numpy(dtype=bool)
    absent = text.isna().to_numpy() | blank
    numbers = pd.to_numeric(text.where(~blank, np.nan), errors="coerce")
    vals = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    nan_text = text.map(lambda v: isinstance(v, str) and v.lower() in _NAN_TEXT).to_numpy(dtype=bool)
    not_number = np.isnan(vals) & ~absent & ~nan_text
    return vals, not_number
