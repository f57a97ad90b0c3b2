"""DuckDBStore writes: runs, appends to every table, validation errors, append-only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from store_sample_rows import (
    T0,
    bar_rows,
    decision_row,
    equity_rows,
    fill_row,
    iso,
    leaderboard_row,
    order_rows,
    run_record,
    ts_ns,
    verdict_row,
)

from arena.records import to_batch
from arena.store import TABLES, DuckDBStore, RowsRejectedError
from reconciliation_rows import reconciliation_records
from arena.trials import trial_rows


def _count(path: Path, table: str) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    finally:
        con.close()


def test_create_run_round_trips_every_field(store: DuckDBStore) -> None:
    store.create_run(run_record())
    run = store.get_run("run-1")
    assert run == {
        "run_id": "run-1",
        "name": "store test",
        "config": {"cash_usd": 100_000, "contenders": [{"name": "sma"}]},
        "data_source": {"path": "bars.csv", "provider": "csv"},
        "data_sha256": "ab" * 32,
        "code_version": "0.1.0+dirty",
        "seed": 7,
        "started_at": "2024-01-02T00:00:00+00:00",
        "ended_at": None,
        "status": "running",
        "n_bars": None,
        "symbols": ["AAPL", "MSFT"],
        "periods_per_year": 252.0,
    }


def test_create_run_twice_is_an_error(store: DuckDBStore) -> None:
    store.create_run(run_record())
    with pytest.raises(ValueError, match="run 'run-1' already exists"):
        store.create_run(run_record())


def test_run_record_rejects_bad_fields() -> None:
    with pytest.raises(ValueError, match="started_at"):
        run_record(started_at=dt.datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="data_sha256"):
        run_record(data_sha256="xyz")
    with pytest.raises(ValueError, match="periods_per_year"):
        run_record(periods_per_year=0)
    with pytest.raises(ValueError, match="status"):
        run_record(status="paused")


def test_finish_run_records_the_end_once(store: DuckDBStore) -> None:
    store.create_run(run_record())
    ended = dt.datetime(2024, 1, 3, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    store.finish_run("run-1", ended, "killed", 42)
    run = store.get_run("run-1")
    assert run is not None
    assert (run["status"], run["n_bars"], run["ended_at"]) == (
        "killed",
        42,
        "2024-01-02T23:30:00+00:00",
    )
    with pytest.raises(ValueError, match="already ended with status 'killed'"):
        store.finish_run("run-1", ended, "finished", 42)


def test_finish_run_rejects_unknown_run_and_bad_arguments(store: DuckDBStore) -> None:
    store.create_run(run_record())
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError, match="unknown run_id 'nope'"):
        store.finish_run("nope", now, "finished", 1)
    with pytest.raises(ValueError, match="status"):
        store.finish_run("run-1", now, "running", 1)
    with pytest.raises(ValueError, match="no time zone"):
        store.finish_run("run-1", dt.datetime(2024, 1, 3), "finished", 1)
    with pytest.raises(ValueError, match="n_bars"):
        store.finish_run("run-1", now, "finished", -1)


def test_append_every_table_then_reopen(store_path: Path) -> None:
    with DuckDBStore(store_path) as store:
        store.create_run(run_record())
        store.append("equity", equity_rows("run-1", "sma", 3))
        store.append("decisions", [decision_row("d1")])
        store.append("orders", order_rows("run-1", "sma", "d1", "o1", 0))
        store.append("fills", [fill_row("run-1", "sma", "d1", "o1", 0)])
        store.append("risk_verdicts", [verdict_row("v1", "d1")])
        store.append("leaderboard", [leaderboard_row("run-1", "sma", 1)])
        store.append("bars", bar_rows("run-1", ("AAPL", "MSFT"), 2))
        store.append(
            "events",
            [
                {
                    "run_id": "run-1",
                    "ts": ts_ns(1),
                    "kind": "KILL_SWITCH_TRIPPED",
                    "reason": "manual",
                }
            ],
        )
        explained = [{"feature": "ret_5", "value": 0.01, "contribution": -0.002, "method": "shap", "symbol": "AAPL"}]
        store.append(
            "explanations",
            [{"run_id": "run-1", "decision_id": "d1", "contender": "sma", "ts": ts_ns(1),
              "explanation_json": explained, "computed_at": ts_ns(2)}],
        )
        assert store.explanation("d1")["explanation"] == explained
        assert store.explanation("d2") is None
        store.append("reconciliation", to_batch(TABLES["reconciliation"], reconciliation_records("run-1")))
        store.append("trials", trial_rows("run-1", "ab" * 32, ts_ns(0), ts_ns(2), ts_ns(3),
                                          [("sma", "sma_crossover", {"fast": 5, "slow": 20})], {"sma": 0.05}))
    counts = {t: _count(store_path, t) for t in TABLES}
    assert counts == {
        "runs": 1,
        "decisions": 1,
        "orders": 3,
        "fills": 1,
        "risk_verdicts": 1,
        "equity": 3,
        "leaderboard": 1,
        "events": 1,
        "explanations": 1,
        "bars": 4,
        "reconciliation": len(reconciliation_records("run-1")),
        "trials": 1,
    }


def test_append_adds_rows_and_never_replaces(store: DuckDBStore) -> None:
    store.append("equity", equity_rows("run-1", "sma", 2))
    store.append("equity", equity_rows("run-1", "sma", 2, start_equity=5.0))
    curve = store.equity_curve("run-1", "sma")
    assert [p["equity"] for p in curve] == [100_000.0, 5.0, 100_100.0, 105.0]


def test_append_accepts_a_dataframe_with_int_ns_or_utc_timestamps(store: DuckDBStore) -> None:
    frame = pd.DataFrame(equity_rows("run-1", "a", 3))
    store.append("equity", frame)
    utc_frame = frame.assign(contender="b", ts=pd.to_datetime(frame["ts"], utc=True))
    store.append("equity", utc_frame.assign(ts=utc_frame["ts"].dt.tz_convert("America/New_York")))
    assert [p["ts"] for p in store.equity_curve("run-1", "a")] == [iso(0), iso(1), iso(2)]
    assert [p["ts"] for p in store.equity_curve("run-1", "b")] == [iso(0), iso(1), iso(2)]


def test_unknown_table_is_a_value_error_naming_it(store: DuckDBStore) -> None:
    with pytest.raises(ValueError, match=r"unknown table 'trades'.*equity"):
        store.append("trades", [])


def test_runs_are_not_appended(store: DuckDBStore) -> None:
    with pytest.raises(ValueError, match="create_run"):
        store.append("runs", [run_record().to_row()])


def test_unknown_column_is_a_value_error_naming_table_and_column(store: DuckDBStore) -> None:
    rows = equity_rows("run-1", "sma", 2)
    rows[1]["leverage"] = 2.0
    with pytest.raises(ValueError, match=r"row 1: table 'equity': unknown column 'leverage'"):
        store.append("equity", rows)
    frame = pd.DataFrame(equity_rows("run-1", "sma", 2)).assign(leverage=2.0)
    with pytest.raises(ValueError, match=r"table 'equity': unknown column 'leverage'"):
        store.append("equity", frame)


def test_missing_required_column_is_a_value_error(store: DuckDBStore) -> None:
    rows = equity_rows("run-1", "sma", 2)
    del rows[0]["cash"]
    with pytest.raises(ValueError, match=r"table 'equity', row 0: missing required column 'cash'"):
        store.append("equity", rows)
    frame = pd.DataFrame(equity_rows("run-1", "sma", 2)).drop(columns="cash")
    with pytest.raises(ValueError, match=r"table 'equity': missing required column 'cash'"):
        store.append("equity", frame)


def test_required_value_given_as_none_is_rejected(store: DuckDBStore) -> None:
    rows = [decision_row("d1", contender=None)]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"row 0, column 'contender': required value is missing"):
        store.append("decisions", rows)


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("bar_index", 1.5, "an integer"),
        ("bar_index", True, "an integer"),
        ("equity", "100", "a number"),
        ("contender", 3, "a string"),
        ("ts", 1.7e18, "int64 ns"),
        ("ts", dt.datetime(2024, 1, 2), "a tz-aware datetime"),
    ],
)
def test_wrong_value_types_name_row_and_column(
    store: DuckDBStore, column: str, value: object, expected: str
) -> None:
    rows = equity_rows("run-1", "sma", 2)
    rows[1][column] = value
    with pytest.raises(
        ValueError, match=rf"table 'equity', row 1, column '{column}': expected {expected}"
    ):
        store.append("equity", rows)


def test_missing_nullable_columns_are_null(store: DuckDBStore) -> None:
    store.append(
        "decisions",
        [
            {
                "decision_id": "d1",
                "run_id": "run-1",
                "contender": "sma",
                "ts": ts_ns(0),
                "bar_index": 0,
            }
        ],
    )
    found = store.decision("d1")
    assert found is not None
    assert (found["weights"], found["orders"], found["confidence"], found["explanation"]) == (
        None,
        None,
        None,
        None,
    )
    assert found["symbols"] == []


def test_json_columns_accept_objects_and_text_and_store_sorted_keys(store_path: Path) -> None:
    with DuckDBStore(store_path) as store:
        store.append("decisions", [decision_row("obj", weights={"MSFT": 0.1, "AAPL": 0.2})])
        store.append(
            "decisions",
            [decision_row("txt", weights='{"MSFT": 0.1, "AAPL": 0.2}')],  # type: ignore[arg-type]
        )
    con = duckdb.connect(str(store_path), read_only=True)
    texts = con.execute("SELECT weights_json FROM decisions ORDER BY decision_id").fetchall()
    con.close()
    assert texts == [('{"AAPL":0.2,"MSFT":0.1}',)] * 2  # canonical: compact, keys sorted


def test_json_round_trip_decodes_under_names_without_suffix(store: DuckDBStore) -> None:
    store.append("decisions", [decision_row("d1", orders_json=[{"symbol": "MSFT", "quantity": 3}])])
    found = store.decision("d1")
    assert found is not None
    assert found["weights"] == {"AAPL": 0.5}
    assert found["orders"] == [{"quantity": 3, "symbol": "MSFT"}]
    assert found["explanation"] == [
        {
            "contribution": 0.3,
            "feature": "sma_fast",
            "method": "rule",
            "symbol": "AAPL",
            "value": 101.5,
        },
        {"contribution": -0.7, "feature": "rsi", "method": "rule", "symbol": "", "value": 71.0},
    ]
    assert found["symbols"] == ["AAPL", "MSFT"]  # derived from weights, orders, explanation
    assert "weights_json" not in found


def test_invalid_json_text_is_rejected(store: DuckDBStore) -> None:
    with pytest.raises(ValueError, match=r"row 0, column 'weights_json': string is not valid JSON"):
        store.append("decisions", [decision_row("d1", weights_json="{AAPL: 0.5")])


def test_malformed_explanation_is_rejected(store: DuckDBStore) -> None:
    with pytest.raises(
        ValueError, match=r"explanation_json', item 0: expected an object with keys"
    ):
        store.append("decisions", [decision_row("d1", explanation_json=[{"feature": "rsi"}])])
    bad = [
        {
            "feature": "rsi",
            "value": 1.0,
            "contribution": float("nan"),
            "method": "rule",
            "symbol": "",
        }
    ]
    with pytest.raises(ValueError, match="contribution must be a finite number"):
        store.append("decisions", [decision_row("d2", explanation_json=bad)])


def test_duplicate_decision_id_is_rejected_in_batch_buffer_and_store(store: DuckDBStore) -> None:
    with pytest.raises(ValueError, match=r"key \(decision_id\) = \('d1',\) repeats row 0"):
        store.append("decisions", [decision_row("d1"), decision_row("d1", day=1)])
    store.append("decisions", [decision_row("d1")])
    with pytest.raises(ValueError, match="already appended"):
        store.append("decisions", [decision_row("d1", day=1)])
    store.flush()
    store.append("decisions", [decision_row("d1", day=2), decision_row("d3", day=3)])
    with pytest.raises(RowsRejectedError, match=r"\('d1',\) already exists") as info:
        store.flush()
    assert info.value.table == "decisions" and info.value.rows.column("decision_id").to_pylist() == ["d1"]
    assert sorted(d["decision_id"] for d in store.decisions("run-1")) == ["d1", "d3"], "the rest is written"


def test_rows_clashing_at_write_go_to_the_on_rejected_hook(store: DuckDBStore) -> None:
    store.append("decisions", [decision_row("d1")])
    store.flush()
    seen = []
    store.on_rejected = lambda table, rows, error: seen.append((table, rows.num_rows, error))
    store.append("decisions", [decision_row("d1", day=1), decision_row("d2", day=2)])
    store.flush()
    assert [(t, n) for t, n, _ in seen] == [("decisions", 1)] and "already exists" in seen[0][2]
    assert sorted(d["decision_id"] for d in store.decisions("run-1")) == ["d1", "d2"]


def test_non_finite_floats_read_back_as_none(store: DuckDBStore) -> None:
    store.append(
        "leaderboard",
        [leaderboard_row("run-1", "sma", 1, sharpe=float("nan"), profit_factor=float("inf"))],
    )
    (row,) = store.leaderboard("run-1")
    assert row["sharpe"] is None and row["profit_factor"] is None
    assert row["metrics"]["sharpe"] is None  # derived metrics_json, sanitized too
    json.dumps(row, allow_nan=False)


def test_leaderboard_metrics_json_defaults_to_the_row_and_keeps_extras(store: DuckDBStore) -> None:
    store.append(
        "leaderboard",
        [
            leaderboard_row("run-1", "a", 1),
            leaderboard_row("run-1", "b", 2, metrics_json={"sharpe": 1.3, "omega": 1.9}),
        ],
    )
    a, b = store.leaderboard("run-1")
    assert a["metrics"]["rank"] == 1 and a["metrics"]["final_equity"] == 109_000.0
    assert b["metrics"] == {"omega": 1.9, "sharpe": 1.3}


def test_large_batches_take_the_one_pass_path_with_the_same_rows_and_errors(store: DuckDBStore) -> None:
    """From 64 rows, string columns and key checks run in one Arrow pass: the rows read back
    the same, and a repeated key or a missing string is still named by row."""
    rows = [leaderboard_row("run-1", f"c{i:03d}", i + 1) for i in range(80)]
    store.append("leaderboard", rows)
    back = {r["contender"]: r for r in store.leaderboard("run-1")}
    assert len(back) == 80 and back["c007"]["metrics"]["rank"] == 8
    decisions = [decision_row(f"d{i}", day=i) for i in range(70)]
    with pytest.raises(ValueError, match=r"row 69: key \(decision_id\) = \('d3',\) repeats row 3"):
        store.append("decisions", decisions[:69] + [decision_row("d3", day=69)])
    with pytest.raises(ValueError, match=r"row 5, column 'contender'"):
        store.append("decisions", decisions[:5] + [{**decisions[5], "contender": None}] + decisions[6:])
    store.append("decisions", decisions)
    assert len(store.decisions("run-1", limit=1000)) == 70


def test_read_only_store_refuses_writes(store_path: Path) -> None:
    DuckDBStore(store_path).close()
    with DuckDBStore(store_path, read_only=True) as reader:
        with pytest.raises(PermissionError, match="read-only"):
            reader.append("equity", equity_rows("run-1", "sma", 1))
        with pytest.raises(PermissionError, match="read-only"):
            reader.create_run(run_record())


def test_closed_store_raises(store_path: Path) -> None:
    opened = DuckDBStore(store_path)
    opened.close()
    opened.close()
    with pytest.raises(RuntimeError, match="closed"):
        opened.list_runs()


def test_buffered_rows_reach_the_file_on_batch_size_and_close(store_path: Path) -> None:
    writer = DuckDBStore(store_path, batch_rows=4, flush_interval_s=3600.0)
    writer.append("equity", equity_rows("run-1", "sma", 3))
    writer.append("equity", equity_rows("run-2", "sma", 1))  # 4 rows: written now
    writer.append("equity", equity_rows("run-3", "sma", 1))  # buffered
    reader = duckdb.connect(str(store_path))  # same process: shares the open database
    assert reader.execute("SELECT count(*) FROM equity").fetchall() == [(4,)]
    reader.close()
    writer.close()
    assert _count(store_path, "equity") == 5


def test_hundred_thousand_equity_rows_append_fast(store: DuckDBStore) -> None:
    n = 100_000
    frame = pd.DataFrame(
        {
            "run_id": "run-1",
            "contender": "sma",
            "ts": ts_ns(0) + np.arange(n, dtype=np.int64) * 60 * 10**9,
            "bar_index": np.arange(n),
            "equity": np.linspace(1e5, 2e5, n),
            "cash": 1e5,
            "gross_exposure": 0.0,
        }
    )
    store.append("equity", frame)
    store.flush()
    curve = store.equity_curve("run-1", "sma", start=T0 + dt.timedelta(minutes=n - 2))
    assert [p["bar_index"] for p in curve] == [n - 2, n - 1]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("weights_json", [0.5], "expected a JSON object"),
        ("weights_json", {"AAPL": "half"}, "weight of 'AAPL' must be a number"),
        ("orders_json", {"symbol": "AAPL"}, "expected a JSON array"),
        ("explanation_json", "not json at all", "string is not valid JSON"),
    ],
)
def test_json_columns_must_have_their_shape(
    store: DuckDBStore, column: str, value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=rf"row 0, column '{column}'.*{message}"):
        store.append("decisions", [decision_row("d1", **{column: value})])


def test_create_run_accepts_a_mapping_of_run_record_fields(store: DuckDBStore) -> None:
    fields = {
        "run_id": "run-m",
        "name": "from a dict",
        "config": {},
        "data_source": {"provider": "csv"},
        "data_sha256": "cd" * 32,
        "code_version": "abc123",
        "seed": None,
        "started_at": T0,
        "symbols": ["AAPL"],
        "periods_per_year": 365.0,
    }
    store.create_run(fields)
    run = store.get_run("run-m")
    assert run is not None and run["symbols"] == ["AAPL"] and run["seed"] is None
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['colour'\]"):
        store.create_run({**fields, "run_id": "run-n", "colour": "red"})
    with pytest.raises(ValueError, match=r"missing field\(s\) \['name'\]"):
        store.create_run({k: v for k, v in fields.items() if k != "name"})


def test_an_append_after_the_flush_interval_writes_every_buffer(store_path: Path) -> None:
    writer = DuckDBStore(store_path, flush_interval_s=0.0)
    writer.append("equity", equity_rows("run-1", "sma", 2))
    writer.append("decisions", [decision_row("d1")])
    reader = duckdb.connect(str(store_path))  # same process: shares the open database
    counts = [
        reader.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        for t in ("equity", "decisions")
    ]
    reader.close()
    writer.close()
    assert counts == [2, 1]


def test_nanoseconds_are_floored_to_the_microsecond(store: DuckDBStore) -> None:
    rows = equity_rows("run-1", "sma", 2)
    rows[0]["ts"] = ts_ns(0) + 999  # e.g. a wall-clock time.time_ns()
    rows[1]["ts"] = ts_ns(0) + 1_500
    store.append("equity", rows)
    frame = pd.DataFrame(equity_rows("run-1", "df", 1)).assign(ts=[ts_ns(0) + 2_999])
    store.append("equity", frame)
    assert [p["ts"] for p in store.equity_curve("run-1", "sma")] == [
        "2024-01-02T00:00:00+00:00",
        "2024-01-02T00:00:00.000001+00:00",
    ]
    assert store.equity_curve("run-1", "df")[0]["ts"] == "2024-01-02T00:00:00.000002+00:00"
