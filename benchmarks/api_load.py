"""API under concurrent load: 50 clients against the same app on DuckDB and on QuestDB, as JSON.

Run: ``python -m benchmarks.api_load [--clients 50] [--requests 20]`` with a QuestDB server up
(``scripts/questdb.sh start``; ``--no-questdb`` to skip it). A recorded run of the arena on
the bundled daily equities (``configs/local.yaml``, five contenders; Ray is started for it)
is written to a fresh DuckDB file and to a fresh QuestDB prefix; uvicorn serves
``serve.api.create_app`` over each on loopback, and ``--clients`` asyncio httpx clients
each send ``--requests`` requests per endpoint, after a warm-up. Figures per store and
endpoint: p50 / p99 latency (ms) and requests per second over the whole burst.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any


from arena.config import load_config
from arena.store import TABLES, open_store
from arena.topology import run_arena
from benchmarks.http_load import measure
from benchmarks.questdb import _pg

ROOT = Path(__file__).resolve().parent.parent


def _serve_and_load(url: str, run_id: str, clients: int, requests: int) -> dict[str, Any]:
    with open_store(url, read_only=True) as store:
        decisions = [d["decision_id"] for d in store.decisions(run_id, limit=200)]
        contender = store.contenders(run_id)[0]
    endpoints = {
        "leaderboard": [f"/runs/{run_id}/leaderboard"],
        "why": [f"/decisions/{d}/why" for d in decisions],
        "equity": [f"/runs/{run_id}/contenders/{contender}/equity?max_points=500"],
    }
    return measure(url, endpoints, clients, requests)


def main() -> None:
    """Run the benchmark and print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="requests per client and endpoint")
    parser.add_argument("--no-questdb", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="arena-api-load-"))
    urls = {"duckdb": f"duckdb://{folder / 'arena.duckdb'}"}
    prefix = f"load{uuid.uuid4().hex[:6]}_"
    if not args.no_questdb:
        urls["questdb"] = f"questdb://127.0.0.1:9000?pg_port=8812&prefix={prefix}"
    figures: dict[str, Any] = {"clients": args.clients, "requests_per_client": args.requests}
    try:
        cfg = load_config(ROOT / "configs" / "local.yaml")
        for name, url in urls.items():
            result = run_arena(cfg.model_copy(update={"store": url}), run_id=f"api-load-{name}")
            figures[name] = _serve_and_load(url, result.run_id, args.clients, args.requests)
    finally:
        if "questdb" in urls:
            with _pg("127.0.0.1", 8812) as con:
                for table in TABLES:
                    con.execute(f'DROP TABLE IF EXISTS "{prefix}{table}"')
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
