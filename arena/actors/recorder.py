"""The recorder actor: the single writer of the run's audit store."""

from __future__ import annotations

from typing import Any

import ray


@ray.remote(num_cpus=0, max_restarts=0)
class RecorderActor:
    """Owns the store connection (DuckDB allows one writing process) and appends
    batches sent by the contender and guardian actors. Batches are appended in
    the order each sender sent them; nothing is updated in place but a run's end."""

    def __init__(self, store_url: str) -> None:
        # imported here: processes that only hold a handle to this actor (the contenders)
        # then never import the store's dependencies (DuckDB, pandas)
        from arena.store import open_store

        self._store = open_store(store_url)
        self.rows_written = 0

    def create_run(self, run: dict[str, Any]) -> None:
        self._store.create_run(run)

    def append(self, batch: dict[str, Any]) -> int:
        """Append a batch: table name → rows (list of dicts or a DataFrame). Returns rows written."""
        n = 0
        for table, rows in batch.items():
            if isinstance(rows, dict):  # columns → a DataFrame
                import pandas as pd

                rows = pd.DataFrame(rows)
            if len(rows):
                self._store.append(table, rows)
                n += len(rows)
        self.rows_written += n
        return n

    def finish_run(self, run_id: str, ended_at: Any, status: str, n_bars: int) -> None:
        self._store.finish_run(run_id, ended_at, status, n_bars)
        self._store.flush()

    def close(self) -> int:
        self._store.flush()
        self._store.close()
        return self.rows_written
