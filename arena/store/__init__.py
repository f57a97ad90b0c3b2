"""Where arena runs are recorded: runs, decisions, orders, fills, risk verdicts,
equity, leaderboard and events.

Open a store by URL with :func:`open_store`; every backend implements
:class:`Store`. Tables are defined once in :mod:`arena.store.schema`.

Examples:
    >>> from arena.store import open_store
    >>> with open_store("duckdb:///tmp/arena.duckdb", read_only=True) as store:  # doctest: +SKIP
    ...     runs = store.list_runs()
"""

from arena.store.base import RunRecord, Store, StoreBusyError
from arena.store.duckdb_store import DuckDBStore
from arena.store.rows import decision_symbols
from arena.store.schema import TABLES, Column, ColumnType, Table
from arena.store.url import open_store, parse_store_url, register_store_scheme, store_schemes

__all__ = [
    "TABLES",
    "Column",
    "ColumnType",
    "DuckDBStore",
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
