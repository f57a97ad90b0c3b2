"""The embedded store: one DuckDB file, no server.

DuckDB allows one writer *process* per file, and while it has the file open no
other process can open it, not even read-only. The arena therefore writes
through one recorder; readers (the HTTP API) open the file ``read_only=True``
for the length of a request and get :class:`StoreBusyError` while a run is
writing. Many concurrent writers are the QuestDB store's job.

Appends are validated at once and buffered per table in Arrow; a table's
buffer is inserted in one ``INSERT ... SELECT`` from the Arrow batch when it
reaches ``batch_rows``, when ``flush_interval_s`` has passed since the last
write (checked on append, so a crash loses at most that much of the audit
trail), on :meth:`DuckDBStore.flush`, before any read through
the same store, and on close.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from arena.store.base import (
    RowsRejectedError,
    RunRecord,
    Store,
    StoreBusyError,
    check_actions,
    check_finish,
    check_reopen,
    check_limit,
    check_page,
    time_bounds,
)
from arena.store.decode import decode_row
from arena.store.rows import SeqClock, to_arrow
from arena.store.schema import (
    KILL_SWITCH_EVENT_PREFIX,
    TABLES,
    ColumnType,
    Table,
    get_table,
)

__all__ = ["DUCKDB_TYPES", "DuckDBStore", "duckdb_ddl"]

DUCKDB_TYPES: Mapping[ColumnType, str] = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.INT: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.TIMESTAMP: "TIMESTAMP WITH TIME ZONE",
    ColumnType.JSON: "JSON",
    ColumnType.STRING_LIST: "VARCHAR[]",
}
"""DuckDB SQL type of each column type (as ``information_schema`` spells it)."""

_VERIFIED: set[tuple[str, int, int, int]] = set()
"""Store files (path, device, inode, mtime ns) whose schema this process has checked."""

_BATCH_VIEW = "_arena_append_batch"
_LOCK_MARKERS = ("could not set lock", "conflicting lock", "different configuration")


def duckdb_ddl(table: Table) -> str:
    """``CREATE TABLE IF NOT EXISTS`` statement for ``table``, generated from the schema."""
    parts = [
        f'"{c.name}" {DUCKDB_TYPES[c.type]}{"" if c.nullable else " NOT NULL"}'
        for c in table.columns
    ]
    if table.key:
        parts.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in table.key) + ")")
    return f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  ' + ",\n  ".join(parts) + "\n)"


def _select_list(table: Table, alias: str = "") -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{c}"' for c in table.column_names)


class DuckDBStore(Store):
    """A :class:`Store` in one DuckDB file.

    Args:
        path: the ``.duckdb`` file; created (with its folder) when opened for writing.
        read_only: open for reading only; writes then raise PermissionError.
        batch_rows: buffered rows per table that trigger an insert.
        flush_interval_s: an append writes every buffer when this long has
            passed since the last write (0 writes on every append).
        busy_timeout_s: how long to retry while another process holds the file
            before raising :class:`StoreBusyError`.

    Raises:
        FileNotFoundError: naming the file, if ``read_only`` and it does not exist.
        StoreBusyError: naming the file, if it stays locked for ``busy_timeout_s``.
        ValueError: naming the file, table and column, if an existing file's
            tables do not match :data:`arena.store.schema.TABLES`.

    Examples:
        >>> with DuckDBStore("/tmp/arena.duckdb") as store:  # doctest: +SKIP
        ...     store.append("equity", [{"run_id": "r1", "contender": "sma", "ts": 0,
        ...                              "bar_index": 0, "equity": 1e5, "cash": 1e5,
        ...                              "gross_exposure": 0.0}])
    """

    def __init__(
        self,
        path: str | Path,
        read_only: bool = False,
        *,
        batch_rows: int = 50_000,
        flush_interval_s: float = 1.0,
        busy_timeout_s: float = 2.0,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
        self.path = Path(path).expanduser().resolve()
        self.read_only = read_only
        if not flush_interval_s >= 0:
            raise ValueError(f"flush_interval_s must be >= 0 seconds, got {flush_interval_s}")
        self.batch_rows = batch_rows
        self.flush_interval_s = flush_interval_s
        self._last_write_s = time.monotonic()
        self._lock = threading.RLock()
        self._pending: dict[str, list[pa.Table]] = {}
        self._pending_rows: dict[str, int] = {}
        self._pending_keys: dict[str, list[pa.Table]] = {}  # key columns of the buffered batches
        self._seq = SeqClock()
        if read_only and not self.path.is_file():
            raise FileNotFoundError(f"store file {str(self.path)!r} does not exist")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con: duckdb.DuckDBPyConnection | None = self._connect(busy_timeout_s)
        try:
            self._con.execute("SET TimeZone = 'UTC'")
            if not read_only:
                for table in TABLES.values():
                    self._con.execute(duckdb_ddl(table))
                    self._add_missing_columns(table)
            self._check_schema()
        except BaseException:
            self._con.close()
            self._con = None
            raise

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"DuckDBStore({str(self.path)!r}, {mode})"

    # ------------------------------------------------------------------ connection

    def _connect(self, busy_timeout_s: float) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + max(busy_timeout_s, 0.0)
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=self.read_only)
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                text = str(exc).lower()
                if not any(marker in text for marker in _LOCK_MARKERS):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusyError(str(self.path), str(exc)) from None
                time.sleep(0.05)

    def _add_missing_columns(self, table: Table) -> None:
        """Bring a table written by an earlier version up to date: nullable columns this
        version appends at the end of a table are added (NULL in the existing rows)."""
        con = self._live()
        have = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position",
                [table.name],
            ).fetchall()
        ]
        if list(table.column_names[: len(have)]) != have:
            return  # not a prefix of this version's columns: _check_schema names the mismatch
        for col in table.columns[len(have) :]:
            if not col.nullable:
                return
            con.execute(f'ALTER TABLE "{table.name}" ADD COLUMN "{col.name}" {DUCKDB_TYPES[col.type]}')

    def _check_schema(self) -> None:
        """Every table of the schema, with this version's columns in order: one query over
        ``information_schema``; a file verified once in this process (same inode, unchanged
        since) is not queried again when opened read-only (the API opens one per request)."""
        try:
            st = os.stat(self.path)
            identity: tuple[str, int, int, int] | None = (str(self.path), st.st_dev, st.st_ino, st.st_mtime_ns)
        except OSError:
            identity = None
        if self.read_only and identity is not None and identity in _VERIFIED:
            return
        con = self._live()
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
        by_table: dict[str, list[tuple[str, str]]] = {}
        for table_name, column, dtype in rows:
            by_table.setdefault(table_name, []).append((column, dtype))
        for table in TABLES.values():
            found = by_table.get(table.name)
            if not found:
                raise ValueError(
                    f"{str(self.path)!r} is not an arena store: table {table.name!r} is missing"
                )
            expected = [(c.name, DUCKDB_TYPES[c.type]) for c in table.columns]
            for i in range(max(len(expected), len(found))):
                want = expected[i] if i < len(expected) else None
                have = tuple(found[i]) if i < len(found) else None
                if want != have:
                    raise ValueError(
                        f"{str(self.path)!r}: table {table.name!r} does not match this "
                        f"version's schema at column {i}: expected (name, type) {want!r}, "
                        f"found {have!r}"
                    )
        if identity is not None:
            _VERIFIED.add(identity)

    def _live(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise RuntimeError(f"store {str(self.path)!r} is closed")
        return self._con

    def _writable(self) -> duckdb.DuckDBPyConnection:
        con = self._live()
        if self.read_only:
            raise PermissionError(f"store {str(self.path)!r} is open read-only; cannot write")
        return con

    # ------------------------------------------------------------------ writes

    def create_run(self, run: RunRecord | Mapping[str, Any]) -> None:
        """See :meth:`Store.create_run`."""
        run = RunRecord.coerce(run)
        with self._lock:
            con = self._writable()
            batch = to_arrow(TABLES["runs"], [run.to_row()])
            try:
                self._insert(con, TABLES["runs"], batch)
            except duckdb.ConstraintException:
                raise ValueError(
                    f"run {run.run_id!r} already exists in {str(self.path)!r}"
                ) from None

    def finish_run(self, run_id: str, ended_at: dt.datetime, status: str, n_bars: int) -> None:
        """See :meth:`Store.finish_run`."""
        ended_utc = check_finish(ended_at, status, n_bars)
        with self._lock:
            con = self._writable()
            self._write_pending()
            found = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchall()
            row = found[0] if found else None
            if row is None:
                raise ValueError(f"finish_run: unknown run_id {run_id!r}")
            if row[0] != "running":
                raise ValueError(f"finish_run: run {run_id!r} already ended with status {row[0]!r}")
            con.execute(
                "UPDATE runs SET ended_at = ?, status = ?, n_bars = ? WHERE run_id = ?",
                [ended_utc, status, n_bars, run_id],
            )

    def reopen_run(self, run_id: str) -> dict[str, Any]:
        """See :meth:`Store.reopen_run`."""
        with self._lock:
            con = self._writable()
            self._write_pending()
            found = con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchall()
            check_reopen(run_id, found[0][0] if found else None)
            before = self.get_run(run_id)
            assert before is not None  # its status was just read
            con.execute("UPDATE runs SET ended_at = NULL, status = 'running' WHERE run_id = ?", [run_id])
        return before

    def append(self, table: str, rows: Sequence[Mapping[str, Any]] | pd.DataFrame) -> None:
        """See :meth:`Store.append`. ``runs`` rows go through :meth:`create_run`."""
        spec = get_table(table)
        if spec.name == "runs":
            raise ValueError("table 'runs' is written with create_run/finish_run, not append")
        batch = self._seq.stamp(spec, to_arrow(spec, rows))
        with self._lock:
            self._writable()
            if batch.num_rows == 0:
                return
            if spec.key:
                keys = batch.select(list(spec.key))
                pending = self._pending_keys.setdefault(spec.name, [])
                if pending:  # one vectorized join against the buffered keys
                    clash = pa.concat_tables(pending).join(keys, list(spec.key), join_type="inner")
                    if clash.num_rows:
                        first = min(zip(*(clash.column(k).to_pylist() for k in spec.key), strict=True))
                        raise ValueError(
                            f"table {spec.name!r}: key ({', '.join(spec.key)}) = {first!r} was already appended"
                        )
                pending.append(keys)
            self._pending.setdefault(spec.name, []).append(batch)
            self._pending_rows[spec.name] = self._pending_rows.get(spec.name, 0) + batch.num_rows
            if time.monotonic() - self._last_write_s >= self.flush_interval_s:
                self._write_pending()
            elif self._pending_rows[spec.name] >= self.batch_rows:
                self._write_table(spec)

    def flush(self) -> None:
        """See :meth:`Store.flush`; a no-op on a read-only store."""
        with self._lock:
            self._live()
            if not self.read_only:
                self._write_pending()

    def close(self) -> None:
        """See :meth:`Store.close`."""
        with self._lock:
            if self._con is None:
                return
            try:
                if not self.read_only:
                    self._write_pending()
            finally:
                self._con.close()
                self._con = None

    def _write_pending(self) -> None:
        while self._pending:  # an on_rejected hook may append (its event) while a table is written
            self._write_table(TABLES[next(iter(self._pending))])
        self._last_write_s = time.monotonic()

    def _write_table(self, spec: Table) -> None:
        batches = self._pending.pop(spec.name, [])
        self._pending_rows.pop(spec.name, None)
        self._pending_keys.pop(spec.name, None)
        if not batches:
            return
        batch = pa.concat_tables(batches)
        con = self._live()
        try:
            self._insert(con, spec, batch)
        except duckdb.ConstraintException as exc:
            # keys already in the table (written by an earlier flush or process): write the rest,
            # and hand the clashing rows on, never dropping them
            clashing = self._clashing(con, spec, batch)
            bad = batch.filter(pa.array(clashing))
            if bad.num_rows < batch.num_rows:
                self._insert(con, spec, batch.filter(pa.array(~clashing)))
            message = (f"table {spec.name!r}: {bad.num_rows or batch.num_rows} buffered rows were not written: "
                       f"{self._clash(con, spec, bad if bad.num_rows else batch) or exc}")
            rejected = bad if bad.num_rows else batch
            if self.on_rejected is None:
                raise RowsRejectedError(spec.name, rejected, message) from None
            self.on_rejected(spec.name, rejected, message)

    @staticmethod
    def _insert(con: duckdb.DuckDBPyConnection, spec: Table, batch: pa.Table) -> None:
        cols = _select_list(spec)
        con.register(_BATCH_VIEW, batch)
        try:
            con.execute(f'INSERT INTO "{spec.name}" ({cols}) SELECT {cols} FROM {_BATCH_VIEW}')
        finally:
            con.unregister(_BATCH_VIEW)

    @staticmethod
    def _clashing(con: duckdb.DuckDBPyConnection, spec: Table, batch: pa.Table) -> np.ndarray:
        """bool[batch rows]: whose key is already in the table."""
        keys = ", ".join(f'"{k}"' for k in spec.key)
        view = batch.select(list(spec.key)).append_column("_row", pa.array(np.arange(batch.num_rows)))
        con.register(_BATCH_VIEW, view)
        try:
            rows = con.execute(
                f'SELECT {_BATCH_VIEW}._row FROM {_BATCH_VIEW} JOIN "{spec.name}" USING ({keys})'
            ).fetchnumpy()["_row"]
        finally:
            con.unregister(_BATCH_VIEW)
        mask = np.zeros(batch.num_rows, dtype=bool)
        mask[np.asarray(rows, dtype=np.int64)] = True
        return mask

    @staticmethod
    def _clash(con: duckdb.DuckDBPyConnection, spec: Table, batch: pa.Table) -> str:
        keys = ", ".join(f'"{k}"' for k in spec.key)
        con.register(_BATCH_VIEW, batch.select(list(spec.key)))
        try:
            rows = con.execute(
                f'SELECT {keys} FROM "{spec.name}" JOIN {_BATCH_VIEW} USING ({keys}) LIMIT 1'
            ).fetchall()
        finally:
            con.unregister(_BATCH_VIEW)
        if not rows:
            return ""
        return f"key ({', '.join(spec.key)}) = {tuple(rows[0])!r} already exists"

    # ------------------------------------------------------------------ reads

    def _query(self, table: Table, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._lock:
            con = self._live()
            if not self.read_only:
                self._write_pending()
            rows = con.execute(sql, list(params)).fetchall()
        names = table.column_names
        return [decode_row(table, dict(zip(names, row, strict=True))) for row in rows]

    def list_runs(self) -> list[dict[str, Any]]:
        """See :meth:`Store.list_runs`."""
        t = TABLES["runs"]
        return self._query(
            t, f"SELECT {_select_list(t)} FROM runs ORDER BY started_at DESC, run_id", []
        )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.get_run`."""
        t = TABLES["runs"]
        rows = self._query(t, f"SELECT {_select_list(t)} FROM runs WHERE run_id = ?", [run_id])
        return rows[0] if rows else None

    def leaderboard(self, run_id: str) -> list[dict[str, Any]]:
        """See :meth:`Store.leaderboard`."""
        t = TABLES["leaderboard"]
        sql = (
            f'SELECT {_select_list(t)} FROM leaderboard WHERE run_id = ? ORDER BY "rank", contender'
        )
        return self._query(t, sql, [run_id])

    def contenders(self, run_id: str) -> list[str]:
        """See :meth:`Store.contenders`."""
        sql = (
            "SELECT contender FROM equity WHERE run_id = ? "
            "UNION SELECT contender FROM decisions WHERE run_id = ? "
            "UNION SELECT contender FROM leaderboard WHERE run_id = ? ORDER BY contender"
        )
        with self._lock:
            con = self._live()
            if not self.read_only:
                self._write_pending()
            return [r[0] for r in con.execute(sql, [run_id, run_id, run_id]).fetchall()]

    def equity_curve(
        self,
        run_id: str,
        contender: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`Store.equity_curve`."""
        t = TABLES["equity"]
        where, params = ["run_id = ?", "contender = ?"], [run_id, contender]
        time_bounds(where, params, start, end, "?")
        sql = (
            f"SELECT {_select_list(t)} FROM equity WHERE {' AND '.join(where)} "
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
        check_page(limit, offset)
        t = TABLES["decisions"]
        where: list[str] = ["run_id = ?"]
        params: list[Any] = [run_id]
        if contender is not None:
            where.append("contender = ?")
            params.append(contender)
        if symbol is not None:
            where.append("list_contains(symbols, ?)")
            params.append(symbol)
        time_bounds(where, params, start, end, "?")
        sql = (
            f"SELECT {_select_list(t)} FROM decisions WHERE {' AND '.join(where)} "
            "ORDER BY ts, contender, decision_id LIMIT ? OFFSET ?"
        )
        return self._query(t, sql, [*params, limit, offset])

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.decision`."""
        t = TABLES["decisions"]
        found = self._query(
            t, f"SELECT {_select_list(t)} FROM decisions WHERE decision_id = ?", [decision_id]
        )
        if not found:
            return None
        result = found[0]
        scope = [result["run_id"], result["contender"]]
        own_orders = (
            "SELECT client_order_id FROM orders "
            "WHERE run_id = ? AND contender = ? AND decision_id = ?"
        )
        v, o, f = TABLES["risk_verdicts"], TABLES["orders"], TABLES["fills"]
        result["verdicts"] = self._query(
            v,
            f"SELECT {_select_list(v)} FROM risk_verdicts WHERE decision_id = ? "
            "AND run_id = ? AND contender = ? ORDER BY ts, seq, rowid",
            [decision_id, *scope],
        )
        result["order_events"] = self._query(
            o,
            f"SELECT {_select_list(o)} FROM orders WHERE run_id = ? AND contender = ? "
            f"AND (decision_id = ? OR client_order_id IN ({own_orders})) ORDER BY ts, seq, rowid",
            [*scope, decision_id, *scope, decision_id],
        )
        result["fills"] = self._query(
            f,
            f"SELECT {_select_list(f)} FROM fills WHERE run_id = ? AND contender = ? "
            f"AND (decision_id = ? OR client_order_id IN ({own_orders})) ORDER BY ts, seq, rowid",
            [*scope, decision_id, *scope, decision_id],
        )
        return result

    def explanation(self, decision_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.explanation`."""
        t = TABLES["explanations"]
        rows = self._query(
            t,
            f"SELECT {_select_list(t)} FROM explanations WHERE decision_id = ? ORDER BY computed_at DESC LIMIT 1",
            [decision_id],
        )
        return rows[0] if rows else None

    def equity_columns(
        self,
        run_id: str,
        contender: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> dict[str, np.ndarray]:
        """See :meth:`Store.equity_columns`."""
        where, params = ["run_id = ?", "contender = ?"], [run_id, contender]
        time_bounds(where, params, start, end, "?")
        sql = (
            "SELECT epoch_ns(ts) AS ts_ns, bar_index, equity, cash, gross_exposure FROM equity "
            f"WHERE {' AND '.join(where)} ORDER BY ts, bar_index"
        )
        with self._lock:
            con = self._live()
            if not self.read_only:
                self._write_pending()
            cols = con.execute(sql, params).fetchnumpy()
        return {
            "ts_ns": np.asarray(cols["ts_ns"], dtype="int64"),
            "bar_index": np.asarray(cols["bar_index"], dtype="int64"),
            **{k: np.asarray(cols[k], dtype="float64") for k in ("equity", "cash", "gross_exposure")},
        }

    def fills(
        self,
        run_id: str,
        contender: str | None = None,
        symbol: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`Store.fills`."""
        t = TABLES["fills"]
        where, params = ["run_id = ?"], [run_id]
        for column, value in (("contender", contender), ("symbol", symbol)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        time_bounds(where, params, start, end, "?")
        sql = f"SELECT {_select_list(t)} FROM fills WHERE {' AND '.join(where)} ORDER BY ts, seq, rowid"
        return self._query(t, sql, params)

    def risk_verdicts(
        self,
        run_id: str,
        contender: str | None = None,
        actions: Sequence[str] | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        """See :meth:`Store.risk_verdicts`."""
        check_limit(limit, "risk_verdicts")
        actions = check_actions(actions)
        t = TABLES["risk_verdicts"]
        where, params = ["run_id = ?"], [run_id]
        if contender is not None:
            where.append("contender = ?")
            params.append(contender)
        if actions is not None:
            where.append(f"action IN ({', '.join(['?'] * len(actions))})" if actions else "FALSE")
            params.extend(actions)
        sql = (
            f"SELECT {_select_list(t)} FROM risk_verdicts WHERE {' AND '.join(where)} "
            "ORDER BY ts, seq, rowid LIMIT ?"
        )
        return self._query(t, sql, [*params, limit])

    def bars(
        self,
        run_id: str,
        symbol: str,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """See :meth:`Store.bars`."""
        t = TABLES["bars"]
        where, params = ["run_id = ?", "symbol = ?"], [run_id, symbol]
        time_bounds(where, params, start, end, "?")
        sql = f"SELECT {_select_list(t)} FROM bars WHERE {' AND '.join(where)} ORDER BY ts"
        return self._query(t, sql, params)

    def reconciliation(self, run_id: str, contender: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`Store.reconciliation`."""
        t = TABLES["reconciliation"]
        where, params = ["run_id = ?"], [run_id]
        if contender is not None:
            where.append("contender = ?")
            params.append(contender)
        sql = f"SELECT {_select_list(t)} FROM reconciliation WHERE {' AND '.join(where)} ORDER BY ts, seq, rowid"
        return self._query(t, sql, params)

    def kill_switch_events(self, run_id: str) -> list[dict[str, Any]]:
        """See :meth:`Store.kill_switch_events`."""
        t = TABLES["events"]
        sql = (
            f"SELECT {_select_list(t)} FROM events WHERE run_id = ? AND starts_with(kind, ?) "
            "ORDER BY ts, seq, rowid"
        )
        return self._query(t, sql, [run_id, KILL_SWITCH_EVENT_PREFIX])

    def events(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`Store.events`."""
        t = TABLES["events"]
        where, params = ["run_id = ?"], [run_id]
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        sql = f"SELECT {_select_list(t)} FROM events WHERE {' AND '.join(where)} ORDER BY ts, seq, rowid"
        return self._query(t, sql, params)

    def _trial_rows(self, data_sha256: str) -> list[dict[str, Any]]:
        """See :meth:`Store._trial_rows`."""
        t = TABLES["trials"]
        sql = f"SELECT {_select_list(t)} FROM trials WHERE data_sha256 = ? ORDER BY ts, run_id, contender"
        return self._query(t, sql, [data_sha256])
