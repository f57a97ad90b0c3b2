"""Replay bars through one contender in this process, without Ray.

The same runner, ledger and risk rules as in the arena; meant for unit tests of
a contender and for quick experiments in a notebook.
"""

from __future__ import annotations

from typing import Any

from arena.runner import ContenderRunner, RunnerSettings, chunk_of
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
    warmup_bars: int = 0,
    rebalance_drift: float | None = None,
    guardian: Any = None,
) -> tuple[ContenderRunner, dict[str, Any]]:
    """Replay a panel through one contender in this process, without Ray.

    Args:
        contender: the model.
        panel: an ``arena.data.Panel`` (timestamps [T], symbols [S], OHLCV [T, S]).
        capital_usd: starting cash, USD.
        execution: execution model (default: next open, no costs, whole shares).
        limits: ``arena.risk.RiskLimits`` (default: permissive long-only limits).
        warmup_bars: bars used only for ``fit`` before trading.
        rebalance_drift: re-issue held targets once weights drift this far (fraction).
        guardian: an ``arena.risk.RiskGuardian`` to vet with (default: one built from ``limits``).

    Returns:
        ``(runner, result)``: the runner (its ``drain_records()`` gives the audit
        rows) and ``runner.finish()``.
    """
    from arena.risk import RiskGuardian, RiskLimits

    guardian = guardian or RiskGuardian(limits or RiskLimits())
    settings = RunnerSettings(
        run_id=run_id,
        name=name,
        symbols=tuple(panel.symbols),
        capital_usd=capital_usd,
        execution=execution or ExecutionConfig(),
        n_bars_hint=len(panel),
        warmup_bars=warmup_bars,
        rebalance_drift=rebalance_drift,
    )
    runner = ContenderRunner(contender, settings, guardian.vet)
    for part in panel.chunks(chunk_bars):
        runner.on_chunk(chunk_of(part))
    return runner, runner.finish()
