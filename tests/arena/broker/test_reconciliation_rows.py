"""Reconciliation rows: made by hand-checkable rules, stored in DuckDB, served by the API."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from reconciliation_rows import reconciliation_records

from arena.records import to_batch
from arena.store import DuckDBStore
from arena.store.schema import TABLES
from serve.api import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))
from store_sample_rows import run_record  # noqa: E402

RUN = "recon-20240102T000000-abcdef"


def test_rows_follow_the_orders_and_carry_the_running_figures():
    rows = reconciliation_records(RUN)
    assert [(r.client_order_id, r.status) for r in rows] == [("sma-1", "FILLED"), ("sma-2", "FILLED"),
                                                              ("sma-3", "REJECTED")]
    one, two, three = rows
    assert one.divergence_bps == pytest.approx(25.0) and one.running_divergence_bps == pytest.approx(25.0)
    assert two.price_diff == pytest.approx(-0.2) and two.running_divergence_bps == pytest.approx(17.5)
    assert (three.rejected_orders, three.unfilled_orders, three.paper_price) == (1, 0, None)
    assert one.ts == 1_704_186_000_000_001_000  # the internal fill's bar time


def test_duckdb_keeps_them_and_the_endpoint_serves_them(tmp_path):
    path = tmp_path / "arena.duckdb"
    with DuckDBStore(path) as store:
        store.create_run(run_record(RUN))
        store.append("reconciliation", to_batch(TABLES["reconciliation"], reconciliation_records(RUN)))
        got = store.reconciliation(RUN)
        assert [r["client_order_id"] for r in got] == ["sma-1", "sma-2", "sma-3"]
        assert got[1]["running_divergence_bps"] == pytest.approx(17.5)
        assert store.reconciliation(RUN, "other") == []
    with TestClient(create_app(f"duckdb://{path}")) as client:
        answer = client.get(f"/runs/{RUN}/reconciliation")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [r["status"] for r in body] == ["FILLED", "FILLED", "REJECTED"]
        assert body[0]["paper_price"] == pytest.approx(100.25) and body[0]["ts"].endswith("+00:00")
        assert body[2]["reason"] == "HTTP 403: insufficient buying power"
        assert client.get("/runs/no-such-run/reconciliation").status_code == 404
