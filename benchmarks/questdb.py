"""QuestDB store benchmark: ingestion rate and API latency, as JSON.

Run: ``python -m benchmarks.questdb`` with a QuestDB server up
(``scripts/questdb.sh start``; ``--url`` for another). Tables get a fresh
prefix and are dropped at the end. Figures:

* ``arena_rows_per_s``: rows the arena wrote to QuestDB (every table, counted on
  the server) divided by the wall time of the whole run (``run_arena``: Ray
  start-up, replay, leaderboard), for ``configs/local.yaml``'s five contenders
  on the bundled daily US equities.
* ``ingest_rows_per_s``: raw ingestion of one ``equity`` batch of ``--rows`` rows
  through ``QuestDBStore.append`` + ``flush`` (validation, ILP/HTTP, WAL applied).
* ``latency_ms``: p50/p99 of ``GET /runs/{id}/leaderboard`` and
  ``GET /decisions/{id}/why`` with ``--clients`` concurrent asyncio httpx clients
  against uvicorn serving ``serve.api.create_app`` on loopback.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

from arena.config import load_config
from arena.store import TABLES, open_store
from arena.topology import run_arena
from benchmarks.http_load import measure

ROOT = Path(__file__).resolve().parent.parent


def _pg(host: str, pg_port: int) -> psycopg.Connection:
    return psycopg.connect(f"host={host} port={pg_port} user=admin password=quest dbname=qdb", autocommit=True)


def _arena_run(url: str, host: str, pg_port: int, prefix: str) -> dict[str, Any]:
    cfg = load_config(ROOT / "configs" / "local.yaml")
    cfg = cfg.model_copy(update={"store": url})
    t0 = time.perf_counter()
    result = run_arena(cfg)
    wall_s = time.perf_counter() - t0
    with _pg(host, pg_port) as con:
        rows = {
            t: con.execute(f'SELECT count() FROM "{prefix}{t}" WHERE run_id = %s', [result.run_id]).fetchone()[0]
            for t in TABLES
        }
    total = sum(rows.values())
    return {
        "run_id": result.run_id,
        "rows": rows,
        "rows_total": total,
        "wall_s": round(wall_s, 2),
        "arena_rows_per_s": round(total / wall_s),
    }


def _ingest(url: str, n_rows: int) -> dict[str, Any]:
    ts0 = 1_577_836_800 * 10**9  # 2020-01-01
    rows = {
        "run_id": ["bench-ingest"] * n_rows,
        "contender": [f"c{i % 8}" for i in range(n_rows)],
        "ts": ts0 + (np.arange(n_rows) // 8) * 60 * 10**9,
        "bar_index": np.arange(n_rows) // 8,
        "equity": np.linspace(1e4, 2e4, n_rows),
        "cash": np.full(n_rows, 5e3),
        "gross_exposure": np.full(n_rows, 5e3),
    }
    import pandas as pd

    frame = pd.DataFrame(rows)
    with open_store(url, batch_rows=n_rows + 1) as store:
        t0 = time.perf_counter()
        store.append("equity", frame)
        store.flush()
        elapsed = time.perf_counter() - t0
    return {"ingest_rows": n_rows, "ingest_s": round(elapsed, 3), "ingest_rows_per_s": round(n_rows / elapsed)}


def _latency(url: str, run_id: str, clients: int, requests: int) -> dict[str, Any]:
    with open_store(url, read_only=True) as store:
        decisions = [d["decision_id"] for d in store.decisions(run_id, limit=200)]
    endpoints = {"leaderboard": [f"/runs/{run_id}/leaderboard"], "why": [f"/decisions/{d}/why" for d in decisions]}
    return {"clients": clients, "requests_per_client": requests, **measure(url, endpoints, clients, requests, 5)}


def main() -> None:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=9000)
    parser.add_argument("--pg-port", type=int, default=8812)
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the raw ingestion batch")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    parser.add_argument("--requests", type=int, default=50, help="requests per client and endpoint")
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    url = f"questdb://{args.host}:{args.http_port}?pg_port={args.pg_port}&prefix={prefix}"
    try:
        figures: dict[str, Any] = {"store": url}
        arena = _arena_run(url, args.host, args.pg_port, prefix)
        figures.update(arena)
        figures.update(_ingest(url, args.rows))
        figures["latency_ms"] = _latency(url, arena["run_id"], args.clients, args.requests)
    finally:
        with _pg(args.host, args.pg_port) as con:
            for name in TABLES:
                con.execute(f'DROP TABLE IF EXISTS "{prefix}{name}"')
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
