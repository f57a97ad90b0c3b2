"""Typed audit records: one frozen record type per table, and the columnar batches they travel in.

Each record type is a ``NamedTuple`` whose fields are its table's columns in storage order
(:data:`arena.store.schema.TABLES`, internal columns such as ``seq`` left out), so a column
is added in one place, the schema, and the record, the batch and the store follow. The
bar loop (:class:`arena.runner.ContenderRunner`) makes records with the builders of
:mod:`arena.audit_rows`, which check what they are given (a non-finite contribution is an
error naming the decision and the line); :func:`to_batch` turns a list of them into one
Arrow table per table, checked once in the contender's process (column types by Arrow,
required values present, JSON serialized once, timestamps floored to microseconds). A
batch ships to the recorder as Arrow buffers, and the stores take it as it is
(:func:`arena.store.rows.to_arrow` only checks its schema, required values and keys).

Field values: ``ts`` int nanoseconds since the epoch (UTC); ``*_json`` plain Python objects
(dicts, lists, numbers, strings, None; serialized once by :func:`to_batch` as canonical
text, :func:`arena.store.arrow.dumps`); ``symbols`` a list of str; money in USD, quantities
in units, weights and scales as fractions.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from arena.store.arrow import ARROW_TYPES, arrow_schema, dumps
from arena.store.schema import TABLES, ColumnType, Table

__all__ = [
    "DecisionRecord",
    "EventRecord",
    "FillRecord",
    "OrderRecord",
    "RECORD_TYPES",
    "ReconciliationRecord",
    "VerdictRecord",
    "equity_batch",
    "record_type",
    "to_batch",
]


def record_type(table: Table, type_name: str) -> type:
    """A ``NamedTuple`` type with one field per non-internal column of ``table``, in storage
    order, every field defaulting to None (a missing required value is caught by
    :func:`to_batch`, naming the row and column)."""
    fields = [c.name for c in table.columns if not c.internal]
    cls = namedtuple(type_name, fields, defaults=[None] * len(fields))  # type: ignore[misc]  # noqa: PYI024
    cls.__doc__ = f"One row of table {table.name!r}: {', '.join(fields)} (see arena.store.schema)."
    cls.table = table  # type: ignore[attr-defined]  # the record type's table, set on the type made here
    return cls


DecisionRecord = record_type(TABLES["decisions"], "DecisionRecord")
VerdictRecord = record_type(TABLES["risk_verdicts"], "VerdictRecord")
OrderRecord = record_type(TABLES["orders"], "OrderRecord")
FillRecord = record_type(TABLES["fills"], "FillRecord")
EventRecord = record_type(TABLES["events"], "EventRecord")
ReconciliationRecord = record_type(TABLES["reconciliation"], "ReconciliationRecord")

RECORD_TYPES: Mapping[str, type] = {
    t.table.name: t  # type: ignore[attr-defined]  # set by record_type
    for t in (DecisionRecord, VerdictRecord, OrderRecord, FillRecord, EventRecord)
}
"""Table name → record type, for the tables the bar loop writes row by row."""


def to_batch(table: Table, records: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Records of ``table`` as one Arrow table with :func:`arena.store.rows.arrow_schema`.

    Args:
        table: the records' table.
        records: instances of the table's record type (:data:`RECORD_TYPES`), in order.

    Returns:
        ``pa.Table`` [len(records) rows]; ``*_json`` columns hold canonical JSON text
        (:func:`arena.store.arrow.dumps`), ``ts`` columns microseconds (UTC; nanoseconds floored), internal
        columns (``seq``) null, for the store to fill.

    Raises:
        ValueError: naming the table, row and column, for a value of the wrong type or a
            required value that is missing.
    """
    n = len(records)
    fields = [c for c in table.columns if not c.internal]
    columns = list(zip(*records, strict=True)) if n else [()] * len(fields)
    if len(columns) != len(fields):
        raise ValueError(f"table {table.name!r}: records have {len(columns)} fields, the table {len(fields)} columns")
    arrays: list[pa.Array] = []
    it = iter(columns)
    for col in table.columns:
        typ = ARROW_TYPES[col.type]
        if col.internal:
            arrays.append(pa.nulls(n, typ))
            continue
        values = next(it)
        if col.type is ColumnType.JSON:
            values = [None if v is None else dumps(v) for v in values]
        elif col.type is ColumnType.TIMESTAMP:
            values = _micros(table, col.name, values)
        try:
            arr = pa.array(values, type=typ, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            raise _first_bad(table, col.name, typ, values) from None
        if not col.nullable and arr.null_count:
            i = next(k for k, v in enumerate(values) if v is None)
            raise ValueError(f"table {table.name!r}, row {i}, column {col.name!r}: required value is missing (None)")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))


def equity_batch(
    run_id: str, contender: str, lo: int, ts_ns: np.ndarray, equity: np.ndarray, cash: np.ndarray,
    gross: np.ndarray,
) -> pa.Table:
    """The ``equity`` rows of bars ``lo … lo + len(ts_ns) − 1`` as one Arrow table.

    Args:
        ts_ns: int64 [T] bar timestamps, ns since the epoch (UTC).
        equity, cash, gross: float64 [T], USD (equity, cash, gross exposure at each bar's close).

    Returns:
        ``pa.Table[run_id, contender, ts (µs, UTC), bar_index, equity, cash, gross_exposure]``
        (the arrays are copied).
    """
    m = len(ts_ns)
    table = TABLES["equity"]
    cols = {
        "run_id": _repeat(run_id, m),
        "contender": _repeat(contender, m),
        "ts": pa.array(np.asarray(ts_ns, dtype=np.int64) // 1000, type=ARROW_TYPES[ColumnType.TIMESTAMP]),
        "bar_index": pa.array(np.arange(lo, lo + m, dtype=np.int64)),
        "equity": pa.array(np.array(equity, dtype=np.float64)),
        "cash": pa.array(np.array(cash, dtype=np.float64)),
        "gross_exposure": pa.array(np.array(gross, dtype=np.float64)),
    }
    return pa.Table.from_arrays([cols[c.name] for c in table.columns], schema=arrow_schema(table))


def _repeat(value: str, m: int) -> pa.Array:
    """``value`` ``m`` times as an Arrow string array (one take in C)."""
    return pa.array([value], type=pa.string()).take(pa.array(np.zeros(m, dtype=np.int32)))


def _micros(table: Table, name: str, values: Sequence[Any]) -> Any:
    """Integer ns timestamps as int64 µs (floored): one NumPy step for plain ints, else value by
    value (None kept), naming the first value that is not an int.

    Raises:
        ValueError: for a value that is neither an int nor None.
    """
    try:
        arr = np.array(values)
    except (TypeError, ValueError, OverflowError):
        arr = None
    if arr is not None and arr.dtype.kind in "iu" and arr.ndim == 1:
        return arr.astype(np.int64) // 1000
    out: list[int | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            out.append(int(v) // 1000)
        else:
            raise ValueError(
                f"table {table.name!r}, row {i}, column {name!r}: expected int64 ns since the epoch (UTC), "
                f"got {type(v).__name__} {v!r}"
            )
    return out


def _first_bad(table: Table, name: str, typ: pa.DataType, values: Sequence[Any]) -> ValueError:
    for i, v in enumerate(values):
        try:
            pa.array([v], type=typ, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            return ValueError(
                f"table {table.name!r}, row {i}, column {name!r}: expected {typ}, got {type(v).__name__} {v!r}"
            )
    return ValueError(f"table {table.name!r}, column {name!r}: values do not convert to {typ}")
