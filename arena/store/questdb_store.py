"""The QuestDB store: a QuestDB server that many writers can feed at once.

Open it with ``open_store("questdb://host:9000")`` (the HTTP port; the
PostgreSQL-wire port comes from ``?pg_port=``, default 8812, and a table-name
prefix from ``?prefix=``, default ``arena_``, so a shared server is not
cluttered). ``scripts/questdb.sh start`` runs a local server.

Tables are generated from :data:`arena.store.schema.TABLES`: WAL tables with
the schema's time column as designated timestamp, partitioned by the table's
``partition``, low-cardinality strings as ``SYMBOL``, JSON and string lists as
``VARCHAR`` (JSON text), and ``DEDUP UPSERT KEYS(<timestamp>, <dedup_key>)``,
so that sending the same rows again replaces them: re-sends are idempotent, and
``finish_run`` updates a run by sending its ``runs`` row again.

Writes go over ILP/HTTP (:class:`questdb.Sender`), one transactional request
per table batch. Reads go over the PostgreSQL wire (psycopg 3) with bound
parameters only. A read-write store keeps one dedicated connection; read-only
stores (opened per API request) borrow theirs from a process-wide
:class:`psycopg_pool.ConnectionPool` per server (at most ``POOL_MAX``, each
checked with an empty query before it is handed out) and give it back at close.
WAL tables apply commits asynchronously; :meth:`QuestDBStore.flush` returns once
the server has applied them, so reads after a flush see the rows.

Faults: a writer opened while the server is down is the same as one whose server
went away: it opens, and its tables are made and checked when the server first
answers. If the server does not answer, :meth:`QuestDBStore.append` never
raises; the batch goes to a local spool (:mod:`arena.store.spool`, under
``$ARENA_CACHE/questdb-spool/``) and every later write first re-sends the spool,
in order, once the server answers again (tried at most every
``retry_interval_s``). A warning is logged once when the server goes away and
once when it is back. ``close`` makes a last attempt and leaves the spool on
disk when the server is still down (logged with its path); the next writer
opened on the same server and prefix re-sends it.

The leaderboard's designated timestamp is its ``ts`` column; QuestDB cannot
store a NULL designated timestamp, so a leaderboard row appended without ``ts``
is stored at the epoch (1970-01-01) and read back with ``ts`` None.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
import psycopg
import pyarrow as pa
from psycopg_pool import PoolTimeout
from questdb import Sender

from arena.store.base import RunRecord, Store, check_finish, check_reopen
from arena.store.questdb_pool import POOL_MAX, POOL_WAIT_S, discard_pool, read_pool
from arena.store.questdb_reads import QuestDBReads, wait_wal_applied
from arena.store.rows import SeqClock, to_arrow
from arena.store.schema import (
    TABLES,
    Table,
    get_table,
)
from arena.store.questdb_wire import DEFAULT_PREFIX, ilp_frame, questdb_ddl
from arena.store.questdb_wire import questdb_type as questdb_type  # re-exported: callers import it from here
from arena.store.spool import Spool, leftover_spools

__all__ = ["DEFAULT_HTTP_PORT", "DEFAULT_PG_PORT", "QuestDBStore", "default_spool_root", "open_questdb", "questdb_type"]

log = logging.getLogger("arena.store.questdb")

DEFAULT_HTTP_PORT = 9000
DEFAULT_PG_PORT = 8812

_PREFIX = re.compile(r"^[A-Za-z0-9_]*$")
def default_spool_root() -> Path:
    """``$ARENA_CACHE/questdb-spool`` (default ``<repo>/.cache/questdb-spool``)."""
    cache = os.environ.get("ARENA_CACHE") or str(Path(__file__).resolve().parents[2] / ".cache")
    return Path(cache) / "questdb-spool"


class QuestDBStore(QuestDBReads, Store):
    """A :class:`Store` on a QuestDB server.

    Args:
        host: server host name or address.
        http_port: HTTP port (ILP over HTTP, ``/exec``).
        pg_port: PostgreSQL-wire port (reads, DDL).
        read_only: open for reading only; writes then raise PermissionError.
        prefix: table-name prefix (letters, digits, ``_``).
        user: PostgreSQL-wire user (QuestDB's default ``admin``).
        password: its password (QuestDB's default ``quest``).
        batch_rows: buffered rows per table that trigger a send.
        flush_interval_s: an append sends every buffer when this long has passed
            since the last send.
        retry_interval_s: while the server is away, how often a write tries it again.
        apply_timeout_s: how long :meth:`flush` waits for the WAL to be applied.
        connect_timeout_s: PostgreSQL-wire connect timeout.
        spool_dir: folder of the spool files (default
            ``$ARENA_CACHE/questdb-spool/<host>-<http_port>-<prefix>``).

    Raises:
        ValueError: for a malformed prefix, or (naming table and column) when the
            server's tables do not match :data:`arena.store.schema.TABLES`.
        ConnectionError: naming host and port, when the server cannot be reached
            at open by a read-only store (a writer opens and spools).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        http_port: int = DEFAULT_HTTP_PORT,
        pg_port: int = DEFAULT_PG_PORT,
        read_only: bool = False,
        *,
        prefix: str = DEFAULT_PREFIX,
        user: str = "admin",
        password: str = "quest",
        batch_rows: int = 20_000,
        flush_interval_s: float = 1.0,
        retry_interval_s: float = 1.0,
        apply_timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        spool_dir: str | Path | None = None,
    ) -> None:
        if not _PREFIX.match(prefix):
            raise ValueError(f"QuestDB table prefix must be letters, digits or '_', got {prefix!r}")
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
        self.host, self.http_port, self.pg_port = host, int(http_port), int(pg_port)
        self.prefix = prefix
        self.read_only = read_only
        self.batch_rows = batch_rows
        self.flush_interval_s = flush_interval_s
        self.retry_interval_s = retry_interval_s
        self.apply_timeout_s = apply_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._conninfo = (
            f"host={host} port={self.pg_port} user={user} password={password} dbname=qdb "
            f"connect_timeout={max(1, round(connect_timeout_s))}"
        )
        self._lock = threading.RLock()
        self._closed = False
        self._pending: dict[str, list[pa.Table]] = {}
        self._pending_rows: dict[str, int] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._touched: set[str] = set()
        self._seq = SeqClock()
        self._last_send_s = time.monotonic()
        self._down_since: float | None = None
        self._next_try_s = 0.0
        self._sender: Sender | None = None
        self._ready = False  # tables made and checked, sender open: the server has answered once
        folder = Path(spool_dir) if spool_dir else default_spool_root() / f"{host}-{self.http_port}-{prefix}"
        self.spool_dir = folder
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._spool = Spool(folder / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}.jsonl")
        self._con: psycopg.Connection | None = None
        try:
            self._open_server()
        except _SEND_ERRORS as exc:
            if read_only:
                self._release()
                raise
            self._went_away(exc)  # a writer trades on: rows are spooled until the server answers
        except BaseException:
            self._release()
            raise

    def _open_server(self) -> None:
        """Connect, create and check the tables, open the ILP sender and re-send the spools
        earlier writers left; done at open, or at the first write the server answers when it
        was down at open.

        Raises:
            ConnectionError: the server does not answer.
            ValueError: the server's tables do not match the schema.
        """
        self._con = self._connect()
        if not self.read_only:
            for table in TABLES.values():
                self._execute(questdb_ddl(table, self.prefix))
                self._add_missing_columns(table)
        self._check_schema()
        if not self.read_only:
            self._sender = Sender.from_conf(
                f"http::addr={self.host}:{self.http_port};retry_timeout=0;auto_flush=off;"
                "request_timeout=10000;"
            )
            self._sender.establish()
            self._ready = True  # before the leftovers: their re-send goes through _send
            self._resend_leftovers()
        else:
            self._ready = True

    def _add_missing_columns(self, table: Table) -> None:
        """Bring a table made by an earlier version up to date, as the DuckDB store does:
        the nullable columns this version has after the server's last one are added
        (NULL in the existing rows); a table that is not a prefix of this version's is
        left for the schema check to name."""
        found = self._execute(f"SELECT \"column\" FROM table_columns('{self.prefix}{table.name}')")
        have = [r[0] for r in found]
        if list(table.column_names[: len(have)]) != have:
            return
        for col in table.columns[len(have) :]:
            if not col.nullable:
                return
            self._execute(f'ALTER TABLE "{self.prefix}{table.name}" ADD COLUMN "{col.name}" {questdb_type(col)}')

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"QuestDBStore({self.host}:{self.http_port}, pg {self.pg_port}, prefix {self.prefix!r}, {mode})"

    # ------------------------------------------------------------------ connection

    def _connect(self) -> psycopg.Connection:
        """A connection: borrowed from the server's pool when read-only, else a dedicated one.

        Raises:
            ConnectionError: naming host and port, when the server does not answer (or,
                read-only, when all pooled connections stay in use for ``connect_timeout_s``).
        """
        if not self.read_only:
            return self._connect_direct()
        pool = read_pool(self.host, self.pg_port, self._conninfo, self.connect_timeout_s)
        try:
            if pool.get_stats().get("pool_available", 0) == 0:
                # The pool would connect in its worker and let us wait out the timeout when
                # nothing listens: fail fast with the server's own answer instead.
                try:
                    socket.create_connection((self.host, self.pg_port), timeout=self.connect_timeout_s).close()
                except OSError:
                    self._connect_direct().close()
            try:
                return pool.getconn()
            except PoolTimeout:
                self._connect_direct().close()  # raises when the server went away meanwhile
        except ConnectionError:
            discard_pool(pool)  # its idle connections are dead and its worker would keep reconnecting
            raise
        raise ConnectionError(
            f"QuestDB at {self.host}:{self.pg_port} (PostgreSQL wire): all {POOL_MAX} pooled read "
            f"connections stayed in use for {max(self.connect_timeout_s, POOL_WAIT_S):g} s"
        )

    def _connect_direct(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConnectionError(
                f"QuestDB at {self.host}:{self.pg_port} (PostgreSQL wire) does not answer: "
                f"{str(exc).strip()}; start one with scripts/questdb.sh start"
            ) from None

    def _drop_connection(self, close: bool) -> None:
        """Let go of the store's connection: back to its pool when read-only (a closed or
        broken one is discarded there), else closed. ``close`` closes a pooled one first."""
        con, self._con = self._con, None
        if con is None:
            return
        if not self.read_only:
            con.close()
            return
        if close:
            con.close()
        read_pool(self.host, self.pg_port, self._conninfo, self.connect_timeout_s).putconn(con)

    def _release(self) -> None:
        self._drop_connection(close=False)
        if self._sender is not None:
            try:
                self._sender.close(flush=False)
            except Exception:  # noqa: BLE001 - nothing buffered in it; closing is best effort
                pass
            self._sender = None
        self._spool.close()

    def _t(self, name: str) -> str:
        return f'"{self.prefix}{name}"'

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement with bound parameters; reconnects once after a broken connection."""
        for attempt in (0, 1):
            if self._con is not None and (self._con.closed or self._con.broken):
                self._drop_connection(close=True)
            if self._con is None:
                self._con = self._connect()
            try:
                cur = self._con.execute(sql, list(params) if params else None)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.OperationalError:
                if attempt:
                    raise
                self._drop_connection(close=True)
        raise AssertionError("unreachable")  # pragma: no cover

    def _writable(self) -> None:
        self._live()
        if self.read_only:
            raise PermissionError(f"{self!r} is open read-only; cannot write")

    def _live(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")

    # ------------------------------------------------------------------ writes

    def create_run(self, run: RunRecord | Mapping[str, Any]) -> None:
        """See :meth:`Store.create_run` (the existence check needs the server to answer)."""
        run = RunRecord.coerce(run)
        with self._lock:
            self._writable()
            row = run.to_row()
            # with the server down since the open, only this writer's runs can be checked
            if run.run_id in self._runs or (self._ready and self._raw_run(run.run_id) is not None):
                raise ValueError(f"run {run.run_id!r} already exists in {self!r}")
            self._runs[run.run_id] = row
            self._send_or_spool("runs", to_arrow(TABLES["runs"], [row]))

    def finish_run(self, run_id: str, ended_at: dt.datetime, status: str, n_bars: int) -> None:
        """See :meth:`Store.finish_run`: the run's row is sent again with the end filled in."""
        ended_utc = check_finish(ended_at, status, n_bars)
        with self._lock:
            self._writable()
            self._write_pending()
            row = self._runs.get(run_id) or (self._raw_run(run_id) if self._ready else None)
            if row is None:
                raise ValueError(f"finish_run: unknown run_id {run_id!r}")
            if row["status"] != "running":
                raise ValueError(f"finish_run: run {run_id!r} already ended with status {row['status']!r}")
            row = {**row, "ended_at": ended_utc, "status": status, "n_bars": n_bars}
            self._runs[run_id] = row
            self._send_or_spool("runs", to_arrow(TABLES["runs"], [row]))
            self._settle()

    def reopen_run(self, run_id: str) -> dict[str, Any]:
        """See :meth:`Store.reopen_run`: the run's row is sent again, running, without an end
        (the server must answer: the stopped row is read from it)."""
        with self._lock:
            self._writable()
            self._write_pending()
            row = self._runs.get(run_id) or self._raw_run(run_id)
            check_reopen(run_id, None if row is None else row["status"])
            assert row is not None
            before = self.get_run(run_id)
            row = {**row, "ended_at": None, "status": "running"}
            self._runs[run_id] = row
            self._send_or_spool("runs", to_arrow(TABLES["runs"], [row]))
            self._settle()
        assert before is not None
        return before

    def append(self, table: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> None:
        """See :meth:`Store.append`. Never raises for an unreachable server (the rows are spooled).

        Unlike the DuckDB store, a row whose dedup key was written before replaces
        that row (QuestDB ``DEDUP UPSERT``) instead of raising.
        """
        spec = get_table(table)
        if spec.name == "runs":
            raise ValueError("table 'runs' is written with create_run/finish_run, not append")
        batch = self._seq.stamp(spec, to_arrow(spec, rows))
        with self._lock:
            self._writable()
            if batch.num_rows == 0:
                return
            self._pending.setdefault(spec.name, []).append(batch)
            self._pending_rows[spec.name] = self._pending_rows.get(spec.name, 0) + batch.num_rows
            if time.monotonic() - self._last_send_s >= self.flush_interval_s:
                self._write_pending()
            elif self._pending_rows[spec.name] >= self.batch_rows:
                self._write_table(spec.name)

    def flush(self) -> None:
        """Send every buffered row (or spool it), re-send the spool when the server
        answers, and wait until the server has applied what was sent. A no-op on a
        read-only store; never raises for an unreachable server."""
        with self._lock:
            self._live()
            if not self.read_only:
                self._write_pending()
                self._settle()

    def close(self) -> None:
        """See :meth:`Store.close`. Rows the server did not take stay in the spool file (logged)."""
        with self._lock:
            if self._closed:
                return
            try:
                if not self.read_only:
                    self._write_pending()
                    self._settle(force_try=True)
                    if self._spool.pending:
                        log.warning(
                            "QuestDB at %s:%d is still unreachable at close: %d batch(es) stay in %s; "
                            "the next writer opened on this server and prefix re-sends them",
                            self.host, self.http_port, self._spool.batches, self._spool.path,
                        )
            finally:
                self._closed = True
                self._release()

    def _write_pending(self) -> None:
        for name in list(self._pending):
            self._write_table(name)
        self._last_send_s = time.monotonic()

    def _write_table(self, name: str) -> None:
        batches = self._pending.pop(name, [])
        self._pending_rows.pop(name, None)
        if batches:
            self._send_or_spool(name, pa.concat_tables(batches))

    def _send_or_spool(self, name: str, batch: pa.Table) -> None:
        """Send ``batch`` after anything spooled before it, or spool it behind them."""
        if self._spool.pending and not self._replay_spool():
            self._spool.append(name, batch)
            return
        if self._down_since is not None and time.monotonic() < self._next_try_s:
            self._spool.append(name, batch)
            return
        try:
            self._send(name, batch)
        except _SEND_ERRORS as exc:
            self._went_away(exc)
            self._spool.append(name, batch)
            return
        self._came_back()

    def _replay_spool(self, force: bool = False) -> bool:
        """Re-send the spool when a try is due; True when it is empty afterwards."""
        if not force and self._down_since is not None and time.monotonic() < self._next_try_s:
            return False
        try:
            self._spool.replay(self._send)
        except _SEND_ERRORS as exc:
            self._went_away(exc)
            return False
        self._came_back()
        return True

    def _send(self, name: str, batch: pa.Table) -> None:
        if not self._ready:  # down since the store was opened: set the server up first
            self._drop_connection(close=True)
            self._open_server()
        assert self._sender is not None
        spec = TABLES[name]
        frame = ilp_frame(spec, batch)
        symbols = [c.name for c in spec.columns if c.low_cardinality and c.name in frame.columns]
        buf = self._sender.new_buffer()
        buf.dataframe(frame, table_name=self.prefix + name, symbols=symbols, at=spec.timestamp)
        self._sender.flush(buf, clear=True, transactional=True)
        self._touched.add(name)

    def _went_away(self, exc: BaseException) -> None:
        self._next_try_s = time.monotonic() + self.retry_interval_s
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "QuestDB at %s:%d went away (%s: %s); spooling rows to %s until it answers again",
                self.host, self.http_port, type(exc).__name__, str(exc).splitlines()[0][:300],
                self._spool.path,
            )

    def _came_back(self) -> None:
        if self._down_since is not None:
            log.warning(
                "QuestDB at %s:%d answers again after %.1f s; spooled rows re-sent",
                self.host, self.http_port, time.monotonic() - self._down_since,
            )
            self._down_since = None

    def _settle(self, force_try: bool = False) -> None:
        """Re-send the spool if due, then wait for the WAL of every touched table to apply."""
        if self._spool.pending and not self._replay_spool(force=force_try):
            return
        if self._down_since is not None or not self._touched:
            return
        try:
            self._wait_applied()
        except psycopg.OperationalError as exc:
            self._went_away(exc)

    def _wait_applied(self) -> None:
        wait_wal_applied(self._execute, sorted(self.prefix + n for n in self._touched), self.apply_timeout_s)
        self._touched.clear()

    def _resend_leftovers(self) -> None:
        for spool in leftover_spools(self.spool_dir):
            if spool.path == self._spool.path:
                continue
            try:
                n = spool.replay(self._send)
                log.warning("re-sent %d batch(es) left in %s by an earlier writer", n, spool.path)
            except _SEND_ERRORS as exc:
                log.warning("could not re-send leftover spool %s yet: %s", spool.path, exc)
            finally:
                spool.close()
        if self._touched:
            self._wait_applied()



_SEND_ERRORS: tuple[type[BaseException], ...] = (OSError, psycopg.OperationalError)
try:  # the client's own error type (questdb >= 2)
    from questdb import QuestDBError as _QuestDBError

    _SEND_ERRORS = (*_SEND_ERRORS, _QuestDBError)
except ImportError:  # pragma: no cover
    pass


def open_questdb(location: str, read_only: bool = False, **options: Any) -> QuestDBStore:
    """Open ``questdb://<location>``: ``host[:http_port][?pg_port=N&prefix=P]``.

    Raises:
        ValueError: naming the URL part, for a malformed port or an unknown query key.
    """
    base, _, query = location.partition("?")
    host, _, port = base.rstrip("/").partition(":")
    if not host:
        raise ValueError(f"questdb://{location}: no host; expected questdb://host:port")
    try:
        http_port = int(port) if port else DEFAULT_HTTP_PORT
    except ValueError:
        raise ValueError(f"questdb://{location}: port {port!r} is not a number") from None
    args: dict[str, Any] = {}
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key == "pg_port":
            try:
                args["pg_port"] = int(values[-1])
            except ValueError:
                raise ValueError(f"questdb://{location}: pg_port {values[-1]!r} is not a number") from None
        elif key == "prefix":
            args["prefix"] = values[-1]
        else:
            raise ValueError(f"questdb://{location}: unknown query key {key!r}; known: pg_port, prefix")
    options = {k: v for k, v in options.items() if k != "busy_timeout_s"}  # a DuckDB option
    return QuestDBStore(host, http_port, read_only=read_only, **args, **options)
