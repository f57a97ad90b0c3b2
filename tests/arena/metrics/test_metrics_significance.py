"""SPA, Reality Check, StepM and MCS on worked cases with known answers; the leaderboard's
benchmark, ranking and every-trial DSR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from metrics_helpers import empty_fills, empty_trades

from arena.metrics import ContenderResult, leaderboard_and_stats, sharpe_per_bar, significance_tests

T = 750  # three years of daily bars


def _bench() -> np.ndarray:
    return np.random.default_rng(11).normal(0.0004, 0.012, T)


def _noise(seed: int) -> np.ndarray:
    """Noise of mean ``seed``·1e-8 per bar (demeaned, then offset so no two means tie exactly):
    a contender that is the benchmark plus it earns the benchmark's mean return, to 0.0003 %/yr."""
    x = np.random.default_rng(seed).normal(0.0, 0.004, T)
    return x - x.mean() + seed * 1e-8


def _winner_and_noise() -> pd.DataFrame:
    b = _bench()
    cols = {"bench": b, **{f"noise{i}": b + _noise(100 + i) for i in range(8)}}
    cols["winner"] = b + 0.0015 + _noise(99)  # +0.15 %/bar over the benchmark: ~38 %/yr
    return pd.DataFrame(cols)


def _all_noise() -> pd.DataFrame:
    b = _bench()
    return pd.DataFrame({"bench": b, **{f"noise{i}": b + _noise(200 + i) for i in range(9)}})


def test_a_contender_built_to_beat_the_benchmark_is_found() -> None:
    res = significance_tests(_winner_and_noise(), "bench", seed=3)
    assert res.reason == ""
    assert res.spa_pvalue < 0.05
    assert res.reality_check_pvalue < 0.05
    assert [name for name, beats in res.beats_benchmark.items() if beats] == ["winner"]
    assert [name for name, keep in res.in_mcs.items() if keep] == ["winner"]
    assert res.mcs_pvalue["winner"] == 1.0


def test_contenders_that_are_noise_around_the_benchmark_do_not_beat_it() -> None:
    res = significance_tests(_all_noise(), "bench", seed=3)
    assert res.spa_pvalue > 0.3
    assert not any(res.beats_benchmark.values())
    assert set(res.beats_benchmark) == {f"noise{i}" for i in range(9)}
    assert "bench" in res.in_mcs and sum(res.in_mcs.values()) >= 2  # none tells apart from the best


def test_same_returns_and_seed_give_the_same_p_values() -> None:
    a = significance_tests(_all_noise(), "bench", seed=5)
    b = significance_tests(_all_noise(), "bench", seed=5)
    assert (a.spa_pvalue, a.reality_check_pvalue, a.mcs_pvalue) == (b.spa_pvalue, b.reality_check_pvalue, b.mcs_pvalue)


def test_a_copy_of_the_benchmark_cannot_beat_it() -> None:
    frame = _winner_and_noise()
    frame["copy"] = frame["bench"]
    res = significance_tests(frame, "bench", seed=3)
    assert res.beats_benchmark["copy"] is False
    assert res.in_mcs["copy"] == res.in_mcs["bench"]


def test_too_few_bars_give_no_result_with_a_reason() -> None:
    res = significance_tests(_all_noise().head(10), "bench")
    assert res.spa_pvalue is None and res.beats_benchmark == {}
    assert "at least" in res.reason


def test_an_unknown_benchmark_is_named() -> None:
    with pytest.raises(ValueError, match="'nope' is not a contender"):
        significance_tests(_all_noise(), "nope")


# --- through the leaderboard ------------------------------------------------------------------


def _results(frame: pd.DataFrame) -> dict[str, ContenderResult]:
    index = pd.date_range("2020-01-01", periods=T + 1, freq="B", tz="UTC")
    out = {}
    for name in frame.columns:
        equity = pd.Series(10_000.0 * np.cumprod(np.r_[1.0, 1.0 + frame[name].to_numpy()]), index=index)
        out[name] = ContenderResult(equity, empty_fills(), empty_trades(), equity)
    return out


def test_leaderboard_names_the_benchmark_ranking_and_who_beats_it() -> None:
    rows, stats = leaderboard_and_stats(
        _results(_winner_and_noise()), 252.0, benchmark="bench", rank_by="excess_return", seed=3, bootstrap_reps=500
    )
    assert rows[0]["contender"] == "winner"
    assert rows[0]["excess_return"] > 0.5 and rows[0]["beats_benchmark"] == 1 and rows[0]["in_mcs"] == 1
    bench = next(r for r in rows if r["contender"] == "bench")
    assert bench["beats_benchmark"] is None and bench["excess_return"] == pytest.approx(0.0, abs=1e-12)
    assert bench["beta"] == pytest.approx(1.0)
    assert all(r["rank_by"] == "excess_return" and r["benchmark"] == "bench" for r in rows)
    assert stats["spa_pvalue"] < 0.05 and all(r["spa_pvalue"] == stats["spa_pvalue"] for r in rows)
    assert [r["excess_return"] for r in rows] == sorted((r["excess_return"] for r in rows), reverse=True)


def test_leaderboard_rejects_an_unknown_rank_or_benchmark() -> None:
    results = _results(_all_noise())
    with pytest.raises(ValueError, match="rank_by must be one of"):
        leaderboard_and_stats(results, 252.0, rank_by="luck")
    with pytest.raises(ValueError, match="benchmark 'nope'"):
        leaderboard_and_stats(results, 252.0, benchmark="nope")


def test_dsr_falls_as_trials_are_added() -> None:
    frame = _winner_and_noise()
    results = _results(frame)
    this_run = [sharpe_per_bar(frame[c].to_numpy()) for c in frame.columns]
    earlier: dict[str, float] = {}
    dsr_all = []
    for n_prior in (0, 20, 200):
        while len(earlier) < n_prior:  # variants tried earlier on the same data, scoring as this run's did
            earlier[f"t{len(earlier)}"] = this_run[len(earlier) % len(this_run)]
        rows, stats = leaderboard_and_stats(results, 252.0, benchmark="bench", prior_trial_sharpes=earlier, seed=1,
                                            bootstrap_reps=200)
        row = next(r for r in rows if r["contender"] == "noise0")
        assert row["n_trials"] == 10 and row["n_trials_all"] == 10 + n_prior == stats["n_trials_all"]
        dsr_all.append(row["dsr_all"])
        if n_prior == 0:
            assert row["dsr_all"] == pytest.approx(row["dsr"])
    assert dsr_all[0] > dsr_all[1] > dsr_all[2]


def test_a_trial_run_again_is_counted_once() -> None:
    results = _results(_all_noise())
    ids = {name: ("same" if name in ("noise0", "noise1") else name) for name in results}
    rows, stats = leaderboard_and_stats(results, 252.0, trial_ids=ids, prior_trial_sharpes={"same": 0.01},
                                        bootstrap_reps=200)
    assert stats["n_trials_all"] == len(results) - 1
