"""The Arrow form of the arena's tables, and the canonical JSON text of a cell.

Pandas-free, so that the processes that only make records (the contender actors) can
build batches without importing pandas or a database driver; :mod:`arena.store.rows`
(the stores' append validation) and :mod:`arena.records` (typed records) both use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from arena.store.schema import ColumnType, Table

__all__ = ["ARROW_TYPES", "arrow_schema", "dumps"]

ARROW_TYPES: Mapping[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.JSON: pa.string(),
    ColumnType.STRING_LIST: pa.list_(pa.string()),
}
"""Arrow type of each column type, as batches carry them (timestamps: µs since the epoch, UTC)."""


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of ``table``'s batches, in column order."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.type], nullable=c.nullable) for c in table.columns]
    )


def _json_default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, dt.datetime):  # pandas Timestamps too (a datetime subclass)
        if obj.tzinfo is None:
            return obj.isoformat()
        if hasattr(obj, "to_pydatetime"):
            obj = obj.to_pydatetime()
        return obj.astimezone(dt.UTC).isoformat()
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON serializable")


_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def dumps(obj: Any) -> str:
    """The canonical JSON text of a cell: compact, keys sorted (orjson, about ten times
    ``json.dumps``), with enums, dataclasses, numpy values, datetimes (ISO-8601, UTC) and sets
    turned into JSON values; NaN and ±inf become ``null`` (JSON has neither). Decodes to
    what ``json.dumps(obj, sort_keys=True)`` decodes to, for finite numbers.

    Raises:
        TypeError: for an object of no JSON form.
    """
    try:
        return orjson.dumps(obj, default=_json_default, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError as exc:
        raise TypeError(str(exc)) from None
