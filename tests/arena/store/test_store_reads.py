"""DuckDBStore reads: filters, paging, joins, bound parameters, read-only locking."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from store_sample_rows import (
    T0,
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

from arena.store import DuckDBStore, StoreBusyError, open_store

NY = dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture
def filled(store: DuckDBStore) -> DuckDBStore:
    """Two runs; run-1 has contenders sma and mom, 4 decisions each over 4 days."""
    store.create_run(run_record("run-1"))
    store.create_run(run_record("run-0", started_at=T0 - dt.timedelta(days=30)))
    for contender in ("sma", "mom"):
        store.append("equity", equity_rows("run-1", contender, 4))
        store.append(
            "decisions",
            [
                decision_row(
                    f"{contender}-{day}",
                    contender=contender,
                    day=day,
                    weights={"AAPL": 0.5} if day % 2 == 0 else {"MSFT": -0.2},
                )
                for day in range(4)
            ],
        )
    store.append("equity", equity_rows("run-0", "sma", 2))
    store.append(
        "leaderboard", [leaderboard_row("run-1", "sma", 2), leaderboard_row("run-1", "mom", 1)]
    )
    return store


def test_list_runs_newest_first(filled: DuckDBStore) -> None:
    assert [r["run_id"] for r in filled.list_runs()] == ["run-1", "run-0"]


def test_get_run_unknown_is_none(filled: DuckDBStore) -> None:
    assert filled.get_run("run-9") is None


def test_leaderboard_ordered_by_rank(filled: DuckDBStore) -> None:
    assert [(r["rank"], r["contender"]) for r in filled.leaderboard("run-1")] == [
        (1, "mom"),
        (2, "sma"),
    ]
    assert filled.leaderboard("run-0") == []


def test_contenders_of_a_run(filled: DuckDBStore) -> None:
    assert filled.contenders("run-1") == ["mom", "sma"]
    assert filled.contenders("run-0") == ["sma"]
    assert filled.contenders("run-9") == []


def test_equity_curve_in_bar_order_within_bounds(filled: DuckDBStore) -> None:
    full = filled.equity_curve("run-1", "sma")
    assert [p["bar_index"] for p in full] == [0, 1, 2, 3]
    assert full[1] == {
        "run_id": "run-1",
        "contender": "sma",
        "ts": iso(1),
        "bar_index": 1,
        "equity": 100_100.0,
        "cash": 99_000.0,
        "gross_exposure": 1100.0,
    }
    # bounds are inclusive and compared as instants, whatever the offset
    start = (T0 + dt.timedelta(days=1)).astimezone(NY)
    end = T0 + dt.timedelta(days=2)
    assert [p["bar_index"] for p in filled.equity_curve("run-1", "sma", start, end)] == [1, 2]
    assert filled.equity_curve("run-1", "nobody") == []


def test_naive_or_inverted_bounds_are_errors(filled: DuckDBStore) -> None:
    with pytest.raises(ValueError, match="start: datetime 2024-01-02T00:00:00 has no time zone"):
        filled.equity_curve("run-1", "sma", start=dt.datetime(2024, 1, 2))
    with pytest.raises(ValueError, match="is after end"):
        filled.decisions("run-1", start=T0 + dt.timedelta(days=2), end=T0)


def test_decisions_filter_by_contender_symbol_and_time(filled: DuckDBStore) -> None:
    ids = lambda rows: [r["decision_id"] for r in rows]  # noqa: E731
    assert ids(filled.decisions("run-1", contender="sma")) == ["sma-0", "sma-1", "sma-2", "sma-3"]
    assert ids(filled.decisions("run-1", contender="sma", symbol="MSFT")) == ["sma-1", "sma-3"]
    assert ids(filled.decisions("run-1", symbol="AAPL", start=T0 + dt.timedelta(days=1))) == [
        "mom-2",
        "sma-2",
    ]
    assert ids(filled.decisions("run-1", end=T0)) == ["mom-0", "sma-0"]
    assert filled.decisions("run-1", symbol="TSLA") == []


def test_decisions_paging_is_stable(filled: DuckDBStore) -> None:
    everything = [r["decision_id"] for r in filled.decisions("run-1", limit=1000)]
    assert len(everything) == 8
    pages = [
        [r["decision_id"] for r in filled.decisions("run-1", limit=3, offset=offset)]
        for offset in (0, 3, 6)
    ]
    assert pages == [everything[0:3], everything[3:6], everything[6:8]]
    assert filled.decisions("run-1", offset=8) == []


@pytest.mark.parametrize(
    ("limit", "offset", "message"),
    [
        (0, 0, "limit: expected an int >= 1"),
        (-1, 0, "limit"),
        (10, -1, "offset: expected an int >= 0"),
    ],
)
def test_decisions_reject_bad_paging(
    filled: DuckDBStore, limit: int, offset: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        filled.decisions("run-1", limit=limit, offset=offset)


def test_decision_joins_verdicts_order_events_and_fills(store: DuckDBStore) -> None:
    store.append("decisions", [decision_row("d1"), decision_row("d2", day=1)])
    store.append("risk_verdicts", [verdict_row("v1", "d1"), verdict_row("v2", "d2")])
    store.append(
        "orders",
        order_rows("run-1", "sma", "d1", "o1", 0) + order_rows("run-1", "sma", "d2", "o2", 1),
    )
    # the fill of o1 carries no decision id: it is found through the order's client_order_id
    store.append(
        "fills", [fill_row("run-1", "sma", None, "o1", 0), fill_row("run-1", "sma", "d2", "o2", 1)]
    )
    # the same client_order_id in another run must not leak in
    store.append("orders", order_rows("run-2", "sma", "x", "o1", 0))
    found = store.decision("d1")
    assert found is not None
    assert [v["verdict_id"] for v in found["verdicts"]] == ["v1"]
    assert found["verdicts"][0]["reasons"] == ["MAX_POSITION_WEIGHT"]
    assert found["verdicts"][0]["approved"] == {"AAPL": 0.25}
    assert [(o["client_order_id"], o["status"]) for o in found["order_events"]] == [
        ("o1", "NEW"),
        ("o1", "ACCEPTED"),
        ("o1", "FILLED"),
    ]
    assert [(f["client_order_id"], f["price"], f["ts"]) for f in found["fills"]] == [
        ("o1", 185.25, iso(1))
    ]
    assert store.decision("nope") is None


def test_kill_switch_events(store: DuckDBStore) -> None:
    store.append(
        "events",
        [
            {
                "run_id": "run-1",
                "ts": ts_ns(2),
                "kind": "KILL_SWITCH_TRIPPED",
                "reason": "api",
                "details_json": {"by": "ops"},
            },
            {
                "run_id": "run-1",
                "ts": ts_ns(1),
                "contender": "sma",
                "kind": "CONTENDER_HALTED",
                "reason": "MAX_DRAWDOWN",
            },
            {"run_id": "run-2", "ts": ts_ns(1), "kind": "KILL_SWITCH_TRIPPED", "reason": "api"},
        ],
    )
    (event,) = store.kill_switch_events("run-1")
    assert event == {
        "run_id": "run-1",
        "ts": iso(2),
        "contender": None,
        "kind": "KILL_SWITCH_TRIPPED",
        "reason": "api",
        "details": {"by": "ops"},
    }


INJECTIONS = ["x' OR '1'='1", "run-1'; DROP TABLE runs; --", 'run-1" OR 1=1 --', "%", "*"]


@pytest.mark.parametrize("evil", INJECTIONS)
def test_request_values_are_bound_parameters(filled: DuckDBStore, evil: str) -> None:
    assert filled.get_run(evil) is None
    assert filled.leaderboard(evil) == []
    assert filled.contenders(evil) == []
    assert filled.equity_curve(evil, evil) == []
    assert filled.equity_curve("run-1", evil) == []
    assert filled.decisions(evil) == []
    assert filled.decisions("run-1", contender=evil, symbol=evil) == []
    assert filled.decision(evil) is None
    assert filled.kill_switch_events(evil) == []
    assert [r["run_id"] for r in filled.list_runs()] == ["run-1", "run-0"]  # nothing broke
    assert len(filled.decisions("run-1")) == 8


def test_writer_and_reader_see_the_same_rows_after_close(store_path: Path) -> None:
    with DuckDBStore(store_path) as writer:
        writer.create_run(run_record())
        writer.append("equity", equity_rows("run-1", "sma", 3))
    with open_store(store_path, read_only=True) as reader:
        assert [p["bar_index"] for p in reader.equity_curve("run-1", "sma")] == [0, 1, 2]


_HOLD_WRITER = textwrap.dedent(
    """
    import sys
    import duckdb
    writer = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    sys.stdin.readline()
    writer.close()
    """
)


def test_read_only_open_of_a_file_held_by_a_writer_raises_store_busy(store_path: Path) -> None:
    DuckDBStore(store_path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITER, str(store_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreBusyError, match=str(store_path)) as caught:
            open_store(store_path, read_only=True, busy_timeout_s=0.1)
        assert caught.value.path == str(store_path)
        with pytest.raises(StoreBusyError, match="busy"):
            DuckDBStore(store_path, busy_timeout_s=0.0)  # a second writer process, too
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    with open_store(store_path, read_only=True) as reader:  # free again
        assert reader.list_runs() == []


def test_read_only_open_while_this_process_writes_raises_store_busy(
    store: DuckDBStore, store_path: Path
) -> None:
    with pytest.raises(StoreBusyError, match="busy"):
        DuckDBStore(store_path, read_only=True, busy_timeout_s=0.0)
