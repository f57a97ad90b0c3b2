"""The digest of a recorded run, to compare a run before and after a change.

``python -m tests.arena.golden_run record`` runs ``configs/local.yaml`` on Ray and
writes its digest to ``tests/arena/fixtures/local_yaml_golden.json.gz``; the test in
``test_golden_run.py`` runs the same config and compares. The digest holds what a
user reads of a run: every decision (weights, orders, confidence, explanation),
every verdict, order event and fill, a SHA-256 of the equity rows, the final
equity of every contender and the whole leaderboard. It reads the DuckDB file with
plain SQL (not the store API), so that a change of the store code cannot hide a
change of the records.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "fixtures" / "local_yaml_golden.json.gz"
CONFIG = ROOT / "configs" / "local.yaml"

# columns compared per table; wall-clock and id columns that name the run are left out
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "decisions": (
        ("contender", "ts", "bar_index", "weights_json", "orders_json", "confidence", "explanation_json"),
        ("contender", "bar_index"),
    ),
    "risk_verdicts": (
        ("contender", "ts", "action", "scale", "reasons_json", "details_json", "requested_json", "approved_json"),
        ("contender", "ts", "requested_json"),
    ),
    "orders": (
        ("contender", "client_order_id", "symbol", "status", "ts", "filled_quantity", "reason", "side", "quantity",
         "target_weight"),
        ("contender", "ts", "client_order_id", "status"),
    ),
    "fills": (
        ("contender", "client_order_id", "symbol", "side", "quantity", "price", "commission", "slippage", "ts"),
        ("contender", "ts", "client_order_id"),
    ),
}
LEADERBOARD_EXCLUDED = ("run_id", "ts")


def _canon(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def digest(db_path: str | Path, run_id: str) -> dict[str, Any]:
    """The digest of run ``run_id`` in the DuckDB file ``db_path``.

    Returns:
        ``{table: [row lists in a stable order]}`` for decisions, verdicts, orders and
        fills; ``equity_sha256`` and ``final_equity`` {contender: USD}; ``leaderboard``
        {contender: {column: value}}.
    """
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        out: dict[str, Any] = {}
        for table, (cols, order) in _TABLES.items():
            rows = con.execute(
                f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ? ORDER BY {', '.join(order)}", [run_id]
            ).fetchall()
            out[table] = [[_canon(v) for v in row] for row in rows]
        eq = con.execute(
            "SELECT contender, bar_index, equity, cash, gross_exposure FROM equity WHERE run_id = ? "
            "ORDER BY contender, bar_index",
            [run_id],
        ).fetchall()
        out["equity_rows"] = len(eq)
        out["equity_sha256"] = hashlib.sha256(repr(eq).encode()).hexdigest()
        out["final_equity"] = {}
        for contender, _, equity, _, _ in eq:
            out["final_equity"][contender] = equity
        cur = con.execute("SELECT * FROM leaderboard WHERE run_id = ? ORDER BY contender", [run_id])
        names = [d[0] for d in cur.description]
        out["leaderboard"] = {
            row[names.index("contender")]: {
                k: _canon(v) for k, v in zip(names, row) if k not in LEADERBOARD_EXCLUDED
            }
            for row in cur.fetchall()
        }
        return out
    finally:
        con.close()


def run_local_yaml(store_dir: Path) -> tuple[Path, str]:
    """Run ``configs/local.yaml`` on Ray into a fresh DuckDB file in ``store_dir``;
    returns (file, run id)."""
    from arena.config import load_config
    from arena.topology import run_arena

    db = store_dir / "golden.duckdb"
    cfg = load_config(CONFIG, {"store": f"duckdb://{db}"})
    res = run_arena(cfg, run_id="golden")
    return db, res.run_id


def load_golden() -> dict[str, Any]:
    """The recorded digest."""
    with gzip.open(GOLDEN, "rt") as fh:
        return json.load(fh)


def main(argv: list[str]) -> None:
    """``record``: run configs/local.yaml and write the golden digest."""
    import tempfile

    import ray

    if argv != ["record"]:
        raise SystemExit("usage: python -m tests.arena.golden_run record")
    with tempfile.TemporaryDirectory() as tmp:
        ray.init(address="local", num_cpus=2, include_dashboard=False, namespace="model-arena", configure_logging=False)
        db, run_id = run_local_yaml(Path(tmp))
        d = digest(db, run_id)
        ray.shutdown()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(GOLDEN, "wb", mtime=0) as fh:
        fh.write(json.dumps(d, sort_keys=True).encode())
    print(f"wrote {GOLDEN}: " + ", ".join(f"{k}={len(v)}" for k, v in d.items() if isinstance(v, (list, dict))))


if __name__ == "__main__":
    main(sys.argv[1:])
