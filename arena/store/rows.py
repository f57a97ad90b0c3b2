"""Turning rows into validated Arrow batches (the write side of every store).

Backend-neutral: the DuckDB store inserts the Arrow tables built here, and the
QuestDB store will send the same tables, so both validate appends the same way.

Rows (:func:`to_arrow`) arrive as a list of mappings or a pandas
DataFrame. Unknown columns, missing required columns and values of the wrong
type are errors naming the table, the row (0-based position in the batch) and
the column. Timestamps arrive as int64 nanoseconds since the Unix epoch (UTC),
as tz-aware datetimes, or as a tz-aware ``datetime64`` column; they are stored
with microsecond precision (the columns' precision in DuckDB and QuestDB), so
nanoseconds are floored to the microsecond: ``1_700_000_000_123_456_789`` ns is
stored as ``...123456`` µs (wall-clock ``time.time_ns()`` values carry such
digits; bar timestamps do not). JSON columns take Python objects (dicts, lists, dataclasses such
as :class:`ledger.types.Contribution`, enums, numpy scalars) or already-serialized
JSON text; both are written as canonical text (compact, keys sorted; :func:`arena.store.arrow.dumps`).

Read side: :mod:`arena.store.decode`.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arena.store.arrow import ARROW_TYPES, arrow_schema, dumps
from arena.store.schema import Column, ColumnType, Table

__all__ = ["Rows", "SeqClock", "decision_symbols", "to_arrow"]

_EXPLANATION_KEYS = ("feature", "value", "contribution", "method", "symbol")

Rows: TypeAlias = Sequence[Mapping[str, Any]] | pd.DataFrame | pa.Table


def to_arrow(table: Table, rows: Rows) -> pa.Table:
    """Validate ``rows`` against ``table`` and return them as an Arrow table.

    Args:
        table: the target table.
        rows: a list of mappings (column → value) or a DataFrame whose columns are
            a subset of ``table``'s columns; nullable columns may be left out. Or an
            Arrow table with exactly :func:`arrow_schema` (``table``), as
            :func:`arena.records.to_batch` makes them where the records are made: then
            only its required values and its key are checked (its JSON text is taken as
            it is), with no work per row in Python.

    Returns:
        ``pa.Table`` with :func:`arrow_schema` (``table``), one row per input row.

    Raises:
        ValueError: naming the table, row and column, for an unknown column, a
            missing required column or value, a value of the wrong type, a
            naive timestamp, invalid JSON, a
            malformed explanation, or a key (e.g. ``decision_id``) repeated in
            the batch.
        TypeError: if ``rows`` is neither a DataFrame nor a sequence of mappings.
    """
    if isinstance(rows, pa.Table):
        return _checked_batch(table, rows)
    columns_in, n_rows = _columns_of(table, rows)
    out: dict[str, list[Any] | np.ndarray] = {}
    decoded: dict[str, list[Any]] = {}
    texts: dict[str, list[str | None]] = {}
    for col in table.columns:
        if col.name not in columns_in:
            out[col.name] = [None] * n_rows
            continue
        values = columns_in[col.name]
        if col.type is ColumnType.JSON:
            pairs = [_json_cell(table, col, i, v) for i, v in enumerate(_as_list(values))]
            decoded[col.name] = [o for o, _ in pairs]
            texts[col.name] = [t for _, t in pairs]
        else:
            out[col.name] = _convert(table, col, values)
    for name, objs in decoded.items():
        _check_json_kind(table, table.column(name), objs)
    _check_decision_json(table, decoded)
    _derive(table, out, decoded, n_rows)
    for name, objs in decoded.items():
        known = texts.get(name)
        if known is not None and name != "metrics_json":  # the text made while decoding, unchanged since
            out[name] = known
        else:
            out[name] = [None if o is None else dumps(o) for o in objs]
    for col in table.columns:
        if not col.nullable:
            _require_present(table, col, out[col.name])
    _check_unique_key(table, out, n_rows)
    arrays = [
        out[c.name] if isinstance(out[c.name], pa.Array) else pa.array(out[c.name], type=ARROW_TYPES[c.type])
        for c in table.columns
    ]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))


def _checked_batch(table: Table, batch: pa.Table) -> pa.Table:
    """An Arrow batch made by :func:`arena.records.to_batch`: schema, required values and key checked."""
    want = arrow_schema(table)
    if batch.schema.names != want.names or batch.schema.types != want.types:
        got = ", ".join(f"{f.name}: {f.type}" for f in batch.schema)
        raise ValueError(
            f"table {table.name!r}: an Arrow batch must have the table's schema "
            f"({', '.join(f'{f.name}: {f.type}' for f in want)}), got ({got})"
        )
    for col in table.columns:
        arr = batch.column(col.name)
        if not col.nullable and arr.null_count:
            i = pc.index(pc.is_null(arr), True).as_py()
            raise ValueError(
                f"table {table.name!r}, row {i}, column {col.name!r}: required value is missing (None/NaN)"
            )
    if table.key and batch.num_rows > 1:
        _check_unique_key(table, {k: batch.column(k).combine_chunks() for k in table.key}, batch.num_rows)
    return batch.combine_chunks() if any(c.num_chunks > 1 for c in batch.columns) else batch


class SeqClock:
    """Fills a table's internal ``seq`` column (append order) where rows leave it out.

    Values are nanoseconds of the wall clock at append, made strictly increasing
    within one clock (consecutive within a batch), so rows with equal ``ts``
    read back in the order they were appended, in every backend and across
    writers whose clocks agree. Thread-safe.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def stamp(self, table: Table, batch: pa.Table) -> pa.Table:
        """``batch`` with its null ``seq`` values filled; unchanged for tables without ``seq``.

        Args:
            table: the batch's table.
            batch: rows built by :func:`to_arrow`.
        """
        if "seq" not in table.column_names or batch.num_rows == 0:
            return batch
        col = batch.column("seq")
        if col.null_count == 0:
            return batch
        n = batch.num_rows
        with self._lock:
            first = max(self._last + 1, time.time_ns())
            self._last = first + n - 1
        fresh = pa.array(np.arange(first, first + n, dtype=np.int64))
        filled = pc.if_else(pc.is_null(col), fresh, col)
        return batch.set_column(batch.schema.get_field_index("seq"), batch.schema.field("seq"), filled)


