"""Turning stored rows back into JSON-ready dicts (the read side of every store).

JSON columns are decoded and renamed without ``_json``; timestamps become
ISO-8601 strings in UTC with an explicit offset (``2024-01-02T00:00:00+00:00``);
floats that JSON cannot carry (NaN, ±inf) become None, so every row can go
straight into an HTTP answer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from arena.store.schema import ColumnType, Table

__all__ = ["decode_row", "iso_utc", "json_safe", "utc_datetime"]


def decode_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a stored row of ``table`` into a JSON-ready dict.

    Args:
        table: the table the row came from.
        row: column name → value as the backend returned it (JSON as text,
            timestamps as datetimes).

    Returns:
        dict keyed by :attr:`Column.read_name`, in column order: JSON decoded,
        timestamps as ISO-8601 UTC strings, non-finite floats as None;
        internal columns (``seq``) left out.
    """
    result: dict[str, Any] = {}
    for col in table.columns:
        if col.internal or col.name not in row:
            continue
        value = row[col.name]
        if value is None:
            result[col.read_name] = None
        elif col.type is ColumnType.JSON:
            result[col.read_name] = json_safe(json.loads(value))
        elif col.type is ColumnType.TIMESTAMP:
            result[col.read_name] = iso_utc(value)
        elif col.type is ColumnType.FLOAT:
            result[col.read_name] = _finite_or_none(float(value))
        elif col.type is ColumnType.STRING_LIST:
            result[col.read_name] = [str(s) for s in value]
        elif col.type is ColumnType.INT:
            result[col.read_name] = int(value)
        else:
            result[col.read_name] = str(value)
    return result


def iso_utc(value: dt.datetime | pd.Timestamp) -> str:
    """ISO-8601 text of a tz-aware instant, in UTC (``2024-01-02T00:00:00+00:00``).

    Raises:
        ValueError: if ``value`` is naive.
    """
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone; expected a UTC instant")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    return value.astimezone(dt.UTC).isoformat()


def utc_datetime(value: dt.datetime | None, what: str) -> dt.datetime | None:
    """Check a query bound is a tz-aware datetime and return it in UTC.

    Args:
        value: the bound, or None for "no bound".
        what: the parameter name, for the error message.

    Raises:
        ValueError: if ``value`` is naive or not a datetime.
    """
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{what}: expected a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{what}: datetime {value.isoformat()} has no time zone; give a UTC offset"
        )
    return value.astimezone(dt.UTC)


def json_safe(obj: Any) -> Any:
    """Copy of a decoded JSON value with NaN/±inf floats replaced by None."""
    if isinstance(obj, float):
        return _finite_or_none(obj)
    if isinstance(obj, list):
        return [json_safe(v) for v in obj]
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    return obj


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
