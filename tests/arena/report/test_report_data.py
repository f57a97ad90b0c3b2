"""A run read back from the store: trades rebuilt from fills, monthly returns, drawdowns,
return statistics, and the stores' whole-run reads."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arena.report.data import (
    RunNotFoundError,
    bar_returns,
    drawdowns,
    load_run,
    monthly_returns,
    return_stats,
    trades_from_fills,
)
from arena.store import DuckDBStore, open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "serve"))
from serve_sample_run import RUN_ID, write_sample_run  # noqa: E402 - the serve tests' sample run


def _fills(rows):
    frame = pd.DataFrame(rows, columns=["contender", "ts", "symbol", "side", "quantity", "price", "commission"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["client_order_id"] = [f"o{i}" for i in range(len(frame))]
    return frame


def test_trades_from_fills_books_partial_exits_and_reversals_at_average_cost():
    fills = _fills([
        ("a", "2024-01-02", "X", "BUY", 10.0, 100.0, 1.0),
        ("a", "2024-01-03", "X", "BUY", 10.0, 110.0, 1.0),   # avg 105, open commission 2
        ("a", "2024-01-04", "X", "SELL", 5.0, 120.0, 0.5),   # closes 5 of 20
        ("a", "2024-01-05", "X", "SELL", 25.0, 90.0, 2.5),   # closes 15, opens 10 short at 90
        ("a", "2024-01-08", "X", "BUY", 10.0, 80.0, 1.0),    # closes the short
    ])
    t = trades_from_fills(fills, ("X",))
    assert list(t["side"]) == ["LONG", "LONG", "SHORT"]
    assert list(t["quantity"]) == [5.0, 15.0, 10.0]
    # 5 × (120 − 105) − (2 × 5/20 + 0.5)
    assert t["pnl"].iloc[0] == pytest.approx(75.0 - 1.0)
    # 15 × (90 − 105) − (1.5 + 2.5 × 15/25)
    assert t["pnl"].iloc[1] == pytest.approx(-225.0 - 3.0)
    # short 10 at 90, covered at 80: + 100 − (2.5 × 10/25 + 1)
    assert t["pnl"].iloc[2] == pytest.approx(100.0 - 2.0)
    assert t["entry_ts"].iloc[2] == pd.Timestamp("2024-01-05", tz="UTC")
    assert t["return_pct"].iloc[0] == pytest.approx(74.0 / (105.0 * 5))


def test_trades_from_fills_names_a_bad_row():
    bad = _fills([("a", "2024-01-02", "X", "HOLD", 1.0, 1.0, 0.0)])
    with pytest.raises(ValueError, match=r"fills of 'a', row 0: side 'HOLD'"):
        trades_from_fills(bad)


def test_monthly_returns_start_from_the_capital_and_compound_into_the_year():
    idx = pd.to_datetime(["2023-12-29", "2024-01-15", "2024-01-31", "2024-02-29", "2024-03-05"], utc=True)
    eq = pd.Series([100.0, 104.0, 110.0, 99.0, 108.9], index=idx)
    table = monthly_returns(eq, capital_usd=100.0)
    assert table.loc[2023, 12] == pytest.approx(0.0)
    assert table.loc[2024, 1] == pytest.approx(0.10)
    assert table.loc[2024, 2] == pytest.approx(-0.10)
    assert table.loc[2024, 3] == pytest.approx(0.10)
    assert math.isnan(table.loc[2024, 4])
    assert table.loc[2024, "year"] == pytest.approx(1.1 * 0.9 * 1.1 - 1)
    with pytest.raises(ValueError, match="capital_usd"):
        monthly_returns(eq, capital_usd=0.0)


def test_drawdowns_and_return_stats():
    eq = pd.Series([100.0, 120.0, 90.0, 130.0])
    assert list(drawdowns(eq)) == pytest.approx([0.0, 0.0, -0.25, 0.0])
    r = bar_returns(eq)
    stats = return_stats(r)
    assert stats["n"] == 3 and stats["worst"] == pytest.approx(-0.25) and stats["best"] == pytest.approx(130 / 90 - 1)
    assert stats["var_95"] == pytest.approx(float(np.quantile(r, 0.05)))
    assert return_stats(pd.Series([], dtype=float))["n"] == 0


@pytest.mark.ray
def test_rebuilt_trades_are_the_leaderboards_trades(recorded_run):
    with open_store(recorded_run.store, read_only=True) as st:
        data = load_run(st, recorded_run.run_id)
        rows = st.leaderboard(recorded_run.run_id)
    per = data.trades.groupby("contender").size()
    for row in rows:
        assert int(per.get(row["contender"], 0)) == row["trades"], row["contender"]
        assert int((data.fills["contender"] == row["contender"]).sum()) == row["fills"], row["contender"]
        wins = data.trades[data.trades["contender"] == row["contender"]]["pnl"] > 0
        if row["win_rate"] is not None:
            assert wins.mean() == pytest.approx(row["win_rate"])
    assert data.benchmarks == {"bench"}
    # final equity of each curve is the leaderboard's
    for row in rows:
        assert data.equity[row["contender"]].iloc[-1] == pytest.approx(row["final_equity"], rel=1e-12)


@pytest.mark.ray
def test_load_run_refuses_unknown_runs_and_contenders(recorded_run):
    with open_store(recorded_run.store, read_only=True) as st:
        with pytest.raises(RunNotFoundError, match="no run 'nope'"):
            load_run(st, "nope")
        with pytest.raises(ValueError, match=r"\['nobody'\] not in run"):
            load_run(st, recorded_run.run_id, ["bench", "nobody"])
        assert load_run(st, recorded_run.run_id, ["bench"]).contenders == ["bench"]


def test_duckdb_whole_run_reads_filter_and_order(tmp_path):
    with DuckDBStore(tmp_path / "a.duckdb") as st:
        write_sample_run(st)
        fills = st.run_fills(RUN_ID)
        assert [f["contender"] for f in fills] == ["momentum"] * 5 + ["sma_cross"] * 5
        assert [f["ts"] for f in fills[:5]] == sorted(f["ts"] for f in fills[:5])
        assert len(st.run_fills(RUN_ID, "momentum")) == 5 and st.run_fills("other") == []
        scaled = st.run_verdicts(RUN_ID, actions=["SCALE"])
        assert scaled and {v["action"] for v in scaled} == {"SCALE"}
        assert len(st.run_verdicts(RUN_ID)) == 10
        assert st.run_verdicts(RUN_ID, "momentum", actions=("DENY",)) == []
        with pytest.raises(ValueError, match="verdict actions"):
            st.run_verdicts(RUN_ID, actions=["MAYBE"])
