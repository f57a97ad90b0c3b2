"""vet must stay cheap: one decision of 1–8 orders in well under 100 µs (CPU time)."""

from __future__ import annotations

import time
import timeit

import numpy as np
import pytest

from arena.risk import Action, PortfolioState, RiskGuardian, RiskLimits
from ledger.types import OrderRequest

SYMBOLS = tuple(f"S{i}" for i in range(8))


def _cpu_seconds_per_call(fn: object, number: int = 300, repeat: int = 7) -> float:
    """Best-of-``repeat`` CPU time per call (process time, so other processes on
    the machine inflate it little)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat, timer=time.process_time)) / number


@pytest.mark.parametrize("n_orders", [1, 8])
def test_vet_takes_under_100_microseconds(n_orders: int) -> None:
    limits = RiskLimits(max_position_weight=0.2, max_gross_leverage=1.0, max_drawdown=0.3,
                        daily_loss_limit=0.05, sharpe_floor=0.0, sharpe_window_bars=63,
                        estimated_cost_bps=5.0)
    returns = tuple(np.random.default_rng(1).normal(0.001, 0.01, 63).tolist())
    state = PortfolioState("perf", 0, 10_000.0, 2_000.0, 10_500.0, 10_100.0,
                           {s: 10.0 for s in SYMBOLS}, {s: 100.0 for s in SYMBOLS}, returns)
    requests = [OrderRequest(s, target_weight=0.3 if i % 2 else 0.05) for i, s in enumerate(SYMBOLS)]
    requests = requests[:n_orders]
    guardian = RiskGuardian(limits)
    verdicts = guardian.vet(state, requests)
    assert Action.SCALE in {v.action for v in verdicts} or n_orders == 1
    seconds = _cpu_seconds_per_call(lambda: guardian.vet(state, requests))
    assert seconds < 100e-6, f"vet of {n_orders} orders took {seconds * 1e6:.1f} µs"
