"""Replay bars through one contender in this process, without Ray.

The same runner, ledger and risk rules as in the arena; meant for unit tests of
a contender and for quick experiments in a notebook.
"""

from __future__ import annotations

from typing import Any

from arena.runner import ContenderRunner, RunnerSettings, chunk_of
from contenders.base import Contender
from contenders.signals import Signal
from ledger import ExecutionConfig

__all__ = ["replay_local", "replay_local_arena"]


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
    decision_timeout_s: float | None = None,
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
        decision_timeout_s: seconds ``on_bars`` may take on one bar (None: no limit; see
            :class:`arena.runner.RunnerSettings`).

    Returns:
        ``(runner, result)``: the runner (its ``drain_records()`` gives the audit
        rows) and ``runner.finish()``.
    """
    return replay_local_arena(
        {name: contender},
        panel,
        capital_usd=capital_usd,
        execution=execution,
        limits=limits,
        run_id=run_id,
        chunk_bars=chunk_bars,
        warmup_bars=warmup_bars,
        rebalance_drift=rebalance_drift,
        guardian=guardian,
        decision_timeout_s=decision_timeout_s,
    )[name]


def replay_local_arena(
    contenders: dict[str, Contender],
    panel: Any,
    *,
    capital_usd: float = 10_000.0,
    execution: ExecutionConfig | None = None,
    limits: Any = None,
    run_id: str = "local",
    chunk_bars: int = 256,
    warmup_bars: int | dict[str, int] = 0,
    artifacts_dir: str | None = None,
    rebalance_drift: float | None = None,
    guardian: Any = None,
    decision_timeout_s: float | None = None,
) -> dict[str, tuple[ContenderRunner, dict[str, Any]]]:
    """Replay a panel through several contenders in this process, as the arena routes them:
    contenders that consume signals (``consumes_signals = True``, e.g. ``meta_ensemble``)
    get, for each bar, the :class:`~contenders.signals.Signal` of every other contender,
    after those have decided on the bar. One risk guardian vets everyone.

    Args:
        contenders: name → model.
        panel: an ``arena.data.Panel``.
        warmup_bars: one warm-up for all, or name → warm-up (missing names: 0).
        artifacts_dir: when given, each contender's checkpoints go to ``<artifacts_dir>/<name>``.
        capital_usd, execution, limits, run_id, chunk_bars, rebalance_drift, guardian,
            decision_timeout_s: as for :func:`replay_local`.

    Returns:
        name → ``(runner, runner.finish())``.
    """
    import os

    from arena.risk import RiskGuardian, RiskLimits
    from arena.risk.authority import GuardianReplica

    guardian = guardian or RiskGuardian(limits or RiskLimits())
    consumers = {n for n, c in contenders.items() if getattr(c, "consumes_signals", False)}
    runners: dict[str, ContenderRunner] = {}
    for name, model in contenders.items():
        warm = warmup_bars.get(name, 0) if isinstance(warmup_bars, dict) else warmup_bars
        settings = RunnerSettings(
            run_id=run_id,
            name=name,
            symbols=tuple(panel.symbols),
            capital_usd=capital_usd,
            execution=execution or ExecutionConfig(),
            n_bars_hint=len(panel),
            warmup_bars=warm,
            rebalance_drift=rebalance_drift,
            artifacts_dir=None if artifacts_dir is None else os.path.join(artifacts_dir, name),
            emit_signals=bool(consumers) and name not in consumers,
            decision_timeout_s=decision_timeout_s,
        )
        runners[name] = ContenderRunner(model, settings, GuardianReplica(guardian))
    for part in panel.chunks(chunk_bars):
        chunk = chunk_of(part)
        signals: dict[str, list[Signal]] = {}
        for name, runner in runners.items():
            if name not in consumers:
                runner.on_chunk(chunk)
                signals[name] = runner.take_signals()
        if consumers:
            per_bar = [{name: sig[i] for name, sig in signals.items()} for i in range(len(part))]
            for name in consumers:
                runners[name].on_chunk(chunk, per_bar)
    return {name: (runner, runner.finish()) for name, runner in runners.items()}
