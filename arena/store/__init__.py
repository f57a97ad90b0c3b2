"""Where arena runs are recorded: runs, decisions, orders, fills, risk verdicts,
equity, leaderboard and events.

Open a store by URL with :func:`open_store`; every backend implements
:class:`Store`. Tables are defined once in :mod:`arena.store.schema`.

Examples:
    >>> from arena.store import open_store
    >>> with open_store("duckdb:///tmp/arena.duckdb", read_only=True) as store:  # doctest: +SKIP
    ...     runs = store.list_runs()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arena.store.base import RunRecord, Store, StoreBusyError
    from arena.store.duckdb_store import DuckDBStore
    from arena.store.rows import decision_symbols
    from arena.store.schema import TABLES, Column, ColumnType, Table
    from arena.store.url import open_store, parse_store_url, register_store_scheme, store_schemes

# Loaded on first use (PEP 562): a process that only needs the schema (a contender actor
# making records) imports neither pandas nor DuckDB.
_LAZY = {
    "RunRecord": "arena.store.base",
    "Store": "arena.store.base",
    "StoreBusyError": "arena.store.base",
    "RowsRejectedError": "arena.store.base",
    "DuckDBStore": "arena.store.duckdb_store",
    "decision_symbols": "arena.store.rows",
    "TABLES": "arena.store.schema",
    "Column": "arena.store.schema",
    "ColumnType": "arena.store.schema",
    "Table": "arena.store.schema",
    "open_store": "arena.store.url",
    "parse_store_url": "arena.store.url",
    "register_store_scheme": "arena.store.url",
    "store_schemes": "arena.store.url",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'arena.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "TABLES",
    "Column",
    "ColumnType",
    "DuckDBStore",
    "RowsRejectedError",
    "RunRecord",
    "Store",
    "StoreBusyError",
    "Table",
    "decision_symbols",
    "open_store",
    "parse_store_url",
    "register_store_scheme",
    "store_schemes",
]
