"""Process-wide pools of read-only PostgreSQL-wire connections to QuestDB servers
(:class:`psycopg_pool.ConnectionPool`, one per server and conninfo), used by
read-only :class:`~arena.store.questdb_store.QuestDBStore` instances (one per API
request); closed when the process exits."""

from __future__ import annotations

import atexit
import threading

from psycopg_pool import ConnectionPool

__all__ = ["POOL_MAX", "POOL_MIN", "POOL_WAIT_S", "discard_pool", "read_pool"]

POOL_MAX = 16
"""Connections per pool, at most (concurrent read-only stores of one server in a process)."""
POOL_MIN = 2
"""Connections kept open once the pool is used: the first requests of a burst do not wait for
new connections (the pool opens more in its worker threads, up to :data:`POOL_MAX`)."""
POOL_WAIT_S = 30.0
"""How long a request waits for a pooled connection under load before its store open fails
(a server that does not answer fails at once: the open checks the port first)."""
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
                min_size=POOL_MIN,
                max_size=POOL_MAX,
                kwargs={"autocommit": True},
                check=ConnectionPool.check_connection,
                timeout=max(timeout_s, POOL_WAIT_S),
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
