"""PSR, DSR and PBO against worked values and constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from arena.metrics import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    psr_from_moments,
    sharpe_per_bar,
)
from arena.metrics.overfitting import choose_partitions, sharpe_by_column


def _phi(z: float) -> float:
    """Standard normal CDF via math.erf (independent of scipy)."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# --- Sharpe per bar -----------------------------------------------------------------------------


def test_sharpe_per_bar_is_mean_over_sample_std() -> None:
    r = [0.01, -0.02, 0.03, 0.0]
    assert sharpe_per_bar(r) == pytest.approx(0.005 / np.std(r, ddof=1))


def test_sharpe_per_bar_flat_and_short() -> None:
    assert sharpe_per_bar([0.001] * 5) == 0.0
    assert math.isnan(sharpe_per_bar([0.01]))


def test_sharpe_by_column_ranks_riskless_columns_by_sign() -> None:
    mat = np.array([[0.01, -0.01, 0.0, 0.02], [0.01, -0.01, 0.0, -0.01]])
    out = sharpe_by_column(mat)
    assert out[0] == math.inf and out[1] == -math.inf and out[2] == 0.0
    assert out[3] == pytest.approx(0.005 / np.std([0.02, -0.01], ddof=1))


# --- PSR ----------------------------------------------------------------------------------------


def test_psr_hand_worked_example() -> None:
    """Returns 1 %, −0.5 %, 2 %, 0 %, 1.5 % worked by hand.

    mean 0.008; deviations 2, −13, 12, −8, 7 (×1e-3); Σd² = 430e-6, Σd³ = −630e-9,
    Σd⁴ = 55810e-12. SR = 0.008 / sqrt(430e-6/4); m2 = 86e-6, m3 = −126e-9,
    m4 = 11162e-12; skew = m3/m2^1.5, kurtosis = m4/m2² = 11162/7396.
    PSR = Φ(SR·sqrt(5 − 1) / sqrt(1 − skew·SR + (kurt − 1)/4·SR²)).
    """
    returns = [0.01, -0.005, 0.02, 0.0, 0.015]
    sr = 0.008 / math.sqrt(430e-6 / 4)
    skew = -126e-9 / 86e-6**1.5
    kurt = 11162.0 / 7396.0
    expected = _phi(sr * 2.0 / math.sqrt(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2))
    assert probabilistic_sharpe_ratio(returns) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.9207, abs=5e-5)


def test_psr_under_normality_reduces_to_the_textbook_form() -> None:
    """Normal returns (skew 0, kurtosis 3): z = SR·sqrt(T − 1)/sqrt(1 + SR²/2)."""
    z = 0.1 * math.sqrt(100) / math.sqrt(1.0 + 0.01 / 2.0)
    assert psr_from_moments(0.1, 101, 0.0, 3.0) == pytest.approx(_phi(z), rel=1e-12)
    assert psr_from_moments(0.1, 101, 0.0, 3.0) == pytest.approx(0.84074, abs=1e-5)


def test_psr_falls_with_negative_skew_and_fat_tails() -> None:
    normal = psr_from_moments(0.1, 250, 0.0, 3.0)
    assert psr_from_moments(0.1, 250, -2.0, 3.0) < normal
    assert psr_from_moments(0.1, 250, 0.0, 10.0) < normal
    assert psr_from_moments(0.1, 1000, 0.0, 3.0) > normal


def test_psr_at_the_benchmark_is_one_half() -> None:
    assert psr_from_moments(0.2, 50, -1.0, 6.0, sr_benchmark=0.2) == pytest.approx(0.5)


def test_psr_undefined_cases_are_nan() -> None:
    assert math.isnan(probabilistic_sharpe_ratio([0.01, 0.01, 0.01]))
    assert math.isnan(probabilistic_sharpe_ratio([0.01]))
    assert math.isnan(psr_from_moments(2.0, 100, 5.0, 3.0))  # variance term < 0


def test_psr_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="element 1 must be finite"):
        probabilistic_sharpe_ratio([0.01, float("nan"), 0.02])
    with pytest.raises(ValueError, match="n_obs must be >= 2"):
        psr_from_moments(0.1, 1, 0.0, 3.0)


# --- DSR ----------------------------------------------------------------------------------------


