"""The trials register: trial identity, the ``trials`` table in the DuckDB store, and reads
by data set and by run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from arena.store import DuckDBStore, RunRecord
from arena.trials import trial_id, trial_rows, trial_sharpes

SHA = "cd" * 32
DAY_NS = 86_400 * 10**9


def _utc(day: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=day)


def test_a_trial_is_its_class_and_params_whatever_the_name_or_key_order() -> None:
    assert trial_id("sma_crossover", {"fast": 10, "slow": 30}) == trial_id("sma_crossover", {"slow": 30, "fast": 10})
    assert trial_id("sma_crossover", {"fast": 10, "slow": 30}) != trial_id("sma_crossover", {"fast": 10, "slow": 31})
    assert trial_id("sma_crossover", {}) != trial_id("buy_and_hold", {})
    assert len(trial_id("buy_and_hold", {})) == 16


def test_trial_sharpes_keep_the_latest_score_of_each_trial() -> None:
    rows = [
        {"trial_id": "a", "sharpe_per_bar": 0.1},
        {"trial_id": "b", "sharpe_per_bar": None},
        {"trial_id": "a", "sharpe_per_bar": 0.2},
    ]
    assert trial_sharpes(rows) == {"a": 0.2}


def _record(store: DuckDBStore, run_id: str, last_day: int, params: list[dict[str, int]]) -> None:
    store.create_run(RunRecord(
        run_id=run_id, name="t", config={}, data_source={}, data_sha256=SHA, code_version="test", seed=0,
        started_at=_utc(100), status="running", symbols=["X"], periods_per_year=252.0,
    ))
    contenders = [(f"sma_{i}", "sma_crossover", p) for i, p in enumerate(params)]
    store.append("trials", trial_rows(run_id, SHA, 0, last_day * DAY_NS, 100 * DAY_NS, contenders,
                                      {name: 0.01 * i for i, (name, _, _) in enumerate(contenders)}))


def test_the_register_counts_trials_per_data_set_and_bar_range(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "arena.duckdb") as store:
        _record(store, "r1", 10, [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 30}])
        _record(store, "r2", 10, [{"fast": 10, "slow": 30}, {"fast": 20, "slow": 50}])  # one new trial
        _record(store, "r3", 11, [{"fast": 2, "slow": 3}])  # another bar range
        rows = store.trials(SHA)
        assert [r["run_id"] for r in rows] == ["r1", "r1", "r2", "r2", "r3"]
        assert rows[0]["params"] == {"fast": 5, "slow": 20} and rows[0]["contender_class"] == "sma_crossover"
        same_range = store.trials(SHA, first_bar=_utc(0), last_bar=_utc(10))
        assert len({r["trial_id"] for r in same_range}) == 3
        assert {r["run_id"] for r in store.run_trials("r2")} == {"r1", "r2"}
        assert [r["run_id"] for r in store.run_trials("r3")] == ["r3"]
        assert store.run_trials("nope") == []
        assert store.trials("ef" * 32) == []
        with pytest.raises(ValueError, match="timezone-aware"):
            store.trials(SHA, first_bar=dt.datetime(1970, 1, 1))
