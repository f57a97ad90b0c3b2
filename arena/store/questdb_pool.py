"""Process-wide pools of read-only PostgreSQL-wire connections to QuestDB servers
(:class:`psycopg_pool.ConnectionPool`, one per server and conninfo), used by
read-only :class:`~arena.store.questdb_store.QuestDBStore` instances (one per API
request); closed when the process exits."""

from __future__ import annotations

import atexit
import threading

from psycopg_pool import ConnectionPool

__all__ = ["POOL_MAX", "discard_pool", "read_pool"]

POOL_MAX = 8
"""Connections per pool, at most (concurrent read-only stores of one server in a process)."""
_pools: dict[tuple[str, int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def read_pool(host: str, pg_port: int, conninfo: str, timeout_s: float) -> ConnectionPool:
    """The read-only connection pool of one server and conninfo, created and opened on first use."""
    key = (host, pg_port, conninfo)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = ConnectionPool(
                conninfo,
                min_size=0,
                max_size=POOL_MAX,
                kwargs={"autocommit": True},
                check=ConnectionPool.check_connection,
                timeout=timeout_s,
                reconnect_timeout=timeout_s,
                name=f"questdb-read {host}:{pg_port}",
                open=False,
            )
            pool.open()
            _pools[key] = pool
        return pool


def discard_pool(pool: ConnectionPool) -> None:
    """Forget and close ``pool`` (its server went away); the next read-only store opens a new one."""
    with _pools_lock:
        for key, known in list(_pools.items()):
            if known is pool:
                del _pools[key]
    pool.close()


@atexit.register
def _close_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()