def decision_symbols(weights: Any, orders: Any, explanation: Any) -> list[str]:
    """Symbols a decision touches: weight keys, order symbols, explained symbols.

    Args:
        weights: ``{symbol: weight}`` or None.
        orders: list of order dicts (each with ``symbol``) or None.
        explanation: list of contribution dicts (``symbol`` "" means all) or None.

    Returns:
        Sorted, de-duplicated symbol list.
    """
    found: set[str] = set()
    if isinstance(weights, Mapping):
        found.update(str(k) for k in weights)
    for item in orders if isinstance(orders, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("symbol"), str):
            found.add(item["symbol"])
    for item in explanation if isinstance(explanation, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("symbol"), str):
            found.add(item["symbol"])
    found.discard("")
    return sorted(found)


# --------------------------------------------------------------------------- input shape


def _columns_of(table: Table, rows: Rows) -> tuple[dict[str, Any], int]:
    """Split the input into column name → values, checking column names."""
    known = set(table.column_names)
    if isinstance(rows, pd.DataFrame):
        names = list(rows.columns)
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"table {table.name!r}: column {dup!r} appears twice in the DataFrame")
        for name in names:
            if name not in known:
                raise ValueError(_unknown_column(table, name))
        missing = [c.name for c in table.columns if not c.nullable and c.name not in names]
        if missing:
            raise ValueError(
                f"table {table.name!r}: missing required column {missing[0]!r} "
                f"(required: {', '.join(c.name for c in table.columns if not c.nullable)})"
            )
        return {name: rows[name] for name in names}, len(rows)
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(
            f"table {table.name!r}: rows must be a list of mappings or a pandas DataFrame, "
            f"got {type(rows).__name__}"
        )
    required = [c.name for c in table.columns if not c.nullable]
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ValueError(
                f"table {table.name!r}, row {i}: expected a mapping of column → value, "
                f"got {type(row).__name__}"
            )
        for name in row:
            if name not in known:
                raise ValueError(f"row {i}: " + _unknown_column(table, name))
        for name in required:
            if name not in row:
                raise ValueError(f"table {table.name!r}, row {i}: missing required column {name!r}")
    present = {name for row in rows for name in row}
    columns = {
        c.name: [row.get(c.name) for row in rows] for c in table.columns if c.name in present
    }
    return columns, len(rows)


