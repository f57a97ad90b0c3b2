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
parameters only. WAL tables apply commits asynchronously; :meth:`QuestDBStore.flush`
returns once the server has applied them, so reads after a flush see the rows.

Faults: if the server does not answer, :meth:`QuestDBStore.append` never
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
import json
import logging
import os
import re
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
from questdb import Sender

from arena.store.base import RunRecord, Store
from arena.store.decode import decode_row, utc_datetime
from arena.store.rows import SeqClock, to_arrow
from arena.store.schema import (
    FINAL_RUN_STATUSES,
    KILL_SWITCH_EVENT_PREFIX,
    TABLES,
    Table,
    get_table,
)
from arena.store.questdb_wire import DEFAULT_PREFIX, from_questdb, ilp_frame, questdb_ddl, questdb_type, time_bounds
from arena.store.spool import Spool, leftover_spools

log = logging.getLogger("arena.store.questdb")

DEFAULT_HTTP_PORT = 9000
DEFAULT_PG_PORT = 8812

_PREFIX = re.compile(r"^[A-Za-z0-9_]*$")
_POOL_MAX = 8
_pool: dict[tuple[str, int, str], list[psycopg.Connection]] = {}
_pool_lock = threading.Lock()
_verified: set[tuple[str, int, str]] = set()  # (host, pg_port, prefix) whose schema was checked


def default_spool_root() -> Path:
    """``$ARENA_CACHE/questdb-spool`` (default ``<repo>/.cache/questdb-spool``)."""
    cache = os.environ.get("ARENA_CACHE") or str(Path(__file__).resolve().parents[2] / ".cache")
    return Path(cache) / "questdb-spool"


