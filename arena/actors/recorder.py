"""The recorder actor: the single writer of the run's audit store, and its live feed."""

from __future__ import annotations

from typing import Any

import ray


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
        self._events_url = events_url
        self._events_maxlen = events_maxlen
        self._feed: Any = None
        self.rows_written = 0

    def create_run(self, run: dict[str, Any]) -> None:
        """Record the run's row (see ``arena.store.RunRecord``) and publish ``run_started``."""
        self._store.create_run(run)
        if self._events_url:
            from arena.live import DEFAULT_MAXLEN, RedisEventStream, RunEventFeed

            stream = RedisEventStream(self._events_url, run["run_id"], maxlen=self._events_maxlen or DEFAULT_MAXLEN)
            self._feed = RunEventFeed(stream)
            self._feed.run_started(run)

    def append(self, batch: dict[str, Any]) -> int:
        """Append a batch: table name → rows (an Arrow table made by
        :func:`arena.records.to_batch`, as the contender actors send them; or a list of
        dicts, a DataFrame or a dict of columns). Returns rows written."""
        n = 0
        tables: dict[str, Any] = {}
        for table, rows in batch.items():
            if isinstance(rows, dict):  # columns → a DataFrame
                import pandas as pd

                rows = pd.DataFrame(rows)
            if len(rows):
                self._store.append(table, rows)
                tables[table] = rows
                n += len(rows)
        self.rows_written += n
        if self._feed is not None and tables:
            self._feed.on_batch(tables)
        return n

    def finish_run(self, run_id: str, ended_at: Any, status: str, n_bars: int) -> None:
        """Mark the run ended (``finished`` | ``killed`` | ``failed``), flush, publish ``run_finished``."""
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
