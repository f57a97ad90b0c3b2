"""The risk-guardian actor: one per run, vets every order of every contender."""

from __future__ import annotations

import time
from typing import Any

import ray

from arena.risk import PortfolioState, RiskGuardian, RiskLimits, RiskVerdict
from ledger.types import OrderRequest


@ray.remote(num_cpus=0, max_restarts=0)
class RiskGuardianActor:
    """Wraps :class:`arena.risk.RiskGuardian` (plain Python) in an actor, so that
    one guardian sees every contender and an operator can trip the arena-wide
    kill switch (``arena kill-switch``, ``POST /kill-switch``) while a run goes on.
    Guardian events (kill switch, contender halts) are forwarded to the recorder."""

    def __init__(self, run_id: str, limits: RiskLimits, recorder: Any) -> None:
        self._run_id = run_id
        self._guardian = RiskGuardian(limits)
        self._recorder = recorder
        self._vet_s = 0.0
        self._vets = 0

    def vet(self, state: PortfolioState, requests: list[OrderRequest]) -> list[RiskVerdict]:
        t0 = time.perf_counter()
        verdicts = self._guardian.vet(state, requests)
        self._forward_events()
        self._vet_s += time.perf_counter() - t0
        self._vets += 1
        return verdicts

    def trip_kill_switch(self, reason: str) -> str:
        self._guardian.trip_kill_switch(reason)
        self._forward_events()
        return self._run_id

    def reset_kill_switch(self) -> None:
        self._guardian.reset_kill_switch()
        self._forward_events()

    def release_contender(self, name: str) -> list[str]:
        """Lift a drawdown halt of one contender; returns what was lifted (see RiskGuardian)."""
        released = self._guardian.release_contender(name)
        self._forward_events()
        return released

    def status(self) -> dict[str, Any]:
        return {
            "run_id": self._run_id,
            "kill_switch": self._guardian.kill_switch_active,
            "kill_switch_reason": self._guardian.kill_switch_reason,
            "halted": self._guardian.halted(),
            "vets": self._vets,
            "vet_busy_s": self._vet_s,
        }

    def _forward_events(self) -> None:
        events = self._guardian.events()
        if events:
            rows = [
                {
                    "run_id": self._run_id,
                    "ts": e.get("ts_ns"),
                    "contender": e.get("contender"),
                    "kind": e["kind"],
                    "reason": e.get("reason", ""),
                    "details_json": {k: v for k, v in e.items() if k not in ("ts_ns", "contender", "kind", "reason")},
                }
                for e in events
            ]
            ray.get(self._recorder.append.remote({"events": rows}))