def test_dsr_reproduces_the_numerical_example_of_bailey_lopez_de_prado_2014() -> None:
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", numerical example.

    N = 100 trials whose annualized Sharpe estimates have variance V = 1/2;
    the best has annualized SR 2.5 over T = 1250 daily returns (5 years of 250
    days), skewness −3, kurtosis 10. The paper prints SR0 ≈ 0.1132 (per day)
    and DSR ≈ 0.9004. Per-day quantities: SR = 2.5/sqrt(250), V = 0.5/250.
    """
    sr0 = expected_max_sharpe(0.5 / 250.0, 100)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = psr_from_moments(2.5 / math.sqrt(250.0), 1250, -3.0, 10.0, sr_benchmark=sr0)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_approximates_the_exact_expected_maximum() -> None:
    """E[max of N standard normals] by numerical integration vs the closed form."""
    for n in (10, 100, 1000):
        exact, _ = integrate.quad(
            lambda x, n=n: x * n * stats.norm.pdf(x) * stats.norm.cdf(x) ** (n - 1), -10, 10
        )
        assert expected_max_sharpe(1.0, n) == pytest.approx(exact, rel=0.03)
    assert expected_max_sharpe(4.0, 100) == pytest.approx(2.0 * expected_max_sharpe(1.0, 100))


def test_expected_max_sharpe_single_trial_and_errors() -> None:
    assert expected_max_sharpe(0.3, 1) == 0.0
    with pytest.raises(ValueError, match="n_trials"):
        expected_max_sharpe(0.3, 0)
    with pytest.raises(ValueError, match="sharpe_variance"):
        expected_max_sharpe(-0.1, 5)


def test_dsr_is_psr_against_sr0_from_the_trials() -> None:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.001, 0.01, 500)
    trials = [sharpe_per_bar(returns), 0.02, -0.01, 0.05, 0.0]
    sr0 = expected_max_sharpe(float(np.var(trials, ddof=1)), len(trials))
    dsr = deflated_sharpe_ratio(returns, trials)
    assert dsr == pytest.approx(probabilistic_sharpe_ratio(returns, sr0), rel=1e-12)
    assert dsr < probabilistic_sharpe_ratio(returns, 0.0)


def test_dsr_with_one_trial_equals_psr() -> None:
    returns = np.random.default_rng(3).normal(0.0005, 0.01, 300)
    assert deflated_sharpe_ratio(returns, [0.05]) == probabilistic_sharpe_ratio(returns)


def test_dsr_rejects_empty_or_non_finite_trials() -> None:
    with pytest.raises(ValueError, match="at least one trial"):
        deflated_sharpe_ratio([0.01, 0.02, 0.0], [])
    with pytest.raises(ValueError, match="trial_sharpes: element 1"):
        deflated_sharpe_ratio([0.01, 0.02, 0.0], [0.1, float("inf")])


# --- PBO ----------------------------------------------------------------------------------------


def test_pbo_tiny_exact_case() -> None:
    """4 bars, 4 strategies, S = 2 blocks of 2 bars, scored by mean return.

    Block means (a, b, c, d): B1 = (0.02, 0.01, −0.01, 0.00), B2 = (0.01, 0.03, 0.02, 0.025).
    IS = B1: best a; in B2 a ranks 1 of 4 → ω = 1/5, λ = ln(1/4).
    IS = B2: best b; in B1 b ranks 3 of 4 → ω = 3/5, λ = ln(3/2).
    PBO = 1/2.
    """
    mat = np.array(
        [
            [0.03, 0.00, -0.01, 0.00],
            [0.01, 0.02, -0.01, 0.00],
            [0.00, 0.02, 0.03, 0.02],
            [0.02, 0.04, 0.01, 0.03],
        ]
    )
    res = probability_of_backtest_overfitting(mat, n_partitions=2, metric=lambda m: m.mean(axis=0))
    assert res.n_partitions == 2 and res.n_combinations == 2
    assert res.logits == pytest.approx((math.log(0.25), math.log(1.5)))
    assert res.pbo == 0.5
    assert res.reason == ""


def test_pbo_of_identical_noise_strategies_is_about_one_half() -> None:
    """Under the null (N = 10 i.i.d. noise strategies) PBO is 1/2 in expectation.

    One draw's PBO varies a lot (its combinations share data), so the test
    averages 40 fixed seeds: the mean's standard error is about 0.03.
    """
    values = [
        probability_of_backtest_overfitting(
            np.random.default_rng(seed).normal(0.0, 0.01, (480, 10)), n_partitions=8
        ).pbo
        for seed in range(40)
    ]
    assert float(np.mean(values)) == pytest.approx(0.5, abs=0.1)


def test_pbo_is_zero_when_one_strategy_is_better_in_every_block() -> None:
    rng = np.random.default_rng(11)
    mat = rng.normal(0.0, 0.01, (320, 6))
    mat[:, 2] += 0.02  # a Sharpe ≈ 2 per bar: best in every block
    res = probability_of_backtest_overfitting(mat)
    assert res.n_partitions == 16 and res.n_combinations == math.comb(16, 8)
    assert res.pbo == 0.0
    assert min(res.logits) == pytest.approx(math.log(6.0))  # always rank 6 of 6


def test_pbo_is_one_when_the_in_sample_best_is_always_out_of_sample_worst() -> None:
    """Strategy B = −A and A's block sums are 1, 2, 4, −7 (×1e-3): total 0.

    For any 2 of the 4 blocks in-sample, A's IS sum = −(its OOS sum) ≠ 0, so
    whichever of A, B wins IS has the negative OOS mean and ranks last.
    """
    pattern = np.array([0.5, 0.5, 1.0, 1.0, 2.0, 2.0, -3.0, -4.0]) * 1e-3
    wiggle = np.tile([1e-4, -1e-4], 4)
    a = pattern + wiggle
    mat = np.column_stack([a, -a])
    res = probability_of_backtest_overfitting(mat, n_partitions=4)
    assert res.n_combinations == 6
    assert res.pbo == 1.0
    assert res.logits == pytest.approx((math.log(0.5),) * 6)  # rank 1 of 2 → ω = 1/3


def test_default_sharpe_fast_path_matches_row_slicing() -> None:
    rng = np.random.default_rng(5)
    mat = rng.standard_t(4, (203, 7)) * 0.01 + rng.normal(0, 0.001, 7)
    mat[:, 3] = 0.0  # a flat strategy
    fast = probability_of_backtest_overfitting(mat, n_partitions=10)
    slow = probability_of_backtest_overfitting(
        mat, n_partitions=10, metric=lambda m: sharpe_by_column(m)
    )
    assert fast.logits == pytest.approx(slow.logits)
    assert fast.pbo == slow.pbo


def test_pbo_uses_every_row_even_when_blocks_are_uneven() -> None:
    seen_rows: list[int] = []

    def mean_recording(block: np.ndarray) -> np.ndarray:
        seen_rows.append(block.shape[0])
        return block.mean(axis=0)

    mat = np.random.default_rng(1).normal(size=(10, 3))
    res = probability_of_backtest_overfitting(mat, metric=mean_recording)
    assert res.n_partitions == 4 and res.n_combinations == 6
    pairs = list(zip(seen_rows[::2], seen_rows[1::2], strict=True))
    assert all(is_rows + oos_rows == 10 for is_rows, oos_rows in pairs)


@pytest.mark.parametrize(
    ("n_obs", "requested", "expected"),
    [(1000, 16, 16), (20, 16, 10), (10, 16, 4), (4, 16, 2), (3, 16, 0), (1000, 8, 8)],
)
def test_choose_partitions(n_obs: int, requested: int, expected: int) -> None:
    assert choose_partitions(n_obs, requested) == expected


@pytest.mark.parametrize("bad", [0, 3, -2, 2.0, True])
def test_choose_partitions_rejects_odd_or_non_integer(bad: object) -> None:
    with pytest.raises(ValueError, match="even integer"):
        choose_partitions(100, bad)  # type: ignore[arg-type]


def test_pbo_undefined_cases_carry_a_reason() -> None:
    one = probability_of_backtest_overfitting(np.zeros((100, 1)))
    assert one.pbo is None and "at least 2 strategies" in one.reason
    short = probability_of_backtest_overfitting(np.zeros((3, 4)))
    assert short.pbo is None and "at least 4 bars" in short.reason


def test_pbo_rejects_bad_input() -> None:
    mat = np.zeros((20, 3))
    mat[5, 2] = np.nan
    with pytest.raises(ValueError, match="row 5 column 2 must be finite"):
        probability_of_backtest_overfitting(mat)
    with pytest.raises(ValueError, match=r"shape \[T, N\]"):
        probability_of_backtest_overfitting(np.zeros(20))
    with pytest.raises(ValueError, match="one score per strategy"):
        probability_of_backtest_overfitting(np.zeros((20, 3)), metric=lambda m: m.mean())
