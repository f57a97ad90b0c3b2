"""The reconciliation table in QuestDB reads as in DuckDB."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from arena.records import to_batch
from arena.store import DuckDBStore, open_store
from arena.store.schema import TABLES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "arena" / "store"))
from reconciliation_rows import reconciliation_records  # noqa: E402
from store_sample_rows import run_record  # noqa: E402

RUN = "recon-q-20240102T000000-abcdef"


def test_reconciliation_rows_read_as_in_duckdb(qdb_url, tmp_path) -> None:
    batch = to_batch(TABLES["reconciliation"], reconciliation_records(RUN))
    with open_store(qdb_url) as q:
        q.create_run(run_record(RUN))
        q.append("reconciliation", batch)
        q.append("reconciliation", batch)  # resent: replaced, not doubled (DEDUP UPSERT KEYS)
    with DuckDBStore(tmp_path / "a.duckdb") as d:
        d.create_run(run_record(RUN))
        d.append("reconciliation", batch)
        want = d.reconciliation(RUN)
    with open_store(qdb_url, read_only=True) as q:
        got = q.reconciliation(RUN)
        assert got == want
        assert [r["running_divergence_bps"] for r in got][:2] == pytest.approx([25.0, 17.5])
        assert q.reconciliation(RUN, "sma") == want
