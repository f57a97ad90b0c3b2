"""Bad input fails fast: `arena run` names the file and key, exits 2 with no traceback, and
never starts Ray for it."""

from __future__ import annotations

import pytest
import ray
from typer.testing import CliRunner

from arena.cli import app

GOOD = {
    "name": "probe",
    "data": "{source: sample, name: us_equities_daily}",
    "contenders": "\n  - {name: x, class: sma_crossover}",
    "store": "duckdb:///tmp/never-written.duckdb",
}


def _config(tmp_path, **over) -> str:
    fields = {**GOOD, **over}
    path = tmp_path / "probe.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in fields.items()))
    return str(path)


@pytest.mark.parametrize(
    "over, expected",
    [
        ({"name": "pro/be"}, "run name 'pro/be' must start with a letter"),
        ({"store": "sqlite:///x.db"}, "store URL 'sqlite:///x.db': unknown scheme 'sqlite'"),
        ({"data": "{source: csv, path: /nonexistent/bars.csv}"}, "data: bar file not found: /nonexistent/bars.csv"),
        ({"contenders": "\n  - {name: x, class: no_such_class}"}, "no_such_class"),
        ({"contenders": "\n  - {name: x, class: 'nosuchmod:Thing'}"}, "cannot import module 'nosuchmod'"),
        ({"data": "{source: sample, name: nope}"}, "unknown sample data set 'nope'"),
        ({"store": "duckdb:///proc/nope/arena.duckdb"}, "cannot create or write the folder '/proc/nope'"),
        ({"store": "questdb://127.0.0.1:abc"}, "Port could not be cast to integer value as 'abc'"),
        ({"seed": str(2**70)}, "seed: Input should be less than 9223372036854775808"),
        ({"name": "../../../evil"}, "run name '../../../evil' must start with a letter"),
        ({"contenders": "\n  - {name: x, class: sma_crossover, params: {fast: 50, slow: 10}}"},
         "need 0 < fast < slow"),
    ],
)
def test_a_bad_input_is_named_before_ray_starts(tmp_path, over, expected):
    was_up = ray.is_initialized()
    res = CliRunner().invoke(app, ["run", _config(tmp_path, **over)])
    assert res.exit_code == 2, res.output
    flat = " ".join(res.output.split())
    assert expected in flat
    assert "Traceback" not in res.output
    assert ray.is_initialized() == was_up, "Ray was not started for a bad input"


def test_a_store_another_process_writes_is_named_before_ray_starts(tmp_path):
    """DuckDB allows one writing process: a second `arena run` on a store that a run is writing
    says so at once (it used to fail in its recorder actor, with a traceback)."""
    import subprocess
    import sys
    import time

    store = tmp_path / "busy.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"
    ), str(store)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        res = CliRunner().invoke(app, ["run", _config(tmp_path, store=f"duckdb://{store}")])
        assert res.exit_code == 2, res.output
        assert "is being written by another process" in " ".join(res.output.split())
        assert time.monotonic() - t0 < 30
    finally:
        holder.kill()
