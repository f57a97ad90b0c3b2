"""The recorder actor: the single writer of the run's audit store, and its live feed."""

from __future__ import annotations

import logging
from typing import Any

import ray

__all__ = ["RecorderActor"]

log = logging.getLogger(__name__)


@ray.remote(num_cpus=0, max_restarts=0)
class RecorderActor:
    """Owns the store connection (DuckDB allows one writing process) and appends
    batches sent by the contender and guardian actors. Batches are appended in
    the order each sender sent them; nothing is updated in place but a run's end.

    With an ``events_url``, every batch is also published, after it is written,
    to the run's live event stream (``arena.live``): ``run_started`` on
    :meth:`create_run`, each fill, risk verdict, halt and kill-switch row, a
    leaderboard snapshot at most once a second, and ``run_finished`` (with the
    final leaderboard) on :meth:`finish_run`. Redis trouble is logged once and
    never fails a write (see :class:`arena.live.RedisEventStream`).

    Args:
        store_url: the audit store, e.g. ``duckdb://runs/arena.duckdb``.
        events_url: Redis URL of the live event stream; None = no live events.
        events_maxlen: approximate cap on the run's stream (entries).
    """

    def __init__(self, store_url: str, events_url: str | None = None, events_maxlen: int | None = None) -> None:
        # imported here: processes that only hold a handle to this actor (the contenders)
        # then never import the store's dependencies (DuckDB, pandas)
        from arena.store import open_store

        self._store = open_store(store_url)
        self._store.on_rejected = self._reject_at_write
        from arena.control import mark_interrupted

        try:  # runs whose driver was killed before their end
            for run_id in mark_interrupted(self._store):
                log.warning("run %s was left running by a driver that is gone: marked interrupted", run_id)
        except OSError as exc:  # a QuestDB that is down at the start: the run trades on, a later writer marks them
            log.warning("runs of drivers that are gone not marked yet (%s)", exc)
        self._events_url = events_url
        self._events_maxlen = events_maxlen
        self._feed: Any = None
        self._run_id: str | None = None
        self._rejected: list[dict[str, Any]] = []
        self.rows_written = 0
        self._epochs: dict[str, int] = {}  # contender actor key → its incarnation (restarts)
        self._acked: dict[str, int] = {}  # contender → bars whose records are written

    def create_run(self, run: dict[str, Any]) -> None:
        """Record the run's row (see ``arena.store.RunRecord``) and publish ``run_started``."""
        self._store.create_run(run)
        self._start_feed(run)

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run's row as the store has it (``Store.get_run``), or None."""
        return self._store.get_run(run_id)

    def reopen_run(self, run_id: str) -> dict[str, Any]:
        """Mark a stopped run running again (``Store.reopen_run``) and publish ``run_started``;
        returns its row as it was when it stopped.

        Raises:
            ValueError: no such run, or not ``stopped``."""
        before = self._store.reopen_run(run_id)
        self._start_feed(before)
        return before

    def _start_feed(self, run: dict[str, Any]) -> None:
        self._run_id = run["run_id"]
        if self._events_url:
            from arena.live import DEFAULT_MAXLEN, RedisEventStream, RunEventFeed

            stream = RedisEventStream(self._events_url, run["run_id"], maxlen=self._events_maxlen or DEFAULT_MAXLEN)
            self._feed = RunEventFeed(stream)
            self._feed.run_started(run)

    def resume(self, key: str) -> tuple[int, dict[str, int]]:
        """A restarted contender actor ``key`` starts a new incarnation: batches its former
        incarnation sent and that arrive from now on are dropped (its replay sends them
        again). Returns ``(incarnation, {contender: bars whose records are written})``; the
        incarnation counts the actor's restarts."""
        self._epochs[key] = self._epochs.get(key, 0) + 1
        return self._epochs[key], dict(self._acked)

    def append(self, batch: dict[str, Any], source: tuple[str, int, dict[str, int]] | None = None) -> int:
        """Append a batch: table name → rows (an Arrow table made by
        :func:`arena.records.to_batch`, as the contender actors send them; or a list of
        dicts, a DataFrame or a dict of columns). Returns rows written.

        ``source``: ``(actor key, incarnation, {contender: bars covered})`` of a contender
        actor's batch: one from an incarnation older than the key's latest (see
        :meth:`resume`) is dropped (returns 0); else the contenders' bars covered are
        acknowledged once it is written.

        Rows the store rejects (a ``ValueError``: a repeated key, a malformed row) are never
        dropped: they are written to ``$ARENA_HOME/rejected/<run_id>/`` (Arrow IPC, or JSON
        lines for rows that are not a table) and reported, as a ``RECORDS_REJECTED`` event
        naming the file and the error, and in :meth:`rejected`; the other tables of the
        batch are written as usual."""
        if source is not None and source[1] < self._epochs.get(source[0], 0):
            return 0  # sent by an incarnation that crashed: replayed by the next
        n = 0
        tables: dict[str, Any] = {}
        for table, rows in batch.items():
            if isinstance(rows, dict):  # columns → a DataFrame
                import pandas as pd

                rows = pd.DataFrame(rows)
            if len(rows):
                try:
                    self._store.append(table, rows)
                except (ValueError, TypeError) as exc:
                    self._reject(table, rows, exc)
                    continue
                tables[table] = rows
                n += len(rows)
        self.rows_written += n
        if source is not None:
            self._acked.update(source[2])
        if self._feed is not None and tables:
            self._feed.on_batch(tables)
        return n

    def flush(self) -> None:
        """Write every buffered row to the store now (before a snapshot, so that what it
        points to is durable)."""
        self._store.flush()

    def rejected(self) -> list[dict[str, Any]]:
        """The batches the store rejected: ``[{table, rows, file, error}]``, in order."""
        return list(self._rejected)

    def _reject_at_write(self, table: str, rows: Any, error: str) -> None:
        """Rows of an earlier batch the store refused only when it wrote its buffer."""
        self._reject(table, rows, ValueError(error))

    def _reject(self, table: str, rows: Any, exc: BaseException) -> None:
        import json
        import time

        from arena.cluster import arena_home

        folder = arena_home() / "rejected" / (self._run_id or "unknown-run")
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"{time.time_ns()}-{table}"
        if hasattr(rows, "schema") and hasattr(rows, "num_rows"):  # an Arrow table
            import pyarrow as pa

            path = stem.with_suffix(".arrow")
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
                writer.write_table(rows)
        else:
            path = stem.with_suffix(".jsonl")
            records = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
            with open(path, "w") as fh:
                for r in records:
                    fh.write(json.dumps(r, default=str) + "\n")
        error = f"{type(exc).__name__}: {exc}"[:2000]
        entry = {"table": table, "rows": len(rows), "file": str(path), "error": error}
        self._rejected.append(entry)
        log.error("the store rejected %d %s rows; kept in %s (%s)", len(rows), table, path, error)
        event = {"run_id": self._run_id, "ts": time.time_ns(), "contender": None, "kind": "RECORDS_REJECTED",
                 "reason": f"{len(rows)} {table} rows rejected by the store, kept in {path}: {error}",
                 "details_json": entry}
        try:
            self._store.append("events", [event])
        except (ValueError, TypeError):  # the report stays in rejected()
            log.exception("could not record the RECORDS_REJECTED event")

    def trials(self, data_sha256: str, first_bar_ns: int, last_bar_ns: int) -> list[dict[str, Any]]:
        """The trials register of a data set and bar range (``Store.trials``), oldest first."""
        from datetime import datetime, timezone

        first, last = (datetime.fromtimestamp(ns / 1e9, tz=timezone.utc) for ns in (first_bar_ns, last_bar_ns))
        return self._store.trials(data_sha256, first, last)

    def finish_run(self, run_id: str, ended_at: Any, status: str, n_bars: int) -> None:
        """Mark the run ended (a status of ``arena.store.schema.FINAL_RUN_STATUSES``), flush,
        publish ``run_finished``."""
        self._store.finish_run(run_id, ended_at, status, n_bars)
        self._store.flush()
        if self._feed is not None:
            self._feed.run_finished(ended_at, status, n_bars)

    def close(self) -> int:
        """Flush and close the store and the live feed; returns the rows written by this actor."""
        self._store.flush()
        self._store.close()
        if self._feed is not None:
            self._feed.close()
        return self.rows_written
