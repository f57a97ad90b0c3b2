"""The whole-run reads of reports (``run_fills``, ``run_verdicts``) answer the same on
QuestDB as on DuckDB."""

from __future__ import annotations

import sys
from pathlib import Path

from arena.store import DuckDBStore, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
from serve_sample_run import RUN_ID, write_sample_run  # noqa: E402


def _reads(store) -> dict:
    return {
        "fills": store.run_fills(RUN_ID),
        "fills_one": store.run_fills(RUN_ID, "sma_cross"),
        "verdicts": store.run_verdicts(RUN_ID),
        "scaled": store.run_verdicts(RUN_ID, actions=["SCALE", "DENY"]),
        "one_allowed": store.run_verdicts(RUN_ID, "momentum", actions=["ALLOW"]),
        "none": store.run_fills("no-such-run"),
    }


def test_whole_run_reads_match_the_duckdb_store(qdb_url, tmp_path) -> None:
    with open_store(qdb_url) as store:
        write_sample_run(store)
    with DuckDBStore(tmp_path / "a.duckdb") as duck:
        write_sample_run(duck)
    with open_store(qdb_url, read_only=True) as q, open_store(tmp_path / "a.duckdb", read_only=True) as d:
        got = _reads(q)
        assert got == _reads(d)
        assert len(got["fills"]) == 10 and got["scaled"] and got["none"] == []
