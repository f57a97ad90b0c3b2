"""Vetting where the orders are made, authority in one guardian.

The rules run in each contender's process (:class:`GuardianReplica`), so a
decision is vetted with no round trip; one :class:`GuardianAuthority` (wrapped by
the guardian actor) owns the arena-wide state and checks every verdict after the
fact:

* **Controls.** Tripping or resetting the arena-wide kill switch and releasing a
  contender are :class:`Control` records, numbered in the order the authority issued
  them and pushed to every replica, which applies them before its next bar
  (:meth:`GuardianReplica.apply_pending`). The replica notes where in its stream it
  applied each one, and how long after it was issued (``control_delays_ns``).
* **Audit.** Every ``vet`` and every bar-level latch check of a replica is kept as an
  :class:`AuditItem` (state, requests, verdicts) and shipped to the authority in
  batches. The authority replays each contender's items, in order, through a
  shadow guardian of its own with the same limits and rules, applying the controls at
  the points where the replica applied them, and compares verdict by verdict: a
  difference is a ``RISK_MISMATCH`` event. The shadows are the arena's view of each
  contender (halts, suspensions, last equity and gross exposure) and the source of
  the guardian events (``CONTENDER_HALTED`` …) that are recorded.

Guarantees: a kill switch or release takes effect in a contender at the first bar
it starts after the push arrives (in a running arena, within one bar of the
contender's work); a latch (drawdown halt, daily-loss suspension) is evaluated on
every bar, not only on bars with orders; every verdict is re-derived by the
authority from the same inputs, so a replica whose rules, limits or code differ
from the authority's, or a verdict changed after vetting, is reported.

Plain Python, no Ray: ``arena.actors`` wraps the authority, ``arena.runner`` uses a
replica, and tests drive both directly.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from arena.risk.guardian import RiskGuardian
from arena.risk.limits import RiskLimits
from arena.risk.state import PortfolioState
from arena.risk.verdict import RiskVerdict
from ledger.types import OrderRequest

__all__ = ["AuditItem", "Control", "ControlKind", "GuardianAuthority", "GuardianReplica"]

_TOL = 1e-12  # as the latch rules: a limit within this counts as reached


class ControlKind(StrEnum):
    """What an arena-wide control does to every replica."""

    TRIP_KILL_SWITCH = "TRIP_KILL_SWITCH"
    RESET_KILL_SWITCH = "RESET_KILL_SWITCH"
    RELEASE_CONTENDER = "RELEASE_CONTENDER"


@dataclass(frozen=True, slots=True)
class Control:
    """One arena-wide change issued by the authority.

    Args:
        version: 1, 2, … in the order the authority issued controls.
        kind: the change.
        reason: the operator's words (kill switch), "" otherwise.
        contender: the contender released (``RELEASE_CONTENDER``), else None.
        issued_ns: wall clock at the authority when it was issued, ns since epoch.
    """

    version: int
    kind: ControlKind
    reason: str = ""
    contender: str | None = None
    issued_ns: int = 0


@dataclass(frozen=True, slots=True)
class AuditItem:
    """One step of a replica, replayed by the authority.

    ``kind`` is ``"vet"`` (a decision's orders and the verdicts the replica gave),
    ``"observe"`` (a bar on which a latch rule may fire; ``requests``/``verdicts``
    empty) or ``"control"`` (the replica applied control ``control_version`` here,
    at the start of bar ``ts_ns``; ``state`` None).
    """

    kind: str
    state: PortfolioState | None = None
    requests: tuple[OrderRequest, ...] = ()
    verdicts: tuple[RiskVerdict, ...] = ()
    control_version: int = 0
    ts_ns: int = 0


def _apply(guardian: RiskGuardian, control: Control, ts_ns: int | None) -> None:
    if control.kind is ControlKind.TRIP_KILL_SWITCH:
        guardian.trip_kill_switch(control.reason, ts_ns=ts_ns)
    elif control.kind is ControlKind.RESET_KILL_SWITCH:
        guardian.reset_kill_switch(ts_ns=ts_ns)
    else:
        assert control.contender is not None
        guardian.release_contender(control.contender, ts_ns=ts_ns)


class GuardianReplica:
    """The risk rules in the contender's process: vets with no round trip.

    Args:
        guardian: the rule engine to vet with (in the arena: a guardian of its own,
            built from the run's limits; in process: one guardian may serve several
            contenders, as :func:`arena.local.replay_local_arena` does).
        audit: keep an :class:`AuditItem` for every step, for the authority
            (:meth:`drain_audit`); off in process.

    The contender actor calls :meth:`push` from its control thread; the runner calls
    :meth:`apply_pending` at the start of every bar, :meth:`watch` with the bar's
    equity, and :meth:`vet` / :meth:`observe`.
    """

    def __init__(self, guardian: RiskGuardian, *, audit: bool = False) -> None:
        self.guardian = guardian
        limits = guardian.limits
        self._dd = limits.max_drawdown if limits.max_drawdown < 1.0 else None
        self._loss = limits.daily_loss_limit
        self._audit: list[AuditItem] | None = [] if audit else None
        # of the built-in rules only the Sharpe rules read recent returns; custom rules may
        self.needs_returns = limits.sharpe_floor is not None or any(
            type(r).__module__ != "arena.risk.rules" for r in guardian.rules
        )
        self._pending: deque[Control] = deque()
        self._lock = threading.Lock()
        self.applied_version = 0
        self.control_delays_ns: list[int] = []  # issued → applied, wall clock, one per control
        self.control_bars_ns: list[int] = []  # timestamp of the bar each control was applied at

    # ---------------------------------------------------------------- controls
    def push(self, controls: Iterable[Control]) -> None:
        """Queue controls (any thread); applied in version order by :meth:`apply_pending`,
        each once (a version already applied or queued is ignored)."""
        with self._lock:
            last = self._pending[-1].version if self._pending else self.applied_version
            for c in sorted(controls, key=lambda c: c.version):
                if c.version > last:
                    self._pending.append(c)
                    last = c.version

    def apply_pending(self, ts_ns: int) -> bool:
        """Apply the queued controls at bar ``ts_ns``; True when there were any."""
        if not self._pending:
            return False
        with self._lock:
            todo = list(self._pending)
            self._pending.clear()
        now = time.time_ns()
        for c in todo:
            _apply(self.guardian, c, ts_ns)
            self.applied_version = c.version
            self.control_bars_ns.append(ts_ns)
            if c.issued_ns:
                self.control_delays_ns.append(now - c.issued_ns)
            if self._audit is not None:
                self._audit.append(AuditItem("control", control_version=c.version, ts_ns=ts_ns))
        return True

    # ----------------------------------------------------------------- vetting
    def watch(self, contender: str, ts_ns: int, equity: float, peak_equity: float, day_start_equity: float) -> bool:
        """True when this bar breaches a latch limit (``max_drawdown``, ``daily_loss_limit``)
        that is not latched yet: the runner then calls :meth:`observe` with the full state.

        A few float comparisons, so it can run on every bar. Latch rules other than the
        built-in ones are evaluated on the bars with orders only.
        """
        dd, loss = self._dd, self._loss
        dd_hit = dd is not None and peak_equity > 0.0 and 1.0 - equity / peak_equity >= dd - _TOL
        loss_hit = loss is not None and day_start_equity > 0.0 and 1.0 - equity / day_start_equity >= loss - _TOL
        if not (dd_hit or loss_hit):
            return False
        latches = self.guardian.latches_of(contender)

        def latched(code: str) -> bool:
            return code in latches and latches[code].active_at(ts_ns)

        return (dd_hit and not latched("MAX_DRAWDOWN")) or (loss_hit and not latched("DAILY_LOSS_LIMIT"))

    def first_breach(
        self, contender: str, ts_ns: np.ndarray, equity: np.ndarray, peak_equity: np.ndarray,
        day_start_equity: np.ndarray,
    ) -> int | None:
        """:meth:`watch` over several bars at once (float64 / int64 [T] each): the index of
        the first bar on which it would be True, or None. The contender's latches are those
        of now (nothing is vetted in between), a daily suspension lapsing by timestamp."""
        dd, loss = self._dd, self._loss
        if dd is None and loss is None:
            return None
        hit = np.zeros(len(equity), dtype=bool)
        latches = self.guardian.latches_of(contender)
        if dd is not None and "MAX_DRAWDOWN" not in latches:
            with np.errstate(divide="ignore", invalid="ignore"):
                hit |= (peak_equity > 0.0) & (1.0 - equity / peak_equity >= dd - _TOL)
        if loss is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                lost = (day_start_equity > 0.0) & (1.0 - equity / day_start_equity >= loss - _TOL)
            latch = latches.get("DAILY_LOSS_LIMIT")
            if latch is not None:
                lost &= ts_ns >= (latch.until_ts_ns if latch.until_ts_ns is not None else np.iinfo(np.int64).max)
            hit |= lost
        k = np.flatnonzero(hit)
        return int(k[0]) if len(k) else None

    def vet(self, state: PortfolioState, requests: Sequence[OrderRequest]) -> list[RiskVerdict]:
        """Vet one decision's orders (see :meth:`RiskGuardian.vet`)."""
        verdicts = self.guardian.vet(state, requests)
        if self._audit is not None:
            self._audit.append(AuditItem("vet", state, tuple(requests), tuple(verdicts)))
        return verdicts

    def observe(self, state: PortfolioState) -> None:
        """Let the latch rules see a bar without orders."""
        self.guardian.observe(state)
        if self._audit is not None:
            self._audit.append(AuditItem("observe", state))

    def drain_audit(self) -> list[AuditItem]:
        """The audit items since the last call, in order (empty when ``audit`` is off)."""
        if not self._audit:
            return []
        out, self._audit = self._audit, []
        return out

    def snapshot(self) -> dict[str, Any]:
        """The replica's state as plain data: its guardian's (:meth:`RiskGuardian.snapshot`),
        the last control applied, the controls queued and the control timings.
        Audit items not drained yet are not in it."""
        with self._lock:
            pending = list(self._pending)
        return {
            "guardian": self.guardian.snapshot(),
            "applied_version": self.applied_version,
            "pending": pending,
            "control_delays_ns": list(self.control_delays_ns),
            "control_bars_ns": list(self.control_bars_ns),
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any], *, audit: bool = False) -> GuardianReplica:
        """A replica from :meth:`snapshot` output (rules rebuilt from the snapshot's limits).

        Raises:
            ValueError: for a malformed guardian snapshot (see :meth:`RiskGuardian.restore`).
        """
        replica = cls(RiskGuardian.restore(snapshot["guardian"]), audit=audit)
        replica.applied_version = int(snapshot["applied_version"])
        replica._pending.extend(snapshot["pending"])
        replica.control_delays_ns = list(snapshot["control_delays_ns"])
        replica.control_bars_ns = list(snapshot["control_bars_ns"])
        return replica

    def drain_events(self) -> list[dict[str, Any]]:
        """The guardian's events since the last call (in process the runner records them;
        in the arena the authority records its shadows' instead)."""
        return self.guardian.events()


