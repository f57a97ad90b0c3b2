"""The contender actor: hosts one contender object and its own ledger."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from arena.risk import PortfolioState, RiskVerdict
from arena.runner import ContenderRunner, RunnerSettings
from contenders.registry import resolve
from ledger.types import OrderRequest

_FIELDS = ("open", "high", "low", "close", "volume")
SHIP_EVERY_S = 0.25  # seconds between shipments of audit rows to the recorder


@ray.remote(max_restarts=0)
class ContenderActor:
    """One per contender; its CPU/GPU request comes from the config
    (``contenders[i].resources``). A contender that raises is halted with its
    reason recorded; the actor itself keeps marking its ledger to market.

    Args:
        class_name: registry name or ``module:Class``.
        params: the contender's parameters.
        seed: the contender's seed.

    Then :meth:`setup` with the runner settings (run id, name, symbols, capital,
    execution), the data's symbols (to select this contender's columns) and the
    guardian and recorder handles.
    """

    def __init__(self, class_name: str, params: dict[str, Any], seed: int) -> None:
        self._contender = resolve(class_name)(seed=seed, **params)
        self._runner: ContenderRunner | None = None
        self._pending_write: Any = None
        self._last_ship = time.monotonic()

    def setup(self, settings: RunnerSettings, data_symbols: Sequence[str], guardian: Any, recorder: Any) -> None:
        """Attach the ledger (built from ``settings``), the guardian and the recorder.

        Separate from the constructor so that the topology can start every actor
        process while the market-data actor is still loading the data."""
        self._guardian = guardian
        self._recorder = recorder
        self._runner = ContenderRunner(self._contender, settings, self._vet)
        idx = [list(data_symbols).index(s) for s in settings.symbols]
        self._cols = None if idx == list(range(len(data_symbols))) else np.asarray(idx)

    def _vet(self, state: PortfolioState, requests: list[OrderRequest]) -> list[RiskVerdict]:
        return ray.get(self._guardian.vet.remote(state, requests))

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
        records = self._runner.drain_records()
        if self._pending_write is not None:
            ray.get(self._pending_write)
            self._pending_write = None
        if records:
            self._pending_write = self._recorder.append.remote(records)
        if wait and self._pending_write is not None:
            ray.get(self._pending_write)
            self._pending_write = None

    def finish(self) -> dict[str, Any]:
        """Ship the last records, wait until they are written, and return the runner's
        result (see ``ContenderRunner.finish``)."""
        self._ship(wait=True)
        return self._runner.finish()