class QuestDBStore(Store):
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
            at open.
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
        self._con: psycopg.Connection | None = self._connect()
        folder = Path(spool_dir) if spool_dir else default_spool_root() / f"{host}-{self.http_port}-{prefix}"
        self.spool_dir = folder
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._spool = Spool(folder / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}.jsonl")
        try:
            if not read_only:
                for table in TABLES.values():
                    self._execute(questdb_ddl(table, prefix))
            self._check_schema()
            if not read_only:
                self._sender = Sender.from_conf(
                    f"http::addr={host}:{self.http_port};retry_timeout=0;auto_flush=off;"
                    "request_timeout=10000;"
                )
                self._sender.establish()
                self._resend_leftovers()
        except BaseException:
            self._release()
            raise

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"QuestDBStore({self.host}:{self.http_port}, pg {self.pg_port}, prefix {self.prefix!r}, {mode})"

    # ------------------------------------------------------------------ connection

    def _connect(self) -> psycopg.Connection:
        key = (self.host, self.pg_port, self._conninfo)
        if self.read_only:
            with _pool_lock:
                idle = _pool.get(key, [])
                while idle:
                    con = idle.pop()
                    if not con.closed and not con.broken:
                        return con
        try:
            return psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConnectionError(
                f"QuestDB at {self.host}:{self.pg_port} (PostgreSQL wire) does not answer: "
                f"{str(exc).strip()}; start one with scripts/questdb.sh start"
            ) from None

    def _release(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            key = (self.host, self.pg_port, self._conninfo)
            with _pool_lock:
                idle = _pool.setdefault(key, [])
                if self.read_only and not con.broken and len(idle) < _POOL_MAX:
                    idle.append(con)
                    con = None
            if con is not None:
                con.close()
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
            if self._con is None or self._con.closed or self._con.broken:
                self._con = self._connect()
            try:
                cur = self._con.execute(sql, list(params) if params else None)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.OperationalError:
                if attempt:
                    raise
                self._con.close()
                self._con = None
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_schema(self) -> None:
        """Compare the server's tables with the schema, once per process and server/prefix
        (read-only stores are opened per API request)."""
        key = (self.host, self.pg_port, self.prefix)
        if key in _verified:
            return
        for table in TABLES.values():
            # table_columns() takes a literal; the name is the validated prefix + a schema name
            found = self._execute(
                f"SELECT \"column\", \"type\" FROM table_columns('{self.prefix}{table.name}')"
            ) if self._table_exists(table) else []
            if not found:
                raise ValueError(
                    f"QuestDB {self.host}:{self.pg_port} holds no arena store with prefix "
                    f"{self.prefix!r}: table {self.prefix + table.name!r} is missing"
                )
            have = [(r[0], r[1]) for r in found]
            want = [(c.name, questdb_type(c)) for c in table.columns]
            if have != want:
                raise ValueError(
                    f"QuestDB table {self.prefix + table.name!r} does not match this version's "
                    f"schema: expected (name, type) {want}, found {have}"
                )
        _verified.add(key)

    def _table_exists(self, table: Table) -> bool:
        rows = self._execute("SELECT count() FROM tables() WHERE table_name = %s", [self.prefix + table.name])
        return bool(rows and rows[0][0])

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
            if run.run_id in self._runs or self._raw_run(run.run_id) is not None:
                raise ValueError(f"run {run.run_id!r} already exists in {self!r}")
            self._runs[run.run_id] = row
            self._send_or_spool("runs", to_arrow(TABLES["runs"], [row]))

    def finish_run(self, run_id: str, ended_at: dt.datetime, status: str, n_bars: int) -> None:
        """See :meth:`Store.finish_run`: the run's row is sent again with the end filled in."""
        ended_utc = utc_datetime(ended_at, "ended_at")
        if status not in FINAL_RUN_STATUSES:
            raise ValueError(
                f"finish_run status: expected one of {sorted(FINAL_RUN_STATUSES)}, got {status!r}"
            )
        if isinstance(n_bars, bool) or not isinstance(n_bars, int) or n_bars < 0:
            raise ValueError(f"finish_run n_bars: expected an int >= 0, got {n_bars!r}")
        with self._lock:
            self._writable()
            self._write_pending()
            row = self._runs.get(run_id) or self._raw_run(run_id)
            if row is None:
                raise ValueError(f"finish_run: unknown run_id {run_id!r}")
            if row["status"] != "running":
                raise ValueError(f"finish_run: run {run_id!r} already ended with status {row['status']!r}")
            row = {**row, "ended_at": ended_utc, "status": status, "n_bars": n_bars}
            self._runs[run_id] = row
            self._send_or_spool("runs", to_arrow(TABLES["runs"], [row]))
            self._settle()

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
        names = sorted(self.prefix + n for n in self._touched)
        marks = ", ".join(["%s"] * len(names))
        sql = f"SELECT name, writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name IN ({marks})"
        target: dict[str, int] = {}
        deadline = time.monotonic() + self.apply_timeout_s
        while True:
            rows = self._execute(sql, names)
            lagging = []
            for name, writer_txn, sequencer_txn, suspended in rows:
                if suspended:
                    raise RuntimeError(
                        f"QuestDB suspended WAL table {name!r} (see the server log); its rows are "
                        "not applied. Resume with: ALTER TABLE ... RESUME WAL"
                    )
                target.setdefault(name, sequencer_txn)
                if writer_txn < target[name]:
                    lagging.append(name)
            if not lagging:
                self._touched.clear()
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"QuestDB did not apply the WAL of {lagging} within {self.apply_timeout_s} s"
                )
            time.sleep(0.02)

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

    # ------------------------------------------------------------------ reads

    def _query(self, table: Table, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._lock:
            self._live()
            if not self.read_only:
                self.flush()
            rows = self._execute(sql, params)
        names = table.column_names
        return [decode_row(table, from_questdb(table, dict(zip(names, r, strict=True)))) for r in rows]

    def _select(self, table: Table) -> str:
        return ", ".join(f'"{c}"' for c in table.column_names)

    def _raw_run(self, run_id: str) -> dict[str, Any] | None:
        """The ``runs`` row as :meth:`RunRecord.to_row` gives it, or None."""
        t = TABLES["runs"]
        rows = self._execute(f"SELECT {self._select(t)} FROM {self._t('runs')} WHERE run_id = %s", [run_id])
        if not rows:
            return None
        raw = from_questdb(t, dict(zip(t.column_names, rows[-1], strict=True)))
        raw["symbols"] = list(raw["symbols"])
        return raw

    def list_runs(self) -> list[dict[str, Any]]:
        """See :meth:`Store.list_runs`."""
        t = TABLES["runs"]
        sql = f"SELECT {self._select(t)} FROM {self._t('runs')} ORDER BY started_at DESC, run_id"
        return self._query(t, sql, [])

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.get_run`."""
        t = TABLES["runs"]
        rows = self._query(t, f"SELECT {self._select(t)} FROM {self._t('runs')} WHERE run_id = %s", [run_id])
        return rows[0] if rows else None

    def leaderboard(self, run_id: str) -> list[dict[str, Any]]:
        """See :meth:`Store.leaderboard`: the latest row of each contender (``LATEST ON ts``)."""
        t = TABLES["leaderboard"]
        sql = (
            f"SELECT {self._select(t)} FROM (SELECT {self._select(t)} FROM {self._t('leaderboard')} "
            'WHERE run_id = %s LATEST ON ts PARTITION BY contender) ORDER BY "rank", contender'
        )
        return self._query(t, sql, [run_id])

    def contenders(self, run_id: str) -> list[str]:
        """See :meth:`Store.contenders`."""
        with self._lock:
            self._live()
            if not self.read_only:
                self.flush()
            found: set[str] = set()
            for name in ("equity", "decisions", "leaderboard"):
                rows = self._execute(f"SELECT DISTINCT contender FROM {self._t(name)} WHERE run_id = %s", [run_id])
                found.update(r[0] for r in rows if r[0] is not None)
        return sorted(found)

    def equity_curve(
        self,
        run_id: str,
        contender: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`Store.equity_curve`."""
        t = TABLES["equity"]
        where, params = ["run_id = %s", "contender = %s"], [run_id, contender]
        time_bounds(where, params, start, end)
        sql = (
            f"SELECT {self._select(t)} FROM {self._t('equity')} WHERE {' AND '.join(where)} "
            "ORDER BY ts, bar_index"
        )
        return self._query(t, sql, params)

    def decisions(
        self,
        run_id: str,
        contender: str | None = None,
        symbol: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """See :meth:`Store.decisions`."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"decisions limit: expected an int >= 1, got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError(f"decisions offset: expected an int >= 0, got {offset!r}")
        t = TABLES["decisions"]
        where: list[str] = ["run_id = %s"]
        params: list[Any] = [run_id]
        if contender is not None:
            where.append("contender = %s")
            params.append(contender)
        if symbol is not None:
            # symbols is JSON text; a JSON-quoted name matches exactly one whole element
            where.append("strpos(symbols, %s) > 0")
            params.append(json.dumps(symbol))
        time_bounds(where, params, start, end)
        sql = (
            f"SELECT {self._select(t)} FROM {self._t('decisions')} WHERE {' AND '.join(where)} "
            "ORDER BY ts, contender, decision_id LIMIT %s, %s"
        )
        return self._query(t, sql, [*params, offset, offset + limit])

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.decision`."""
        t = TABLES["decisions"]
        found = self._query(
            t, f"SELECT {self._select(t)} FROM {self._t('decisions')} WHERE decision_id = %s", [decision_id]
        )
        if not found:
            return None
        result = found[0]
        scope = [result["run_id"], result["contender"]]
        v, o, f = TABLES["risk_verdicts"], TABLES["orders"], TABLES["fills"]
        result["verdicts"] = self._query(
            v,
            f"SELECT {self._select(v)} FROM {self._t('risk_verdicts')} WHERE decision_id = %s "
            "AND run_id = %s AND contender = %s ORDER BY ts, seq",
            [decision_id, *scope],
        )
        with self._lock:
            own = self._execute(
                f"SELECT DISTINCT client_order_id FROM {self._t('orders')} "
                "WHERE run_id = %s AND contender = %s AND decision_id = %s",
                [*scope, decision_id],
            )
        coids = sorted(r[0] for r in own)
        match = "decision_id = %s"
        if coids:
            match = f"(decision_id = %s OR client_order_id IN ({', '.join(['%s'] * len(coids))}))"
        for key, spec in (("order_events", o), ("fills", f)):
            result[key] = self._query(
                spec,
                f"SELECT {self._select(spec)} FROM {self._t(spec.name)} WHERE run_id = %s AND contender = %s "
                f"AND {match} ORDER BY ts, seq",
                [*scope, decision_id, *coids],
            )
        return result

    def kill_switch_events(self, run_id: str) -> list[dict[str, Any]]:
        """See :meth:`Store.kill_switch_events`."""
        return [e for e in self.events(run_id) if e["kind"].startswith(KILL_SWITCH_EVENT_PREFIX)]

    def events(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`Store.events`."""
        t = TABLES["events"]
        where, params = ["run_id = %s"], [run_id]
        if kind is not None:
            where.append("kind = %s")
            params.append(kind)
        sql = (
            f"SELECT {self._select(t)} FROM {self._t('events')} WHERE {' AND '.join(where)} ORDER BY ts, seq"
        )
        return self._query(t, sql, params)


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