class GuardianAuthority:
    """The arena-wide guardian: controls, the after-the-fact check, the arena view.

    Args:
        limits: the run's limits (the replicas are built from the same).

    Deterministic given the same calls in the same order.
    """

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self._controls: list[Control] = []
        self._kill_reason = ""
        self._shadows: dict[str, RiskGuardian] = {}
        self._events: list[dict[str, Any]] = []
        self.audited = 0  # verdicts re-derived
        self.mismatches = 0
        self.last_state: dict[str, PortfolioState] = {}
        self.applied: dict[str, int] = {}  # contender → last control version it applied

    # ---------------------------------------------------------------- controls
    @property
    def controls(self) -> list[Control]:
        """Every control issued so far, oldest first (a copy)."""
        return list(self._controls)

    @property
    def kill_switch_reason(self) -> str:
        """Why the arena-wide kill switch is on; "" when it is off."""
        return self._kill_reason

    def _issue(self, kind: ControlKind, reason: str = "", contender: str | None = None) -> Control:
        c = Control(len(self._controls) + 1, kind, reason, contender, time.time_ns())
        self._controls.append(c)
        return c

    def trip_kill_switch(self, reason: str) -> Control | None:
        """Trip the arena-wide kill switch (event ``KILL_SWITCH_TRIPPED``); the control to
        push, or None when it was already on."""
        if self._kill_reason:
            return None
        self._kill_reason = str(reason).strip() or "unspecified"
        c = self._issue(ControlKind.TRIP_KILL_SWITCH, self._kill_reason)
        self._events.append({"kind": "KILL_SWITCH_TRIPPED", "ts_ns": c.issued_ns, "contender": None,
                             "reason": self._kill_reason})
        return c

    def reset_kill_switch(self) -> Control | None:
        """Turn the kill switch off (event ``KILL_SWITCH_RESET``); None when it was off."""
        if not self._kill_reason:
            return None
        c = self._issue(ControlKind.RESET_KILL_SWITCH, self._kill_reason)
        self._events.append({"kind": "KILL_SWITCH_RESET", "ts_ns": c.issued_ns, "contender": None,
                             "reason": self._kill_reason})
        self._kill_reason = ""
        return c

    def release_contender(self, contender: str) -> tuple[list[str], Control]:
        """Lift every latch of a contender. Returns the codes latched as far as the audit
        has seen, and the control to push (the ``CONTENDER_RELEASED`` event is recorded
        when the contender's replica has applied it)."""
        shadow = self._shadows.get(contender)
        codes = sorted(shadow.latches_of(contender)) if shadow is not None else []
        return codes, self._issue(ControlKind.RELEASE_CONTENDER, contender=contender)

    # ------------------------------------------------------------------- audit
    def _shadow(self, contender: str) -> RiskGuardian:
        g = self._shadows.get(contender)
        if g is None:
            g = self._shadows[contender] = RiskGuardian(self.limits)
        return g

    def audit(self, contender: str, items: Sequence[AuditItem]) -> int:
        """Replay a replica's items through the contender's shadow and compare verdicts.

        Returns:
            The number of mismatching verdicts in these items (each one is also a
            ``RISK_MISMATCH`` event naming the decision, the replica's and the
            authority's verdict).

        Raises:
            ValueError: for an item of an unknown kind or a control version never issued.
        """
        shadow = self._shadow(contender)
        bad = 0
        for item in items:
            if item.kind == "control":
                v = item.control_version
                if not 1 <= v <= len(self._controls):
                    raise ValueError(f"audit {contender!r}: control version {v} was never issued")
                _apply(shadow, self._controls[v - 1], None)  # its event: when it took effect, wall clock
                self.applied[contender] = v
                continue
            state = item.state
            assert state is not None, f"audit {contender!r}: a {item.kind!r} item carries the replica's state"
            if item.kind == "observe":
                shadow.observe(state)
            elif item.kind == "vet":
                again = shadow.vet(state, item.requests)
                self.audited += len(again)
                for k, (mine, theirs) in enumerate(zip(again, item.verdicts, strict=False)):
                    if mine != theirs:
                        bad += 1
                        self._events.append(_mismatch(contender, state, k, theirs, mine))
                if len(again) != len(item.verdicts):
                    bad += 1
                    self._events.append({"kind": "RISK_MISMATCH", "ts_ns": state.ts_ns, "contender": contender,
                                         "reason": f"{len(item.verdicts)} verdicts for {len(again)} orders"})
            else:
                raise ValueError(f"audit {contender!r}: unknown item kind {item.kind!r}")
            self.last_state[contender] = state
        self.mismatches += bad
        for e in shadow.events():
            if not e["kind"].startswith("KILL_SWITCH"):  # the authority records its own
                self._events.append(e)
        return bad

    # -------------------------------------------------------------------- view
    def halted(self) -> dict[str, str]:
        """Contenders halted for good (drawdown kill switch) as far as audited: name → reason."""
        out: dict[str, str] = {}
        for g in self._shadows.values():
            out.update(g.halted())
        return out

    def aggregate_gross_exposure_usd(self) -> float:
        """Σ over contenders of the gross exposure at their last audited state, USD."""
        return float(sum(sum(abs(q * s.prices.get(sym, 0.0)) for sym, q in s.positions.items())
                         for s in self.last_state.values()))

    def events(self) -> list[dict[str, Any]]:
        """Events since the last call, oldest first (see :meth:`RiskGuardian.events`), plus
        ``RISK_MISMATCH``."""
        out, self._events = self._events, []
        return out


def _mismatch(contender: str, state: PortfolioState, k: int, replica: RiskVerdict | None,
              authority: RiskVerdict) -> dict[str, Any]:
    def brief(v: RiskVerdict | None) -> str:
        if v is None:
            return "none"
        app = v.approved
        size = None if app is None else (app.target_weight if app.target_weight is not None else app.quantity)
        return f"{v.action.value} {v.symbol} {size} {','.join(v.reasons)}"

    return {"kind": "RISK_MISMATCH", "ts_ns": state.ts_ns, "contender": contender,
            "reason": f"order {k} at bar {state.bar_index}: replica {brief(replica)} != authority {brief(authority)}"}
