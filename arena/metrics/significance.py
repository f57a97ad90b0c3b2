"""Is any contender better than the benchmark, once every contender tried is counted?

Three bootstrap tests over the contenders' per-bar returns, with the ``arch`` package
(Sheppard, ``arch.bootstrap``): Hansen's Superior Predictive Ability test (``SPA``) and
White's Reality Check for the run (is the best contender better than the benchmark?),
Romano–Wolf StepM (which contenders beat it) and the Model Confidence Set (which
contenders are indistinguishable from the best). ``arch`` compares losses, so each
contender's loss on a bar is its negative return. Every test uses a stationary bootstrap
(Politis & Romano 1994) seeded from the run's seed, so the same returns and seed give the
same p-values.

Sources: White (2000) "A Reality Check for Data Snooping", Econometrica 68(5);
Hansen (2005) "A Test for Superior Predictive Ability", JBES 23(4); Romano & Wolf (2005)
"Stepwise Multiple Testing as Formalized Data Snooping", Econometrica 73(4); Hansen,
Lunde & Nason (2011) "The Model Confidence Set", Econometrica 79(2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from arena.metrics._checks import json_float

__all__ = ["DEFAULT_REPS", "DEFAULT_SIZE", "MIN_BARS", "Significance", "significance_tests"]

MIN_BARS = 20
"""Fewest bars the tests are run on; fewer leave every result None, with a reason."""

DEFAULT_REPS = 1000
"""Bootstrap replications of each test."""

DEFAULT_SIZE = 0.05
"""Test size (family-wise error rate of StepM, 1 − confidence of the MCS)."""


@dataclass(frozen=True, slots=True)
class Significance:
    """Results of :func:`significance_tests`.

    Args:
        spa_pvalue: Hansen's SPA p-value (studentized, consistent), H0: no contender's
            expected return exceeds the benchmark's; small = the best one really beats it.
        reality_check_pvalue: White's Reality Check p-value (not studentized, not recentred:
            arch's ``upper`` p-value without studentizing).
        beats_benchmark: contender → True when StepM rejects "no better than the benchmark"
            for it at ``size``; the benchmark itself is not in it.
        in_mcs: contender → True when it is in the Model Confidence Set at ``1 − size``
            (benchmark included).
        mcs_pvalue: contender → its MCS p-value (in the set when > ``size``).
        size: the tests' size.
        reps: bootstrap replications.
        n_bars: bars tested.
        reason: why the results are None ("" when they were computed).
    """

    spa_pvalue: float | None = None
    reality_check_pvalue: float | None = None
    beats_benchmark: dict[str, bool] = field(default_factory=dict)
    in_mcs: dict[str, bool] = field(default_factory=dict)
    mcs_pvalue: dict[str, float] = field(default_factory=dict)
    size: float = DEFAULT_SIZE
    reps: int = DEFAULT_REPS
    n_bars: int = 0
    reason: str = ""


def significance_tests(
    returns: pd.DataFrame,
    benchmark: str | None,
    *,
    seed: int = 0,
    size: float = DEFAULT_SIZE,
    reps: int = DEFAULT_REPS,
    block_size: int | None = None,
) -> Significance:
    """SPA, Reality Check, StepM and MCS of the contenders against the benchmark.

    Args:
        returns: DataFrame[bar × contender] of per-bar returns (fraction; excess or raw,
            the tests compare differences, so a constant risk-free rate drops out), the
            benchmark's column among them, no NaN.
        benchmark: the benchmark's column; None runs only the MCS.
        seed: seed of every bootstrap (the run's seed).
        size: test size in (0, 1).
        reps: bootstrap replications, >= 100.
        block_size: mean block length of the stationary bootstrap (bars); None = arch's
            default, ``sqrt(T)``.

    Returns:
        A :class:`Significance`; results None (with ``reason``) for fewer than
        :data:`MIN_BARS` bars, or (SPA, StepM) no contender besides the benchmark.

    Raises:
        ValueError: for a benchmark that is not a column, a NaN, ``size`` outside (0, 1)
            or ``reps`` < 100.
    """
    if not 0.0 < size < 1.0:
        raise ValueError(f"significance_tests: size must be in (0, 1), got {size!r}")
    if reps < 100:
        raise ValueError(f"significance_tests: reps must be >= 100, got {reps!r}")
    if benchmark is not None and benchmark not in returns.columns:
        raise ValueError(
            f"significance_tests: benchmark {benchmark!r} is not a contender; contenders: {list(returns.columns)}"
        )
    if returns.isna().to_numpy().any():
        raise ValueError("significance_tests: returns hold NaN; fill bars without a mark with 0 first")
    base: dict[str, Any] = {"size": size, "reps": reps, "n_bars": len(returns)}
    if len(returns) < MIN_BARS:
        return Significance(**base, reason=f"{len(returns)} bars; the tests need at least {MIN_BARS}")
    from arch.bootstrap import MCS, SPA, StepM

    losses = -returns.astype("float64")
    columns = [str(c) for c in returns.columns]
    losses.columns = columns
    # identical return series are one model to the tests (their differences have no variance):
    # each is tested once, under the first name, and its twins share the result
    twin = _first_twin(losses, benchmark)
    distinct = [c for c in columns if twin[c] == c]
    mcs_pvalue: dict[str, float] = {}
    in_mcs: dict[str, bool] = {}
    if len(distinct) >= 2:
        mcs = MCS(losses[distinct], size=size, reps=reps, block_size=block_size, method="R",
                  bootstrap="stationary", seed=seed)
        mcs.compute()
        pv = mcs.pvalues["Pvalue"]
        included = {str(c) for c in mcs.included}
        mcs_pvalue = {c: float(pv[twin[c]]) for c in columns}
        in_mcs = {c: twin[c] in included for c in columns}
    elif len(distinct) == 1:
        mcs_pvalue, in_mcs = dict.fromkeys(columns, 1.0), dict.fromkeys(columns, True)
    models = [c for c in distinct if c != benchmark]
    if benchmark is None or not models:
        why = "no benchmark" if benchmark is None else "no contender whose returns differ from the benchmark's"
        beats = {} if benchmark is None else {c: False for c in columns if c != benchmark}
        return Significance(**base, beats_benchmark=beats, in_mcs=in_mcs, mcs_pvalue=mcs_pvalue, reason=why)
    bench, others = losses[benchmark], losses[models]
    spa = SPA(bench, others, block_size=block_size, reps=reps, bootstrap="stationary", seed=seed)
    spa.compute()
    rc = SPA(bench, others, block_size=block_size, reps=reps, bootstrap="stationary", studentize=False, seed=seed)
    rc.compute()
    stepm = StepM(bench, others, size=size, block_size=block_size, reps=reps, bootstrap="stationary", seed=seed)
    stepm.compute()
    superior = {str(c) for c in stepm.superior_models}
    return Significance(
        **base,
        spa_pvalue=json_float(float(spa.pvalues["consistent"])),
        reality_check_pvalue=json_float(float(rc.pvalues["upper"])),
        beats_benchmark={c: twin[c] in superior for c in columns if c != benchmark},
        in_mcs=in_mcs,
        mcs_pvalue=mcs_pvalue,
    )


def _first_twin(losses: pd.DataFrame, benchmark: str | None) -> dict[str, str]:
    """Column → the first column with exactly the same values (itself when none); the
    benchmark comes first, so a contender that only copies it is the benchmark's twin."""
    order = ([benchmark] if benchmark is not None else []) + [c for c in losses.columns if c != benchmark]
    seen: dict[bytes, str] = {}
    twin: dict[str, str] = {}
    for c in order:
        key = losses[c].to_numpy(dtype="float64").tobytes()
        twin[c] = seen.setdefault(key, c)
    return twin