def _unknown_column(table: Table, name: Any) -> str:
    return (
        f"table {table.name!r}: unknown column {name!r}; "
        f"expected columns: {', '.join(table.column_names)}"
    )


def _as_list(values: Any) -> list[Any]:
    return values.tolist() if isinstance(values, (pd.Series, np.ndarray)) else list(values)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _bad(table: Table, col: Column, i: int, expected: str, value: Any) -> ValueError:
    return ValueError(
        f"table {table.name!r}, row {i}, column {col.name!r}: expected {expected}, "
        f"got {type(value).__name__} {value!r}"
    )


# --------------------------------------------------------------------------- conversions


def _convert(table: Table, col: Column, values: Any) -> list[Any] | np.ndarray | pa.Array:
    if col.type is ColumnType.STRING:
        fast = _plain_strings(values)
        if fast is not None:
            return fast
        return [_string(table, col, i, v) for i, v in enumerate(_as_list(values))]
    if col.type is ColumnType.INT:
        return _ints(table, col, values)
    if col.type is ColumnType.FLOAT:
        return _floats(table, col, values)
    if col.type is ColumnType.TIMESTAMP:
        return _timestamps_us(table, col, values)
    if col.type is ColumnType.STRING_LIST:
        return [_string_list(table, col, i, v) for i, v in enumerate(_as_list(values))]
    raise AssertionError(f"unhandled column type {col.type}")  # pragma: no cover


_FAST_ROWS = 64  # batches from this many rows convert string columns in one pass


def _plain_strings(values: Any) -> pa.Array | None:
    """``values`` as an Arrow string array when every value is a plain ``str`` (no None,
    NaN or enum: those take the checked per-value path); None otherwise, and for
    batches under ``_FAST_ROWS`` rows. One pass in C."""
    if len(values) < _FAST_ROWS:
        return None
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype != object:
        return None
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    if arr.null_count:
        return None
    if len(arr) and isinstance(values, (list, np.ndarray)):
        # pa.array accepts str subclasses (enums) and stores their str(); keep them exact
        first = values[0]
        if type(first) is not str:
            return None
    return arr


def _string(table: Table, col: Column, i: int, value: Any) -> str | None:
    if isinstance(value, enum.Enum) and isinstance(value.value, str):
        return value.value
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return None
    raise _bad(table, col, i, "a string", value)


def _string_list(table: Table, col: Column, i: int, value: Any) -> list[str] | None:
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and _is_missing(value)):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if all(isinstance(s, str) for s in items):
            return [str(s) for s in items]
    raise _bad(table, col, i, "a list of strings", value)


def _ints(table: Table, col: Column, values: Any) -> list[int | None] | np.ndarray:
    if isinstance(values, pd.Series) and pd.api.types.is_integer_dtype(values.dtype):
        if values.hasnans:  # nullable Int64 with <NA>
            return [None if _is_missing(v) else int(v) for v in values.tolist()]
        return values.to_numpy(dtype=np.int64)
    result: list[int | None] = []
    for i, v in enumerate(_as_list(values)):
        if isinstance(v, (bool, np.bool_)):
            raise _bad(table, col, i, "an integer", v)
        if isinstance(v, (int, np.integer)):
            result.append(int(v))
        elif _is_missing(v):
            result.append(None)
        elif isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
            result.append(int(v))
        else:
            raise _bad(table, col, i, "an integer", v)
    return result


def _floats(table: Table, col: Column, values: Any) -> list[float | None] | np.ndarray:
    if (
        isinstance(values, pd.Series)
        and pd.api.types.is_numeric_dtype(values.dtype)
        and not (pd.api.types.is_bool_dtype(values.dtype))
    ):
        if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):  # Float64/Int64 with <NA>
            return [None if v is pd.NA else float(v) for v in values.tolist()]
        return values.to_numpy(dtype=np.float64)
    result: list[float | None] = []
    for i, v in enumerate(_as_list(values)):
        if v is None or v is pd.NA:
            result.append(None)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
            v, (bool, np.bool_)
        ):
            result.append(float(v))
        else:
            raise _bad(table, col, i, "a number", v)
    return result


