"""Replay bars through one contender in this process, without Ray.

The same runner, ledger and risk rules as in the arena; meant for unit tests of
a contender and for quick experiments in a notebook.
"""

from __future__ import annotations

from typing import Any

from arena.runner import ContenderRunner, RunnerSettings
from contenders.base import Contender
from ledger import ExecutionConfig


def replay_local(
    contender: Contender,
    panel: Any,
    *,
    capital_usd: float = 10_000.0,
    execution: ExecutionConfig | None = None,
    limits: Any = None,
    name: str = "local",
    run_id: str = "local",
    chunk_bars: int = 256,
) -> tuple[ContenderRunner, dict[str, Any]]:
    """Replay a panel through one contender in this process, without Ray.

    Args:
        contender: the model.
        panel: an ``arena.data.Panel`` (timestamps [T], symbols [S], OHLCV [T, S]).
        capital_usd: starting cash, USD.
        execution: execution model (default: next open, no costs, whole shares).
        limits: ``arena.risk.RiskLimits`` (default: permissive long-only limits).

    Returns:
        ``(runner, result)``: the runner (its ``drain_records()`` gives the audit
        rows) and ``runner.finish()``.
    """
    from arena.risk import RiskGuardian, RiskLimits

    guardian = RiskGuardian(limits or RiskLimits())
    settings = RunnerSettings(
        run_id=run_id,
        name=name,
        symbols=tuple(panel.symbols),
        capital_usd=capital_usd,
        execution=execution or ExecutionConfig(),
        n_bars_hint=len(panel),
    )
    runner = ContenderRunner(contender, settings, guardian.vet)
    for lo in range(0, len(panel), chunk_bars):
        hi = min(len(panel), lo + chunk_bars)
        runner.on_chunk(
            {
                "ts_ns": panel.timestamps[lo:hi],
                "open": panel.open[lo:hi],
                "high": panel.high[lo:hi],
                "low": panel.low[lo:hi],
                "close": panel.close[lo:hi],
                "volume": panel.volume[lo:hi],
            }
        )
    return runner, runner.finish()
