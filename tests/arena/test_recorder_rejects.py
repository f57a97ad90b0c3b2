"""Rows the store rejects are never dropped: the recorder keeps them on disk and reports them."""

from __future__ import annotations

import pyarrow as pa
import pytest
import ray

from arena.actors.recorder import RecorderActor
from arena.records import FillRecord, to_batch
from arena.store import open_store
from arena.store.schema import TABLES

pytestmark = pytest.mark.ray


def _run(run_id):
    import datetime as dt

    return {"run_id": run_id, "name": "r", "config": {}, "data_source": {}, "data_sha256": "0" * 64,
            "code_version": "test", "seed": 0, "started_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            "symbols": ["A"], "periods_per_year": 252.0, "status": "running"}


def test_a_rejected_batch_is_kept_on_disk_and_reported(ray_session, tmp_path):
    store = f"duckdb://{tmp_path / 'arena.duckdb'}"
    home = str(tmp_path / "home")
    rec = RecorderActor.options(runtime_env={"env_vars": {"ARENA_HOME": home}}).remote(store)
    ray.get(rec.create_run.remote(_run("r1")))
    fill = FillRecord("r1", "c", "d", "c-1", "A", "BUY", 1.0, 100.0, 0.0, 0.0, 1_700_000_000_000_000_000)
    good = to_batch(TABLES["fills"], [fill])
    bad = [{"decision_id": "d1", "run_id": "r1", "contender": "c", "ts": 1, "bar_index": 0},
           {"decision_id": "d1", "run_id": "r1", "contender": "c", "ts": 2, "bar_index": 1}]  # a repeated key
    assert ray.get(rec.append.remote({"fills": good, "decisions": bad})) == 1, "the good table is written"
    rejected = ray.get(rec.rejected.remote())
    assert len(rejected) == 1 and rejected[0]["table"] == "decisions" and rejected[0]["rows"] == 2
    assert "repeats row 0" in rejected[0]["error"]
    assert rejected[0]["file"].startswith(f"{home}/rejected/r1/")
    kept = [line for line in open(rejected[0]["file"]).read().splitlines() if line]
    assert len(kept) == 2 and '"d1"' in kept[0]
    bad_arrow = good.set_column(7, "price", pa.array([None], pa.float64()))
    ray.get(rec.append.remote({"fills": bad_arrow}))
    second = ray.get(rec.rejected.remote())[1]
    with pa.OSFile(second["file"], "rb") as f:
        assert pa.ipc.open_file(f).read_all().equals(bad_arrow), "the Arrow batch kept as it came"
    ray.get(rec.close.remote())
    events = open_store(store, read_only=True).events("r1", kind="RECORDS_REJECTED")
    assert [e["details"]["table"] for e in events] == ["decisions", "fills"]
    assert len(open_store(store, read_only=True).fills("r1")) == 1


def test_rows_refused_only_when_the_buffer_is_written_are_kept_too(ray_session, tmp_path):
    store = f"duckdb://{tmp_path / 'arena.duckdb'}"
    home = str(tmp_path / "home")
    rec = RecorderActor.options(runtime_env={"env_vars": {"ARENA_HOME": home}}).remote(store)
    ray.get(rec.create_run.remote(_run("r2")))
    row = {"decision_id": "d1", "run_id": "r2", "contender": "c", "ts": 1, "bar_index": 0}
    ray.get(rec.append.remote({"decisions": [row]}))
    ray.get(rec.flush.remote())
    # accepted into the buffer (no buffered row has its key), refused when written: d1 is in the table
    ray.get(rec.append.remote({"decisions": [{**row, "ts": 2, "bar_index": 1},
                                             {**row, "decision_id": "d2", "ts": 3, "bar_index": 2}]}))
    ray.get(rec.close.remote())
    (entry,) = ray.get(rec.rejected.remote())
    assert entry["table"] == "decisions" and entry["rows"] == 1 and "already exists" in entry["error"]
    with pa.OSFile(entry["file"], "rb") as f:
        assert pa.ipc.open_file(f).read_all().column("bar_index").to_pylist() == [1]
    reader = open_store(store, read_only=True)
    assert sorted(d["decision_id"] for d in reader.decisions("r2")) == ["d1", "d2"]
    assert [e["details"]["rows"] for e in reader.events("r2", kind="RECORDS_REJECTED")] == [1]