def _timestamps_us(table: Table, col: Column, values: Any) -> list[int | None] | np.ndarray:
    """Timestamps as int64 microseconds since the epoch (UTC)."""
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64)
            nat = values.isna().to_numpy()
            return _ns_array_to_us(ns, nat)
        if pd.api.types.is_datetime64_dtype(dtype):
            raise ValueError(
                f"table {table.name!r}, column {col.name!r}: datetime64 column has no time zone; "
                "give int64 ns since the epoch (UTC) or a tz-aware (UTC) column"
            )
        if pd.api.types.is_integer_dtype(dtype) and not values.hasnans:
            return _ns_array_to_us(values.to_numpy(dtype=np.int64), None)
    result: list[int | None] = []
    for i, v in enumerate(_as_list(values)):
        if isinstance(v, (bool, np.bool_)):
            raise _bad(table, col, i, "int64 ns since the epoch (UTC)", v)
        if isinstance(v, (int, np.integer)):
            ns = int(v)
        elif isinstance(v, pd.Timestamp) and v is not pd.NaT:
            if v.tzinfo is None:
                raise _bad(table, col, i, "a tz-aware timestamp (UTC)", v)
            ns = int(v.value)
        elif isinstance(v, dt.datetime):
            if v.tzinfo is None or v.utcoffset() is None:
                raise _bad(table, col, i, "a tz-aware datetime (UTC)", v)
            delta = v - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            result.append((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
            continue
        elif _is_missing(v):
            result.append(None)
            continue
        else:
            raise _bad(table, col, i, "int64 ns since the epoch (UTC)", v)
        result.append(ns // 1000)  # floor to the column's microsecond precision
    return result


def _ns_array_to_us(ns: np.ndarray, nat: np.ndarray | None) -> list[int | None] | np.ndarray:
    us = ns // 1000  # floor to the column's microsecond precision
    if nat is not None and nat.any():
        return [None if n else int(u) for u, n in zip(us.tolist(), nat.tolist(), strict=True)]
    return us


# --------------------------------------------------------------------------- JSON


def _json_cell(table: Table, col: Column, i: int, value: Any) -> tuple[Any, str | None]:
    """``(decoded value, canonical JSON text)`` of one cell; ``(None, None)`` when missing."""
    if isinstance(value, (str, bytes)):
        obj = _json_object(table, col, i, value)
        return obj, None if obj is None else dumps(obj)
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return None, None
    try:
        text = dumps(value)
        return json.loads(text), text
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"table {table.name!r}, row {i}, column {col.name!r}: cannot serialize to JSON: {exc}"
        ) from None


def _json_object(table: Table, col: Column, i: int, value: Any) -> Any:
    """Decoded (plain Python) JSON value of one cell, or None when missing."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValueError(
                f"table {table.name!r}, row {i}, column {col.name!r}: "
                f"string is not valid JSON ({exc}): {value[:80]!r}"
            ) from None
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return None
    try:
        return json.loads(dumps(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"table {table.name!r}, row {i}, column {col.name!r}: cannot serialize to JSON: {exc}"
        ) from None


_JSON_KINDS: Mapping[str, tuple[type, str]] = {
    "object": (dict, "a JSON object"),
    "array": (list, "a JSON array"),
}


def _check_json_kind(table: Table, col: Column, objs: list[Any]) -> None:
    if not col.json_kind:
        return
    kind, expected = _JSON_KINDS[col.json_kind]
    for i, obj in enumerate(objs):
        if obj is not None and not isinstance(obj, kind):
            raise ValueError(
                f"table {table.name!r}, row {i}, column {col.name!r}: expected {expected}, "
                f"got {json.dumps(obj)[:80]}"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_decision_json(table: Table, decoded: Mapping[str, list[Any]]) -> None:
    """Weights map symbols to numbers; explanations follow the Contribution schema."""
    if table.name != "decisions":
        return
    for i, weights in enumerate(decoded.get("weights_json", [])):
        for symbol, weight in (weights or {}).items():
            if weight is not None and not _is_number(weight):
                raise ValueError(
                    f"table 'decisions', row {i}, column 'weights_json': weight of {symbol!r} "
                    f"must be a number (fraction of equity), got {weight!r}"
                )
    for i, expl in enumerate(decoded.get("explanation_json", [])):
        where = f"table 'decisions', row {i}, column 'explanation_json'"
        for j, item in enumerate(expl or []):
            if not isinstance(item, dict) or set(_EXPLANATION_KEYS) - set(item):
                raise ValueError(
                    f"{where}, item {j}: expected an object with keys "
                    f"{', '.join(_EXPLANATION_KEYS)}, got {item!r:.120}"
                )
            c = item["contribution"]
            if not _is_number(c) or not math.isfinite(c):
                raise ValueError(
                    f"{where}, item {j}: contribution must be a finite number, got {c!r}"
                )
            if item["value"] is not None and not _is_number(item["value"]):
                raise ValueError(
                    f"{where}, item {j}: value must be a number or null, got {item['value']!r}"
                )
            if not isinstance(item["feature"], str) or not isinstance(item["method"], str):
                raise ValueError(f"{where}, item {j}: feature and method must be strings")
            if not isinstance(item["symbol"], str):
                raise ValueError(f"{where}, item {j}: symbol must be a string ('' for all)")


def _derive(
    table: Table,
    out: dict[str, list[Any] | np.ndarray],
    decoded: dict[str, list[Any]],
    n_rows: int,
) -> None:
    """Fill derived columns left out or None: decisions.symbols, leaderboard.metrics_json."""
    if table.name == "decisions":
        symbols = out["symbols"]
        none = [None] * n_rows
        weights = decoded.get("weights_json", none)
        orders = decoded.get("orders_json", none)
        expl = decoded.get("explanation_json", none)
        out["symbols"] = [
            s if s is not None else decision_symbols(weights[i], orders[i], expl[i])
            for i, s in enumerate(symbols)
        ]
    elif table.name == "leaderboard":
        metrics = decoded.get("metrics_json", [None] * n_rows)
        plain = [
            c.name
            for c in table.columns
            if c.type not in (ColumnType.JSON, ColumnType.TIMESTAMP) and not c.internal
        ]
        values = {name: out[name].to_pylist() if isinstance(out[name], pa.Array) else out[name] for name in plain}
        filled: list[Any] = []
        for i, m in enumerate(metrics):
            if m is None:
                m = {name: _plain(values[name][i]) for name in plain}
            filled.append(m)
        decoded["metrics_json"] = filled


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _require_present(table: Table, col: Column, values: list[Any] | np.ndarray | pa.Array) -> None:
    if isinstance(values, np.ndarray) or (isinstance(values, pa.Array) and values.null_count == 0):
        return
    for i, v in enumerate(values):
        if v is None:
            raise ValueError(
                f"table {table.name!r}, row {i}, column {col.name!r}: "
                f"required value is missing (None/NaN)"
            )


def _check_unique_key(table: Table, out: Mapping[str, Any], n_rows: int) -> None:
    if not table.key or n_rows < 2:
        return
    if n_rows >= _FAST_ROWS:
        keys = pa.table({k: out[k] if isinstance(out[k], pa.Array) else pa.array(out[k]) for k in table.key})
        if keys.group_by(list(table.key)).aggregate([]).num_rows == n_rows:
            return  # unique: checked in one vectorized pass; else find and name the first repeat
    cols = [out[k].to_pylist() if isinstance(out[k], pa.Array) else _as_list(out[k]) for k in table.key]
    seen: dict[tuple[Any, ...], int] = {}
    for i in range(n_rows):
        key = tuple(c[i] for c in cols)
        if key in seen:
            raise ValueError(
                f"table {table.name!r}, row {i}: key ({', '.join(table.key)}) = {key!r} "
                f"repeats row {seen[key]}; it must be unique"
            )
        seen[key] = i
