"""The risk-guardian actor: one per run, the authority over every contender's vetting."""

from __future__ import annotations

import pickle
import time
from pathlib import Path
from typing import Any

import ray

from arena.risk import RiskLimits
from arena.recovery import write_atomic
from arena.risk.authority import AuditItem, Control, GuardianAuthority

__all__ = ["GUARDIAN_KEY", "RiskGuardianActor"]

GUARDIAN_KEY = "__guardian__"
"""The guardian's key at the recorder (incarnations, events acknowledged)."""
_LIVE_FILE = "guardian-live.pkl"


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

    Crashes (with ``recovery_dir``, config ``recovery``): after every audit batch, control and
    registration, the state (the authority, what was audited, the contender actors' handles,
    the events forwarded) is written to ``recovery_dir/guardian-live.pkl`` (a rename: a reader
    sees a whole file; not fsynced, as a process crash leaves the page cache). Restarted by
    Ray, the actor goes on from that file: it pushes the controls to the contenders again
    (they skip versions applied), a contender whose audit call failed sends it again (items
    audited already are skipped), and the events of a batch audited again that the recorder
    had already written are not sent twice (the recorder fences off what the dead incarnation
    still had in flight and says how many of its events it wrote).

    Args:
        run_id: the run.
        limits: the run's risk limits.
        recorder: the run's recorder actor (events).
        recovery_dir: where the state is kept for a restart; None: a crash is final.
    """

    def __init__(self, run_id: str, limits: RiskLimits, recorder: Any, recovery_dir: str | None = None) -> None:
        self._run_id = run_id
        self._authority = GuardianAuthority(limits)
        self._recorder = recorder
        self._contenders: dict[str, Any] = {}
        self._names: set[str] = set()
        self._audit_s = 0.0
        self._pending_write: Any = None
        self._audited_ns: dict[str, int] = {}  # contender → timestamp of the last bar audited
        self._dir = None if recovery_dir is None else Path(recovery_dir)
        self._epoch = 0  # restarts of this actor
        self._events_seq = 0  # events forwarded to the recorder so far (by every incarnation)
        self._skip_events = 0  # events derived again after a restart that the recorder already has
        if self._dir is not None and ray.get_runtime_context().was_current_actor_reconstructed:
            self._reload()

    def _save(self) -> None:
        """Keep the state for a restart (see the class docstring)."""
        if self._dir is None:
            return
        write_atomic(self._dir / _LIVE_FILE, ray.cloudpickle.dumps(self._state(handles=True)), fsync=False)

    def _state(self, *, handles: bool) -> dict[str, Any]:
        """What goes on after a restart or a resume: the authority, what was audited, the
        contenders' names, the events forwarded, and (``handles``: a restart in the same run,
        not a resume, whose contender actors are new) the contender actors' handles."""
        state = {"authority": self._authority, "audited_ns": dict(self._audited_ns), "names": sorted(self._names),
                 "audit_s": self._audit_s, "events_seq": self._events_seq}
        return {**state, "contenders": dict(self._contenders)} if handles else state

    def _load(self, state: dict[str, Any]) -> None:
        self._authority = state["authority"]
        self._audited_ns = dict(state["audited_ns"])
        self._names.update(state["names"])
        self._contenders.update(state.get("contenders", {}))
        self._audit_s = float(state["audit_s"])
        self._events_seq = int(state["events_seq"])

    def _reload(self) -> None:
        """In a restarted incarnation: go on from the state kept, open a new incarnation at the
        recorder and push the controls issued so far to the contender actors again."""
        try:
            state = ray.cloudpickle.loads((self._dir / _LIVE_FILE).read_bytes())  # type: ignore[operator]
        except FileNotFoundError:
            state = None  # died before its first save: nothing was audited or issued
        if state is not None:
            self._load(state)
        self._epoch, acked = ray.get(self._recorder.resume.remote(GUARDIAN_KEY))
        self._skip_events = max(0, int(acked.get(GUARDIAN_KEY, 0)) - self._events_seq)
        controls = self._authority.controls
        if controls:
            for handle in self._contenders.values():
                handle.apply_controls.remote(controls)
        events = [{"run_id": self._run_id, "ts": time.time_ns(), "contender": None, "kind": "GUARDIAN_RESTARTED",
                   "reason": f"risk guardian restarted (restart {self._epoch}); went on from its state after "
                             f"{self._authority.audited} audited verdicts",
                   "details_json": {"restart": self._epoch, "audited_verdicts": self._authority.audited}}]
        ray.get(self._recorder.append.remote({"events": events}))

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
        self._save()

    def _push(self, control: Control | None) -> None:
        if control is None:
            return
        for handle in self._contenders.values():
            handle.apply_controls.remote([control])  # fire and forget: applied before the next bar
        self._forward_events()
        self.flush()  # an operator's action is recorded when the call returns
        self._save()

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
        self._save()
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

    def snapshot(self) -> bytes:
        """The arena-wide state (the authority: controls issued, latches, shadows; what was
        audited), pickled, after every event is written: what a stopped run resumes with."""
        self._forward_events()
        self.flush()
        return pickle.dumps(self._state(handles=False), protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, data: bytes) -> None:
        """Go on from a :meth:`snapshot` (before the contender actors register: the controls
        issued so far are pushed to them when they do)."""
        self._load(pickle.loads(data))
        self._save()

    def flush(self) -> None:
        """Wait until every event forwarded so far is written."""
        if self._pending_write is not None:
            ray.get(self._pending_write)
            self._pending_write = None

    def _forward_events(self) -> None:
        events = self._authority.events()
        if self._skip_events and events:  # derived again after a restart; the recorder has them
            k = min(self._skip_events, len(events))
            events, self._skip_events, self._events_seq = events[k:], self._skip_events - k, self._events_seq + k
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
            self._events_seq += len(rows)
            self._pending_write = self._recorder.append.remote(
                {"events": rows}, (GUARDIAN_KEY, self._epoch, {GUARDIAN_KEY: self._events_seq}))


def _item_ns(item: AuditItem) -> int:
    """The bar an audit item belongs to (ns): its state's, or a control's ``ts_ns``."""
    return item.ts_ns if item.state is None else item.state.ts_ns
