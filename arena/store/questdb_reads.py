"""The read queries of the QuestDB store (:class:`arena.store.questdb_store.QuestDBStore`).

:class:`QuestDBReads` holds the :class:`~arena.store.base.Store` read methods: SQL over the
PostgreSQL wire with bound parameters only (table names are the validated prefix plus a name
of :data:`arena.store.schema.TABLES`), each row decoded by
:func:`arena.store.questdb_wire.from_questdb` and :func:`arena.store.decode.decode_row` into a
JSON-ready dict. A writable store flushes its buffers before each read, so reads see every
row appended before them.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from arena.store.base import check_actions, check_limit, check_page, time_bounds
from arena.store.decode import decode_row
from arena.store.questdb_wire import from_questdb, questdb_type
from arena.store.schema import KILL_SWITCH_EVENT_PREFIX, TABLES, Table

__all__ = ["QuestDBReads", "select_list", "wait_wal_applied"]

_verified: set[tuple[str, int, str]] = set()  # (host, pg_port, prefix) whose schema was checked


def select_list(table: Table) -> str:
    """The quoted column list of ``table`` in schema order, e.g. ``"run_id", "ts", ...``."""
    return ", ".join(f'"{c}"' for c in table.column_names)


def wait_wal_applied(
    execute: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]], names: Sequence[str], timeout_s: float
) -> None:
    """Poll ``wal_tables()`` until the WAL tables ``names`` (full, prefixed names) have applied
    every transaction sequenced when the wait began (``writerTxn >= sequencerTxn``).

    Args:
        execute: runs one statement with bound parameters and returns its rows.
        names: the tables to wait for.
        timeout_s: how long to wait (seconds).

    Raises:
        RuntimeError: naming the table, when QuestDB suspended one's WAL.
        TimeoutError: naming the lagging tables, when they are not applied within ``timeout_s``.
    """
    marks = ", ".join(["%s"] * len(names))
    sql = f"SELECT name, writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name IN ({marks})"
    target: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    while True:
        rows = execute(sql, list(names))
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
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"QuestDB did not apply the WAL of {lagging} within {timeout_s} s")
        time.sleep(0.02)


class QuestDBReads:
    """The store's read methods, mixed into :class:`~arena.store.questdb_store.QuestDBStore`.

    Uses the store's ``_lock`` (re-entrant), ``_live()`` (raises RuntimeError once closed),
    ``read_only``, ``flush()``, ``_t(name)`` (the quoted, prefixed table name) and
    ``_execute(sql, params)`` (one statement with bound parameters → row tuples), and
    ``host`` / ``pg_port`` / ``prefix`` (named in errors). Besides the public reads it checks
    the server's tables against the schema at open (``_check_schema``) and reads a run's raw
    row for the writes (``_raw_run``).
    """

    _lock: threading.RLock
    read_only: bool
    _live: Callable[[], None]
    flush: Callable[[], None]
    _t: Callable[[str], str]
    _execute: Callable[..., list[tuple[Any, ...]]]
    host: str
    pg_port: int
    prefix: str

    # ------------------------------------------------------------------ catalog

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

    # ------------------------------------------------------------------ rows

    def _raw_run(self, run_id: str) -> dict[str, Any] | None:
        """The ``runs`` row as :meth:`RunRecord.to_row` gives it, or None."""
        t = TABLES["runs"]
        rows = self._execute(f"SELECT {select_list(t)} FROM {self._t('runs')} WHERE run_id = %s", [run_id])
        if not rows:
            return None
        raw = from_questdb(t, dict(zip(t.column_names, rows[-1], strict=True)))
        raw["symbols"] = list(raw["symbols"])
        return raw

    def _query(self, table: Table, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self._lock:
            self._live()
            if not self.read_only:
                self.flush()
            rows = self._execute(sql, params)
        names = table.column_names
        return [decode_row(table, from_questdb(table, dict(zip(names, r, strict=True)))) for r in rows]

    def list_runs(self) -> list[dict[str, Any]]:
        """See :meth:`Store.list_runs`."""
        t = TABLES["runs"]
        sql = f"SELECT {select_list(t)} FROM {self._t('runs')} ORDER BY started_at DESC, run_id"
        return self._query(t, sql, [])

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.get_run`."""
        t = TABLES["runs"]
        rows = self._query(t, f"SELECT {select_list(t)} FROM {self._t('runs')} WHERE run_id = %s", [run_id])
        return rows[0] if rows else None

    def leaderboard(self, run_id: str) -> list[dict[str, Any]]:
        """See :meth:`Store.leaderboard`: the latest row of each contender (``LATEST ON ts``)."""
        t = TABLES["leaderboard"]
        sql = (
            f"SELECT {select_list(t)} FROM (SELECT {select_list(t)} FROM {self._t('leaderboard')} "
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
        time_bounds(where, params, start, end, "%s")
        sql = (
            f"SELECT {select_list(t)} FROM {self._t('equity')} WHERE {' AND '.join(where)} "
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
        where: list[str] = ["run_id = %s"]
        params: list[Any] = [run_id]
        if contender is not None:
            where.append("contender = %s")
            params.append(contender)
        if symbol is not None:
            # symbols is JSON text; a JSON-quoted name matches exactly one whole element
            where.append("strpos(symbols, %s) > 0")
            params.append(json.dumps(symbol))
        time_bounds(where, params, start, end, "%s")
        sql = (
            f"SELECT {select_list(t)} FROM {self._t('decisions')} WHERE {' AND '.join(where)} "
            "ORDER BY ts, contender, decision_id LIMIT %s, %s"
        )
        return self._query(t, sql, [*params, offset, offset + limit])

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.decision`."""
        t = TABLES["decisions"]
        found = self._query(
            t, f"SELECT {select_list(t)} FROM {self._t('decisions')} WHERE decision_id = %s", [decision_id]
        )
        if not found:
            return None
        result = found[0]
        scope = [result["run_id"], result["contender"]]
        v, o, f = TABLES["risk_verdicts"], TABLES["orders"], TABLES["fills"]
        result["verdicts"] = self._query(
            v,
            f"SELECT {select_list(v)} FROM {self._t('risk_verdicts')} WHERE decision_id = %s "
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
                f"SELECT {select_list(spec)} FROM {self._t(spec.name)} WHERE run_id = %s AND contender = %s "
                f"AND {match} ORDER BY ts, seq",
                [*scope, decision_id, *coids],
            )
        return result

    def explanation(self, decision_id: str) -> dict[str, Any] | None:
        """See :meth:`Store.explanation` (the latest row for the decision)."""
        t = TABLES["explanations"]
        rows = self._query(
            t,
            f"SELECT {select_list(t)} FROM {self._t('explanations')} WHERE decision_id = %s "
            "ORDER BY computed_at DESC LIMIT 1",
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
        """See :meth:`Store.equity_columns` (QuestDB timestamps are µs: ``ts_ns`` = µs × 1000)."""
        where, params = ["run_id = %s", "contender = %s"], [run_id, contender]
        time_bounds(where, params, start, end, "%s")
        sql = (
            f"SELECT cast(ts AS long), bar_index, equity, cash, gross_exposure FROM {self._t('equity')} "
            f"WHERE {' AND '.join(where)} ORDER BY ts, bar_index"
        )
        with self._lock:
            self._live()
            if not self.read_only:
                self.flush()
            rows = self._execute(sql, params)
        cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
        out = {"ts_ns": np.asarray(cols[0], dtype="int64") * 1000, "bar_index": np.asarray(cols[1], dtype="int64")}
        for name, values in zip(("equity", "cash", "gross_exposure"), cols[2:], strict=True):
            out[name] = np.asarray([np.nan if v is None else v for v in values], dtype="float64")
        return out

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
        where, params = ["run_id = %s"], [run_id]
        for column, value in (("contender", contender), ("symbol", symbol)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        time_bounds(where, params, start, end, "%s")
        sql = f"SELECT {select_list(t)} FROM {self._t('fills')} WHERE {' AND '.join(where)} ORDER BY ts, seq"
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
        where, params = ["run_id = %s"], [run_id]
        if contender is not None:
            where.append("contender = %s")
            params.append(contender)
        if actions is not None:
            where.append(f"action IN ({', '.join(['%s'] * len(actions))})" if actions else "1 = 0")
            params.extend(actions)
        sql = (
            f"SELECT {select_list(t)} FROM {self._t('risk_verdicts')} WHERE {' AND '.join(where)} "
            "ORDER BY ts, seq LIMIT %s"
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
        where, params = ["run_id = %s", "symbol = %s"], [run_id, symbol]
        time_bounds(where, params, start, end, "%s")
        sql = f"SELECT {select_list(t)} FROM {self._t('bars')} WHERE {' AND '.join(where)} ORDER BY ts"
        return self._query(t, sql, params)

    def reconciliation(self, run_id: str, contender: str | None = None) -> list[dict[str, Any]]:
        """See :meth:`Store.reconciliation`."""
        t = TABLES["reconciliation"]
        where, params = ["run_id = %s"], [run_id]
        if contender is not None:
            where.append("contender = %s")
            params.append(contender)
        sql = f"SELECT {select_list(t)} FROM {self._t('reconciliation')} WHERE {' AND '.join(where)} ORDER BY ts, seq"
        return self._query(t, sql, params)

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
            f"SELECT {select_list(t)} FROM {self._t('events')} WHERE {' AND '.join(where)} ORDER BY ts, seq"
        )
        return self._query(t, sql, params)

    def _trial_rows(self, data_sha256: str) -> list[dict[str, Any]]:
        """See :meth:`Store._trial_rows`."""
        t = TABLES["trials"]
        sql = (
            f"SELECT {select_list(t)} FROM {self._t('trials')} WHERE data_sha256 = %s ORDER BY ts, run_id, contender"
        )
        return self._query(t, sql, [data_sha256])
