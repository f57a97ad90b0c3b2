"""The risk-guardian actor: one per run, the authority over every contender's vetting."""

from __future__ import annotations

import time
from typing import Any

import ray

from arena.risk import RiskLimits
from arena.risk.authority import AuditItem, Control, GuardianAuthority

__all__ = ["RiskGuardianActor"]


@ray.remote(num_cpus=0, max_restarts=0)
class RiskGuardianActor:
    """Wraps :class:`arena.risk.authority.GuardianAuthority` (plain Python).

    The rules run in each contender actor (no round trip per decision); this actor
    owns the arena-wide state: an operator trips the kill switch or releases a
    contender here (``arena kill-switch``, ``POST /kill-switch``), and the change is
    pushed at once to every contender actor, which applies it before its next bar.
    Every verdict comes back in the contenders' audit batches (:meth:`audit`) and is
    re-derived here; guardian events (halts, suspensions, kill switch, mismatches) are
    forwarded to the recorder.
    """

    def __init__(self, run_id: str, limits: RiskLimits, recorder: Any) -> None:
        self._run_id = run_id
        self._authority = GuardianAuthority(limits)
        self._recorder = recorder
        self._contenders: dict[str, Any] = {}
        self._names: set[str] = set()
        self._audit_s = 0.0
        self._pending_write: Any = None
        self._audited_ns: dict[str, int] = {}  # contender → timestamp of the last bar audited

    def register(self, contenders: dict[str, Any], names: list[str] | None = None) -> None:
        """The contender actors to push controls to (process key → handle) and the names of
        the contenders they host (default: the keys); controls issued before they registered
        are pushed at once."""
        self._contenders.update(contenders)
        self._names.update(names if names is not None else contenders)
        controls = self._authority.controls
        if controls:
            for handle in contenders.values():
                handle.apply_controls.remote(controls)

    def _push(self, control: Control | None) -> None:
        if control is None:
            return
        for handle in self._contenders.values():
            handle.apply_controls.remote([control])  # fire and forget: applied before the next bar
        self._forward_events()
        self.flush()  # an operator's action is recorded when the call returns

    def audit(self, contender: str, items: list[AuditItem]) -> int:
        """Re-derive a contender's verdicts; returns the number of mismatches in ``items``.

        A batch holds whole bars, in order; items of bars up to the last one audited are
        skipped: a restarted contender actor replays the bars after its snapshot, and sends
        their items again (the same items: replay is deterministic)."""
        t0 = time.perf_counter()
        last = self._audited_ns.get(contender)
        if last is not None:
            items = [it for it in items if _item_ns(it) > last]
        if not items:
            return 0
        self._audited_ns[contender] = max(_item_ns(it) for it in items)
        bad = self._authority.audit(contender, items)
        self._forward_events()
        self._audit_s += time.perf_counter() - t0
        return bad

    def trip_kill_switch(self, reason: str) -> str:
        self._push(self._authority.trip_kill_switch(reason))
        return self._run_id

    def reset_kill_switch(self) -> None:
        self._push(self._authority.reset_kill_switch())

    def release_contender(self, name: str) -> list[str]:
        """Lift the latches (drawdown halt, suspension) of one contender; returns what was
        latched as far as audited.

        Raises:
            ValueError: the run has no contender of that name."""
        if name not in self._names:
            raise ValueError(f"run {self._run_id!r} has no contender {name!r}; it has {', '.join(sorted(self._names))}")
        codes, control = self._authority.release_contender(name)
        self._push(control)
        return codes

    def status(self) -> dict[str, Any]:
        a = self._authority
        return {
            "run_id": self._run_id,
            "kill_switch": bool(a.kill_switch_reason),
            "kill_switch_reason": a.kill_switch_reason,
            "halted": a.halted(),
            "controls": len(a.controls),
            "controls_applied": dict(a.applied),
            "audited_verdicts": a.audited,
            "mismatches": a.mismatches,
            "aggregate_gross_exposure_usd": a.aggregate_gross_exposure_usd(),
            "audit_busy_s": self._audit_s,
        }

    def flush(self) -> None:
        """Wait until every event forwarded so far is written."""
        if self._pending_write is not None:
            ray.get(self._pending_write)
            self._pending_write = None

    def _forward_events(self) -> None:
        events = self._authority.events()
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
            self.flush()
            self._pending_write = self._recorder.append.remote({"events": rows})


def _item_ns(item: AuditItem) -> int:
    """The bar an audit item belongs to (ns): its state's, or a control's ``ts_ns``."""
    return item.ts_ns if item.state is None else item.state.ts_ns
