"""Reconciliation rows and broker trouble reach the live event stream."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from arena.live import RedisEventStream, RunEventFeed
from arena.live.schema import stream_key
from arena.records import EventRecord, to_batch
from arena.store.schema import TABLES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from reconciliation_rows import reconciliation_records  # noqa: E402


def test_reconciliation_and_broker_events_are_published(redis_url, redis_client, run_id):
    feed = RunEventFeed(RedisEventStream(redis_url, run_id), snapshot_every_s=1.0)
    rows = to_batch(TABLES["reconciliation"], reconciliation_records(run_id))  # as the mirror actor sends them
    down = EventRecord(run_id, 10**9, "sma", "BROKER_UNAVAILABLE", "paper account of 'sma': HTTP 429", {"error": "x"})
    feed.on_batch({"reconciliation": rows, "events": to_batch(TABLES["events"], [down])})
    entries = redis_client.xrange(stream_key(run_id))
    assert [e[1]["kind"] for e in entries] == ["reconciliation"] * 3 + ["broker"]
    data = [json.loads(e[1]["data"]) for e in entries]
    assert data[1]["running_divergence_bps"] == pytest.approx(17.5) and data[1]["client_order_id"] == "sma-2"
    assert data[2]["status"] == "REJECTED" and data[2]["rejected_orders"] == 1
    assert data[3]["kind"] == "BROKER_UNAVAILABLE" and data[3]["contender"] == "sma"
