"""The contender actor: hosts one contender object and its own ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from arena.risk import RiskGuardian, RiskLimits
from arena.risk.authority import Control, GuardianReplica
from arena.runner import ContenderRunner, RunnerSettings
from contenders.registry import resolve

_FIELDS = ("open", "high", "low", "close", "volume")
SHIP_EVERY_S = 0.25  # seconds between shipments of audit rows to the recorder


@ray.remote(max_restarts=0, concurrency_groups={"control": 1})
class ContenderActor:
    """One per contender; its CPU/GPU request comes from the config
    (``contenders[i].resources``). A contender that raises is halted with its
    reason recorded; the actor itself keeps marking its ledger to market.

    Orders are vetted here, by a :class:`~arena.risk.authority.GuardianReplica` built
    from the run's limits; the guardian actor pushes arena-wide controls to
    :meth:`apply_controls` (its own thread, so a push lands while a chunk is being
    processed and applies from the next bar) and receives every verdict in the audit
    batches shipped with the records.

    Args:
        class_name: registry name or ``module:Class``.
        params: the contender's parameters.
        seed: the contender's seed.

    Then :meth:`setup` with the runner settings (run id, name, symbols, capital,
    execution), the run's risk limits, the data's symbols (to select this
    contender's columns) and the guardian and recorder handles.
    """

    def __init__(self, class_name: str, params: dict[str, Any], seed: int) -> None:
        self._contender = resolve(class_name)(seed=seed, **params)
        self._runner: ContenderRunner | None = None
        self._pending_write: Any = None
        self._pending_audit: Any = None
        self._last_ship = time.monotonic()
        self._early: list[Control] = []  # controls pushed before setup
        self._replica: GuardianReplica | None = None
        self._lock = threading.Lock()  # setup (default thread) vs apply_controls (control thread)

    def setup(
        self, settings: RunnerSettings, limits: RiskLimits, data_symbols: Sequence[str], guardian: Any, recorder: Any
    ) -> None:
        """Attach the ledger (built from ``settings``), the risk replica (from ``limits``),
        the guardian and the recorder.

        Separate from the constructor so that the topology can start every actor
        process while the market-data actor is still loading the data."""
        self._guardian = guardian
        self._recorder = recorder
        replica = GuardianReplica(RiskGuardian(limits), audit=True)
        with self._lock:
            replica.push(self._early)
            self._replica = replica
        self._runner = ContenderRunner(self._contender, settings, self._replica)
        idx = [list(data_symbols).index(s) for s in settings.symbols]
        self._cols = None if idx == list(range(len(data_symbols))) else np.asarray(idx)

    @ray.method(concurrency_group="control")
    def apply_controls(self, controls: list[Control]) -> None:
        """Queue arena-wide controls from the guardian; the runner applies them at the
        start of its next bar (called on the actor's control thread)."""
        with self._lock:
            if self._replica is None:
                self._early.extend(controls)
            else:
                self._replica.push(controls)

    def on_chunk(self, chunk: dict[str, Any], producers: list[tuple[str, Any]] | None = None) -> Any:
        """Process a chunk of bars (data-symbol order). Audit rows are shipped to the
        recorder in batches (at least ``SHIP_EVERY_S`` apart), one shipment in flight
        at a time, so neither memory nor the recorder's queue grows without bound.

        Args:
            chunk: the bars (see ``ContenderRunner.on_chunk``).
            producers: for a contender that consumes signals: ``(name, ref)`` of the
                other contenders' ``on_chunk`` results for the same chunk; their
                signals are routed to it bar by bar (a producer that failed is left out).

        Returns:
            Bars processed so far; with ``settings.emit_signals``, ``(bars, signals)``
            with one ``Signal`` per bar of the chunk.
        """
        assert self._runner is not None, "setup() must be called first"
        if self._cols is not None:
            chunk = {**chunk, **{f: chunk[f][:, self._cols] for f in _FIELDS}}
        per_bar = None
        if producers is not None:
            per_bar = [{} for _ in range(len(chunk["ts_ns"]))]
            for name, ref in producers:
                try:
                    _, signals = ray.get(ref)
                except ray.exceptions.RayError:
                    continue  # that contender failed; the market actor records why
                for i, sig in enumerate(signals):
                    per_bar[i][name] = sig
        n = self._runner.on_chunk(chunk, per_bar)
        now = time.monotonic()
        if now - self._last_ship >= SHIP_EVERY_S:
            self._ship(wait=False)
            self._last_ship = now
        if self._runner.s.emit_signals:
            return n, self._runner.take_signals()
        return n

    def _ship(self, wait: bool) -> None:
        """Send the audit rows to the recorder and the risk audit items to the guardian,
        one shipment of each in flight (the previous one is awaited first)."""
        records = self._runner.drain_records()
        items = self._replica.drain_audit()
        if self._pending_write is not None:
            ray.get(self._pending_write)
            self._pending_write = None
        if self._pending_audit is not None and (items or wait):
            ray.get(self._pending_audit)
            self._pending_audit = None
        if records:
            self._pending_write = self._recorder.append.remote(records)
        if items:
            self._pending_audit = self._guardian.audit.remote(self._runner.s.name, items)
        if wait:
            ray.get([r for r in (self._pending_write, self._pending_audit) if r is not None])
            self._pending_write = self._pending_audit = None

    def finish(self) -> dict[str, Any]:
        """Ship the last records and audit items, wait until they are written and audited,
        and return the runner's result (see ``ContenderRunner.finish``) with the delays
        from each control's issue to its application here (``control_delays_ns``) and
        the timestamps of the bars it was applied at (``control_bars_ns``)."""
        self._ship(wait=True)
        r = self._replica
        return {**self._runner.finish(), "control_delays_ns": list(r.control_delays_ns),
                "control_bars_ns": list(r.control_bars_ns)}
