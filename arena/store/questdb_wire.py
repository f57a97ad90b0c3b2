"""QuestDB specifics of the QuestDB store: SQL types and DDL generated from the schema,
the DataFrame form the ILP client sends, and rows read back over the PostgreSQL wire
turned into what the DuckDB store returns (see :mod:`arena.store.questdb_store`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from arena.store.schema import Column, ColumnType, Table

__all__ = ["DEFAULT_PREFIX", "QUESTDB_TYPES", "from_questdb", "ilp_frame", "questdb_ddl", "questdb_type"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DEFAULT_PREFIX = "arena_"

QUESTDB_TYPES: Mapping[ColumnType, str] = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INT: "LONG",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.JSON: "VARCHAR",
    ColumnType.STRING_LIST: "VARCHAR",
}
"""QuestDB type of each column type; low-cardinality strings are ``SYMBOL`` instead."""

def questdb_type(col: Column) -> str:
    """The QuestDB SQL type of ``col``."""
    if col.type is ColumnType.STRING and col.low_cardinality:
        return "SYMBOL"
    return QUESTDB_TYPES[col.type]


def questdb_ddl(table: Table, prefix: str = DEFAULT_PREFIX) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``table``: WAL, designated timestamp, dedup keys."""
    cols = ", ".join(f'"{c.name}" {questdb_type(c)}' for c in table.columns)
    keys = [table.timestamp, *(k for k in table.dedup_key if k != table.timestamp)]
    return (
        f'CREATE TABLE IF NOT EXISTS "{prefix}{table.name}" ({cols}) '
        f'TIMESTAMP("{table.timestamp}") PARTITION BY {table.partition} WAL '
        f"DEDUP UPSERT KEYS({', '.join(f'{k}' for k in keys)})"
    )


def ilp_frame(table: Table, batch: pa.Table) -> pd.DataFrame:
    """The batch as a DataFrame the ILP client sends: timestamps datetime64[ns, UTC],
    nullable ints Int64, strings/JSON/lists as text; all-null columns left out (ILP null)."""
    cols: dict[str, Any] = {}
    for col in table.columns:
        arr = batch.column(col.name)
        if arr.null_count == len(arr) and col.name != table.timestamp:
            continue
        if col.type is ColumnType.TIMESTAMP:
            us = arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
            if col.name == table.timestamp and arr.null_count:
                us = np.where(pd.isna(us), 0, us).astype(np.int64)  # designated ts cannot be NULL
            series = pd.Series(us).astype("Int64" if arr.null_count and col.name != table.timestamp else "int64")
            cols[col.name] = pd.to_datetime(series, unit="us", utc=True).astype("datetime64[ns, UTC]")
        elif col.type is ColumnType.INT:
            cols[col.name] = pd.Series(arr.to_pylist(), dtype="Int64")
        elif col.type is ColumnType.FLOAT:
            cols[col.name] = arr.to_numpy(zero_copy_only=False).astype(np.float64)
        elif col.type is ColumnType.STRING_LIST:
            cols[col.name] = pd.Series([None if v is None else json.dumps(v) for v in arr.to_pylist()], dtype=object)
        else:
            cols[col.name] = pd.Series(arr.to_pylist(), dtype=object)
    return pd.DataFrame(cols)


def from_questdb(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as psycopg returns it → the values the DuckDB store returns (tz-aware
    timestamps, string lists as lists, the leaderboard's epoch ``ts`` as None)."""
    for col in table.columns:
        value = row.get(col.name)
        if value is None:
            continue
        if col.type is ColumnType.TIMESTAMP:
            value = value.replace(tzinfo=dt.UTC)
            if table.name == "leaderboard" and col.name == "ts" and value == _EPOCH:
                value = None
            row[col.name] = value
        elif col.type is ColumnType.STRING_LIST:
            row[col.name] = json.loads(value)
    return row
