"""A run's audit rows read straight from a DuckDB store file, to compare two runs row for row."""

from __future__ import annotations

import duckdb

AUDIT_TABLES = ("decisions", "orders", "fills", "risk_verdicts", "equity")


def run_rows(path, run_id: str, tables=AUDIT_TABLES) -> dict[str, list[tuple]]:
    """Every row of ``run_id`` in ``tables``, its run id taken out (it is in the decision ids)
    and ``seq`` left out, sorted: two runs of the same config compare equal."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for table in tables:
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in ("run_id", "seq")]
            rows = con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE run_id = ?", [run_id]).fetchall()
            out[table] = sorted(tuple(str(v).replace(run_id, "<run>") for v in row) for row in rows)
        return out
    finally:
        con.close()
