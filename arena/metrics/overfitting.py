"""Multiple-testing statistics: PSR, DSR and the Probability of Backtest Overfitting.

When many contenders are run on the same bars, the best Sharpe ratio is biased
upwards by selection alone. These statistics, due to Bailey and López de Prado,
say how much of a leaderboard's top Sharpe is skill:

* :func:`probabilistic_sharpe_ratio` (PSR) — the probability that the true Sharpe
  exceeds a benchmark, given the sample length, skewness and kurtosis.
  Bailey, D. H. & López de Prado, M. (2012), "The Sharpe Ratio Efficient
  Frontier", *Journal of Risk* 15(2).
* :func:`deflated_sharpe_ratio` (DSR) — the PSR against the Sharpe one would
  expect from the best of N unskilled trials.
  Bailey, D. H. & López de Prado, M. (2014), "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality",
  *Journal of Portfolio Management* 40(5).
* :func:`probability_of_backtest_overfitting` (PBO) — by combinatorially
  symmetric cross-validation (CSCV), how often the in-sample best strategy
  ranks in the bottom half out of sample.
  Bailey, D. H., Borwein, J., López de Prado, M. & Zhu, Q. J. (2015/2017),
  "The Probability of Backtest Overfitting", *Journal of Computational Finance* 20(4).

All Sharpe ratios in this module are **per bar** (not annualized): mean simple
return per bar divided by its standard deviation (ddof=1). Divide an annualized
Sharpe by ``sqrt(periods_per_year)`` to get one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "EULER_MASCHERONI",
    "PBOResult",
    "choose_partitions",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "psr_from_moments",
    "sharpe_by_column",
    "sharpe_per_bar",
]

EULER_MASCHERONI: float = 0.5772156649015329
"""γ, the Euler–Mascheroni constant used in the expected maximum of N normals."""


def _as_returns(returns: Sequence[float] | np.ndarray, what: str = "returns") -> np.ndarray:
    arr = np.asarray(returns, dtype="float64")
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D array of per-bar returns, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"{what}: element {int(bad[0])} must be finite, got {arr[bad[0]]!r}")
    return arr


def sharpe_per_bar(returns: Sequence[float] | np.ndarray) -> float:
    """Per-bar (non-annualized) Sharpe ratio: ``mean(r) / std(r, ddof=1)``.

    Args:
        returns: per-bar simple returns (fraction; excess over the risk-free
            rate if one applies), shape ``[T]``.

    Returns:
        The Sharpe ratio per bar; ``0.0`` when every return is equal (no
        dispersion, no risk-adjusted reward claimed); NaN when ``T < 2``.

    Raises:
        ValueError: if ``returns`` is not 1-D or holds a non-finite value.
    """
    arr = _as_returns(returns)
    if arr.size < 2:
        return math.nan
    if arr.max() == arr.min():
        return 0.0
    return float(arr.mean() / arr.std(ddof=1))


def sharpe_by_column(returns_matrix: np.ndarray) -> np.ndarray:
    """Per-bar Sharpe ratio of each column of ``returns_matrix`` ``[t, N]`` → ``[N]``.

    Used as the default CSCV ranking metric. A column with no dispersion gets
    ``+inf``, ``-inf`` or ``0.0`` by the sign of its mean, so that ranking stays
    consistent (a riskless gain beats any risky one).
    """
    mat = np.asarray(returns_matrix, dtype="float64")
    constant = mat.max(axis=0) == mat.min(axis=0)
    return _sharpe_or_riskless(mat.mean(axis=0), mat.std(axis=0, ddof=1), constant)


def _sharpe_or_riskless(mean: np.ndarray, std: np.ndarray, constant: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = mean / std
    riskless = np.where(mean > 0.0, np.inf, np.where(mean < 0.0, -np.inf, 0.0))
    return np.where(constant, riskless, ratio)


def psr_from_moments(
    sharpe: float,
    n_obs: int,
    skewness: float,
    kurtosis: float,
    sr_benchmark: float = 0.0,
) -> float:
    """Probabilistic Sharpe Ratio from summary statistics.

    ``PSR = Φ( (SR − SR*) · sqrt(T − 1) / sqrt(1 − γ3·SR + (γ4 − 1)/4 · SR²) )``
    (Bailey & López de Prado 2012, eq. for PSR; the same expression is eq. 2 of
    the 2014 DSR paper), where Φ is the standard normal CDF.

    Args:
        sharpe: estimated Sharpe ratio **per bar** (not annualized).
        n_obs: ``T``, the number of returns it was estimated from (>= 2).
        skewness: ``γ3``, skewness of the returns (0 for normal).
        kurtosis: ``γ4``, kurtosis of the returns, **not** excess (3 for normal).
        sr_benchmark: ``SR*``, the benchmark Sharpe per bar.

    Returns:
        A probability in [0, 1]; NaN when the variance term under the square
        root is not positive (an extreme skew/kurtosis for this Sharpe).

    Raises:
        ValueError: if ``n_obs < 2`` or an argument is not finite.
    """
    for name, value in (
        ("sharpe", sharpe),
        ("skewness", skewness),
        ("kurtosis", kurtosis),
        ("sr_benchmark", sr_benchmark),
    ):
        if not math.isfinite(value):
            raise ValueError(f"psr_from_moments: {name} must be finite, got {value!r}")
    if n_obs < 2:
        raise ValueError(f"psr_from_moments: n_obs must be >= 2 returns, got {n_obs}")
    variance = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if variance <= 0.0:
        return math.nan
    z = (sharpe - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(variance)
    return float(stats.norm.cdf(z))


def probabilistic_sharpe_ratio(
    returns: Sequence[float] | np.ndarray, sr_benchmark: float = 0.0
) -> float:
    """Probabilistic Sharpe Ratio of a return series (Bailey & López de Prado 2012).

    The Sharpe ratio is :func:`sharpe_per_bar` (per bar, ddof=1); skewness and
    kurtosis are the sample moment estimates ``m3 / m2^1.5`` and ``m4 / m2²``
    (``scipy.stats.skew`` / ``kurtosis(fisher=False)``, biased), and
    ``T = len(returns)``; see :func:`psr_from_moments` for the formula.

    Args:
        returns: per-bar simple returns (fraction), shape ``[T]``.
        sr_benchmark: benchmark Sharpe **per bar** (0 → "is the Sharpe positive?").

    Returns:
        Probability in [0, 1] that the true Sharpe exceeds ``sr_benchmark``;
        NaN when undefined: fewer than 2 returns, or all returns equal.

    Raises:
        ValueError: if ``returns`` is not 1-D or holds a non-finite value.

    Example:
        >>> round(probabilistic_sharpe_ratio([0.01, -0.005, 0.02, 0.0, 0.015]), 4)
        0.9207
    """
    arr = _as_returns(returns)
    if arr.size < 2 or arr.max() == arr.min():
        return math.nan
    sr = sharpe_per_bar(arr)
    skew = float(stats.skew(arr, bias=True))
    kurt = float(stats.kurtosis(arr, fisher=False, bias=True))
    return psr_from_moments(sr, arr.size, skew, kurt, sr_benchmark)


def expected_max_sharpe(sharpe_variance: float, n_trials: int) -> float:
    """``SR0``: the Sharpe expected from the best of N unskilled trials.

    ``SR0 = sqrt(V[SR_n]) · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e)))``
    (Bailey & López de Prado 2014, eq. 2 / Appendix), with γ the
    Euler–Mascheroni constant. Units follow ``sharpe_variance`` (per bar here).

    Args:
        sharpe_variance: ``V[SR_n]``, variance of the trials' Sharpe estimates (>= 0).
        n_trials: ``N``, the number of independent trials (>= 1).

    Returns:
        ``SR0``; 0.0 when ``n_trials == 1`` (no selection, nothing to deflate).

    Raises:
        ValueError: if ``n_trials < 1`` or ``sharpe_variance`` is negative or not finite.
    """
    if n_trials < 1:
        raise ValueError(f"expected_max_sharpe: n_trials must be >= 1, got {n_trials}")
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0.0):
        raise ValueError(
            f"expected_max_sharpe: sharpe_variance must be finite and >= 0, got {sharpe_variance!r}"
        )
    if n_trials == 1:
        return 0.0
    g = EULER_MASCHERONI
    z = (1.0 - g) * stats.norm.ppf(1.0 - 1.0 / n_trials) + g * stats.norm.ppf(
        1.0 - 1.0 / (n_trials * math.e)
    )
    return float(math.sqrt(sharpe_variance) * z)


def deflated_sharpe_ratio(
    returns: Sequence[float] | np.ndarray, trial_sharpes: Sequence[float]
) -> float:
    """Deflated Sharpe Ratio (Bailey & López de Prado 2014).

    ``DSR = PSR(SR0)`` where ``SR0`` is :func:`expected_max_sharpe` with
    ``N = len(trial_sharpes)`` and ``V[SR_n]`` the sample variance (ddof=1) of
    ``trial_sharpes``. In the arena, the trials are the contenders of one run.

    Args:
        returns: per-bar simple returns of the strategy being judged, ``[T]``.
        trial_sharpes: per-bar (non-annualized) Sharpe of every trial, the
            judged strategy included; length N >= 1.

    Returns:
        Probability in [0, 1] that the true Sharpe exceeds ``SR0``; NaN where
        :func:`probabilistic_sharpe_ratio` is undefined.

    Raises:
        ValueError: if ``trial_sharpes`` is empty or holds a non-finite value,
            or ``returns`` is invalid.
    """
    trials = _as_returns(trial_sharpes, "trial_sharpes")
    if trials.size == 0:
        raise ValueError("trial_sharpes: need at least one trial's Sharpe, got none")
    variance = float(trials.var(ddof=1)) if trials.size > 1 else 0.0
    sr0 = expected_max_sharpe(variance, int(trials.size))
    return probabilistic_sharpe_ratio(returns, sr_benchmark=sr0)


@dataclass(frozen=True, slots=True)
class PBOResult:
    """Outcome of CSCV (Bailey, Borwein, López de Prado & Zhu 2015).

    Args:
        pbo: fraction of combinations whose logit ``λ <= 0`` (the in-sample best
            ranked at or below the out-of-sample median); None when undefined.
        logits: ``λ_c = ln(ω_c / (1 − ω_c))`` per combination, in
            ``itertools.combinations`` order; ``ω_c = rank / (N + 1)`` is the
            relative out-of-sample rank (1 = worst) of the in-sample best.
        n_combinations: ``C(S, S/2)``, the number of in-sample/out-of-sample splits.
        n_partitions: ``S``, the number of row blocks actually used.
        n_strategies: ``N``, columns of the returns matrix.
        n_observations: ``T``, rows of the returns matrix.
        reason: why ``pbo`` is None ("" otherwise).
    """

    pbo: float | None
    logits: tuple[float, ...]
    n_combinations: int
    n_partitions: int
    n_strategies: int
    n_observations: int
    reason: str = ""


def choose_partitions(n_observations: int, n_partitions: int = 16) -> int:
    """The number of CSCV blocks ``S`` used for ``n_observations`` rows.

    ``S = min(n_partitions, largest even number <= n_observations // 2)`` so
    that ``S`` is even and every block holds at least 2 rows (a Sharpe needs 2).

    Returns:
        ``S``, or 0 when ``n_observations < 4`` (CSCV impossible).

    Raises:
        ValueError: if ``n_partitions`` is not an even integer >= 2.
    """
    if isinstance(n_partitions, bool) or not isinstance(n_partitions, int | np.integer):
        raise ValueError(f"n_partitions must be an even integer >= 2, got {n_partitions!r}")
    if n_partitions < 2 or n_partitions % 2:
        raise ValueError(f"n_partitions must be an even integer >= 2, got {n_partitions}")
    cap = (n_observations // 2) // 2 * 2
    return int(min(n_partitions, cap)) if cap >= 2 else 0


def probability_of_backtest_overfitting(
    returns_matrix: np.ndarray,
    n_partitions: int = 16,
    metric: Callable[[np.ndarray], np.ndarray] = sharpe_by_column,
) -> PBOResult:
    """Probability of Backtest Overfitting by CSCV (Bailey et al. 2015, §2).

    1. Split the ``T`` rows, in time order, into ``S`` contiguous blocks
       (:func:`choose_partitions`; ``np.array_split``, so block sizes differ by
       at most one row and no row is dropped).
    2. For each of the ``C(S, S/2)`` ways to pick half the blocks as in-sample
       (IS), the rest out-of-sample (OOS): take the strategy ``n*`` with the
       best IS ``metric`` (first one on ties), its OOS rank among the N
       (1 = worst; ties averaged), ``ω = rank / (N + 1)``, and
       ``λ = ln(ω / (1 − ω))``.
    3. ``PBO = #{λ <= 0} / C(S, S/2)``.

    Args:
        returns_matrix: per-bar returns, shape ``[T, N]`` (rows bars, columns strategies).
        n_partitions: requested ``S`` (even, >= 2); lowered automatically for short ``T``.
        metric: maps a ``[t, N]`` block of returns to ``[N]`` scores (higher is
            better); default per-bar Sharpe (:func:`sharpe_by_column`), which is
            computed in bulk from per-block statistics (same values, ~20x faster:
            T = 2000, N = 10, S = 16 takes ~0.2 s).

    Returns:
        A :class:`PBOResult`; ``pbo`` is None with a ``reason`` when ``N < 2``
        or ``T < 4``.

    Raises:
        ValueError: if the matrix is not 2-D or holds a non-finite value,
            ``n_partitions`` is invalid, or ``metric`` returns the wrong shape or NaN.
    """
    mat = np.asarray(returns_matrix, dtype="float64")
    if mat.ndim != 2:
        raise ValueError(f"returns_matrix: expected shape [T, N], got {mat.shape}")
    bad = np.argwhere(~np.isfinite(mat))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        raise ValueError(
            f"returns_matrix: row {row} column {col} must be finite, got {mat[row, col]!r}"
        )
    n_obs, n_strategies = mat.shape
    n_blocks = choose_partitions(n_obs, n_partitions)
    if n_strategies < 2:
        reason = f"PBO needs at least 2 strategies to rank, got {n_strategies}"
        return PBOResult(None, (), 0, n_blocks, n_strategies, n_obs, reason)
    if n_blocks == 0:
        reason = f"PBO needs at least 4 bars (2 blocks of 2), got {n_obs}"
        return PBOResult(None, (), 0, 0, n_strategies, n_obs, reason)

    blocks = np.array_split(np.arange(n_obs), n_blocks)
    combos = list(itertools.combinations(range(n_blocks), n_blocks // 2))
    if metric is sharpe_by_column:
        scores = _block_sharpe_scores(mat, blocks, combos)
    else:
        scores = (_generic_scores(metric, mat, blocks, c) for c in combos)
    logits: list[float] = []
    for is_score, oos_score in scores:
        best = int(np.argmax(is_score))
        below = float(np.sum(oos_score < oos_score[best]))
        tied = float(np.sum(oos_score == oos_score[best]))  # includes n* itself
        rank = below + (tied + 1.0) / 2.0  # 1-based, ties averaged
        omega = rank / (n_strategies + 1)
        logits.append(math.log(omega / (1.0 - omega)))
    lam = np.asarray(logits)
    return PBOResult(
        pbo=float(np.mean(lam <= 0.0)),
        logits=tuple(logits),
        n_combinations=len(logits),
        n_partitions=n_blocks,
        n_strategies=n_strategies,
        n_observations=n_obs,
    )


def _generic_scores(
    metric: Callable[[np.ndarray], np.ndarray],
    mat: np.ndarray,
    blocks: list[np.ndarray],
    is_blocks: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    chosen = set(is_blocks)
    is_rows = np.concatenate([blocks[b] for b in is_blocks])
    oos_rows = np.concatenate([blocks[b] for b in range(len(blocks)) if b not in chosen])
    n_strategies = mat.shape[1]
    return _score(metric, mat[is_rows], n_strategies), _score(metric, mat[oos_rows], n_strategies)


def _block_sharpe_scores(
    mat: np.ndarray, blocks: list[np.ndarray], combos: list[tuple[int, ...]], chunk: int = 1024
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """IS and OOS :func:`sharpe_by_column` of every combination, from per-block statistics.

    Same values as slicing the rows, computed in bulk: block counts, means and
    centred sums of squares are pooled exactly (Chan et al.'s parallel variance:
    ``M2 = Σ_b M2_b + Σ_b n_b (mean_b − mean)²``), in chunks of combinations.
    """
    n_b = np.array([len(b) for b in blocks], dtype="float64")  # [S]
    mean_b = np.stack([mat[b].mean(axis=0) for b in blocks])  # [S, N]
    m2_b = np.stack([((mat[b] - mat[b].mean(axis=0)) ** 2).sum(axis=0) for b in blocks])
    max_b = np.stack([mat[b].max(axis=0) for b in blocks])
    min_b = np.stack([mat[b].min(axis=0) for b in blocks])
    mask_all = np.zeros((len(combos), len(blocks)), dtype=bool)
    for i, combo in enumerate(combos):
        mask_all[i, list(combo)] = True

    def pooled(mask: np.ndarray) -> np.ndarray:
        weights = mask * n_b  # [c, S]
        n = weights.sum(axis=1)[:, None]  # [c, 1]
        mean = weights @ mean_b / n  # [c, N]
        spread = (weights[:, :, None] * (mean_b[None] - mean[:, None, :]) ** 2).sum(axis=1)
        std = np.sqrt((mask @ m2_b + spread) / (n - 1.0))
        hi = np.where(mask[:, :, None], max_b[None], -np.inf).max(axis=1)
        lo = np.where(mask[:, :, None], min_b[None], np.inf).min(axis=1)
        return _sharpe_or_riskless(mean, std, hi == lo)

    for start in range(0, len(combos), chunk):
        mask = mask_all[start : start + chunk]
        yield from zip(pooled(mask), pooled(~mask), strict=True)


def _score(
    metric: Callable[[np.ndarray], np.ndarray], block: np.ndarray, n_strategies: int
) -> np.ndarray:
    score = np.asarray(metric(block), dtype="float64")
    if score.shape != (n_strategies,):
        raise ValueError(
            f"PBO metric must return one score per strategy, shape ({n_strategies},), "
            f"got {score.shape}"
        )
    if np.isnan(score).any():
        raise ValueError("PBO metric returned NaN; it must score every strategy")
    return score
