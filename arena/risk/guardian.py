"""The risk guardian: vets every order of every contender before it reaches a ledger."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from arena.risk.context import Latch, RuleContext
from arena.risk.limits import RiskLimits
from arena.risk.proposal import Proposal, project
from arena.risk.rules import PASS, RiskRule, RuleOutcome, default_rules
from arena.risk.state import PortfolioState
from arena.risk.verdict import Action, RiskVerdict
from ledger.types import OrderRequest, Side

__all__ = ["SNAPSHOT_VERSION", "RiskGuardian"]

SNAPSHOT_VERSION = 1
_UNIT_EPS = 1e-9  # units: a scaled whole quantity within this of an integer counts as it


class RiskGuardian:
    """Vets order requests against risk rules; one guardian serves every contender.

    Plain Python (the arena wraps it in a Ray actor). Deterministic: the same
    calls in the same order give the same verdicts, latches and events.

    **How ``vet`` decides.** Each request is first projected at the state's
    reference prices into a :class:`~arena.risk.proposal.Proposal` (current and
    projected weight, whether it increases exposure). Requests that cannot be
    projected are DENIED at once:

    * ``NO_PRICE``: no reference price for the symbol;
    * ``INVALID_ORDER``: a target weight or quantity that is not finite;
    * ``DUPLICATE_SYMBOL``: a second order on a symbol in the same decision (each
      order is projected from the current position, so only the first per symbol
      is vetted; details ``first_index``);
    * ``NO_EQUITY``: equity <= 0 (weights are undefined); only orders that reduce
      a position towards zero in units (a target weight of 0, or an explicit
      order against the position no larger than it) are ALLOWED, unchecked.

    Then every rule is applied in order to the remaining proposals. Each rule sees
    the proposals as cut by the rules before it and returns the fraction of the
    remaining change it lets through; the **final scale is the product** of
    these fractions. A fraction of 0 denies: **DENY wins**, the proposal is
    settled and later rules do not see it. **Reasons accumulate**: the code of
    every rule that cut an order is listed, in rule order, and its details are
    merged. Rules that guard against adding risk never cut reductions (see
    :mod:`arena.risk.rules`).

    **Applying the scale.** A target-weight order gets
    ``target_weight = current + scale × (target − current)``. An explicit order
    gets ``quantity × scale``, floored to whole units after each rule that cuts
    it when the requested quantity is whole (fractional quantities stay
    fractional), so that later rules (cash) see the units that will really
    trade; a quantity that floors to 0 is DENIED with the reasons of the rules
    that cut it, and the verdict's scale is ``approved / requested quantity``.
    Flooring never cuts into the part of an order that reduces a position: when
    the cut quantity still reaches flat (a flip cut back to flat, or to less
    than a unit beyond it), it is floored no lower than the units that close
    the position, fractional when the position is, so that the reductions the
    caps counted on pass whole.

    **Latches and kill switches.** The arena-wide kill switch
    (:meth:`trip_kill_switch`) DENIES every later exposure-increasing order of
    every contender (``ARENA_KILL_SWITCH``) and lets reductions through, so
    positions can still be flattened. The drawdown kill switch halts a contender
    for good (``MAX_DRAWDOWN``: it stays halted when equity recovers, until
    :meth:`release_contender`); the daily loss limit suspends it until the next
    UTC day. Call ``vet`` on every bar, with an empty request list when the
    contender has no orders, so that these latches see every bar.

    Args:
        limits: the risk limits.
        rules: the rules to apply, in order; default ``default_rules(limits)``.

    Raises:
        TypeError: if ``limits`` is not a :class:`RiskLimits` or a rule lacks a
            ``code`` string or a ``check`` method.

    Example:
        >>> from ledger.types import OrderRequest
        >>> g = RiskGuardian(RiskLimits(max_position_weight=0.5))
        >>> s = PortfolioState("sma", 0, 10_000.0, 10_000.0, 10_000.0, 10_000.0,
        ...                    prices={"GOOG": 100.0})
        >>> v = g.vet(s, [OrderRequest("GOOG", target_weight=0.8)])[0]
        >>> (v.action.value, v.approved.target_weight, v.reasons)
        ('SCALE', 0.5, ('MAX_POSITION_WEIGHT',))
    """

    def __init__(self, limits: RiskLimits, rules: Sequence[RiskRule] | None = None) -> None:
        if not isinstance(limits, RiskLimits):
            raise TypeError(f"RiskGuardian needs RiskLimits, got {type(limits).__name__}")
        rule_list = default_rules(limits) if rules is None else list(rules)
        for i, rule in enumerate(rule_list):
            if not isinstance(getattr(rule, "code", None), str) or not callable(getattr(rule, "check", None)):
                raise TypeError(
                    f"rules[{i}] ({type(rule).__name__}) is not a risk rule: it needs a `code` "
                    "string and a `check(ctx, proposals)` method"
                )
        self.limits = limits
        self.rules: tuple[RiskRule, ...] = tuple(rule_list)
        self._kill_reason = ""
        self._kill_ts_ns: int | None = None
        self._latches: dict[str, dict[str, Latch]] = {}
        self._marks: dict[str, dict[str, int]] = {}  # contender → rule code → bar index of its last signal
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ vetting
    def vet(self, state: PortfolioState, requests: Sequence[OrderRequest]) -> list[RiskVerdict]:
        """Vet one decision's orders for one contender.

        Args:
            state: the contender's portfolio at the decision bar.
            requests: the orders, typically one per symbol.

        Returns:
            One :class:`RiskVerdict` per request, in the same order. A denial is a
            verdict, never an exception.

        Raises:
            TypeError: if ``state`` is not a PortfolioState, a request is not an
                OrderRequest, or a rule returns the wrong number or kind of outcomes.
        """
        if not isinstance(state, PortfolioState):
            raise TypeError(f"vet needs a PortfolioState, got {type(state).__name__}")
        contender = state.contender
        latches = self._active_latches(contender, state.ts_ns)
        ctx = RuleContext(state, self._kill_reason, latches, self._marks.get(contender))
        n = len(requests)
        verdicts: list[RiskVerdict | None] = [None] * n
        live: list[Proposal] = []
        first_index: dict[str, int] = {}
        for i, req in enumerate(requests):
            if not isinstance(req, OrderRequest):
                raise TypeError(f"requests[{i}] must be an OrderRequest, got {type(req).__name__}")
            sym = req.symbol
            if sym in first_index:
                verdicts[i] = _deny(state, req, ("DUPLICATE_SYMBOL",),
                                    {"first_index": float(first_index[sym])})
                continue
            first_index[sym] = i
            if state.equity <= 0.0:
                verdicts[i] = _bust_verdict(state, req)
                continue
            p = project(state, req, i)
            if isinstance(p, str):
                verdicts[i] = _deny(state, req, (p,), {})
            else:
                live.append(p)
        scales = [1.0] * n
        quantities: dict[int, float] = {}  # explicit orders cut so far: approved units
        acted: dict[int, list[tuple[str, Mapping[str, float]]]] = {}
        for rule in self.rules:
            outcomes = rule.check(ctx, live)
            if len(outcomes) != len(live):
                raise TypeError(
                    f"rule {rule.code!r} returned {len(outcomes)} outcomes for {len(live)} proposals"
                )
            if outcomes.count(PASS) == len(live):
                continue  # the common case: the rule did not act
            kept: list[Proposal] = []
            for p, out in zip(live, outcomes, strict=True):
                if out is PASS:
                    kept.append(p)
                    continue
                if type(out) is not RuleOutcome or not 0.0 <= out[0] <= 1.0:
                    raise TypeError(
                        f"rule {rule.code!r} must return RuleOutcome objects with a scale in "
                        f"[0, 1], got {out!r}"
                    )
                s = out[0]
                if s == 1.0:
                    if out.signal:  # tells, does not cut: recorded, the proposal goes on as is
                        acted.setdefault(p.request_index, []).append((rule.code, out[1]))
                    kept.append(p)
                    continue
                i = p.request_index
                qty = p.request.quantity
                if qty is not None:  # explicit order: cut its units now, whole stays whole
                    now = quantities.get(i, qty)
                    new = now * s
                    if float(qty).is_integer():
                        new = _floor_units(new, _units_to_flat(state, p.request))
                    if new >= now:
                        kept.append(p)
                        continue
                    quantities[i] = new
                    s = new / now
                scales[i] *= s
                acted.setdefault(i, []).append((rule.code, out[1]))
                if s == 0.0:
                    reasons, merged = _merge(acted[i])
                    verdicts[i] = _deny(state, p.request, reasons,
                                        _weights(p, p.current_weight) | merged)
                else:
                    kept.append(p.scaled(s))
            live = kept
        for p in live:
            i = p.request_index
            if i in acted:
                reasons, merged = _merge(acted[i])
                if scales[i] == 1.0 and i not in quantities:  # only signals, no cut
                    verdicts[i] = _allow(state, p, reasons, merged)
                else:
                    verdicts[i] = _final(state, p, scales[i], reasons, merged, quantities.get(i))
            else:
                verdicts[i] = _allow(state, p)
        self._commit(contender, ctx)
        return verdicts  # type: ignore[return-value]  # every slot is filled above

    def observe(self, state: PortfolioState) -> None:
        """Let the rules see a bar on which the contender has no orders (``vet(state, [])``)."""
        self.vet(state, ())

    # ------------------------------------------------------------- kill switch
    @property
    def kill_switch_active(self) -> bool:
        """True while the arena-wide kill switch is tripped."""
        return bool(self._kill_reason)

    @property
    def kill_switch_reason(self) -> str:
        """Why the arena-wide kill switch was tripped; "" when it is off."""
        return self._kill_reason

    def trip_kill_switch(self, reason: str = "", ts_ns: int | None = None) -> None:
        """Trip the arena-wide kill switch: every later exposure-increasing order of
        every contender is DENIED (``ARENA_KILL_SWITCH``); reductions still pass.

        Tripping never fails: a blank reason is recorded as ``"unspecified"``.
        Tripping it again while it is on changes nothing and records no event.

        Args:
            reason: why (operator's words), recorded in the ``KILL_SWITCH_TRIPPED`` event.
            ts_ns: when (ns since epoch, UTC); the wall clock when None.
        """
        if self._kill_reason:
            return
        self._kill_reason = str(reason).strip() or "unspecified"
        self._kill_ts_ns = time.time_ns() if ts_ns is None else int(ts_ns)
        self._events.append({"kind": "KILL_SWITCH_TRIPPED", "ts_ns": self._kill_ts_ns,
                             "contender": None, "reason": self._kill_reason})

    def reset_kill_switch(self, ts_ns: int | None = None) -> None:
        """Turn the arena-wide kill switch off (event ``KILL_SWITCH_RESET``; no-op when off).

        Args:
            ts_ns: when (ns since epoch, UTC); the wall clock when None.
        """
        if not self._kill_reason:
            return
        self._events.append({"kind": "KILL_SWITCH_RESET",
                             "ts_ns": time.time_ns() if ts_ns is None else int(ts_ns),
                             "contender": None, "reason": self._kill_reason})
        self._kill_reason = ""
        self._kill_ts_ns = None

    # ----------------------------------------------------------------- latches
    def halted(self) -> dict[str, str]:
        """Contenders halted for good (drawdown kill switch): contender → reason."""
        out: dict[str, str] = {}
        for contender, latches in self._latches.items():
            permanent = [lt.reason for lt in latches.values() if lt.until_ts_ns is None]
            if permanent:
                out[contender] = "; ".join(permanent)
        return out

    def latches_of(self, contender: str) -> dict[str, Latch]:
        """The contender's latches, code → :class:`Latch` (a copy; lapsed ones may be included)."""
        return dict(self._latches.get(contender, {}))

    def release_contender(self, contender: str, ts_ns: int | None = None) -> list[str]:
        """Lift every latch (halt, suspension) on a contender (operator action).

        Args:
            contender: the contender's name.
            ts_ns: when (ns since epoch, UTC); the wall clock when None.

        Returns:
            The codes released (empty when it had none; then no event is recorded).
        """
        latches = self._latches.pop(contender, {})
        codes = sorted(latches)
        if codes:
            self._events.append({"kind": "CONTENDER_RELEASED",
                                 "ts_ns": time.time_ns() if ts_ns is None else int(ts_ns),
                                 "contender": contender, "reason": ",".join(codes)})
        return codes

    def events(self) -> list[dict[str, Any]]:
        """Guardian events since the last call (drained), oldest first.

        Each is ``{"kind", "ts_ns", "contender", "reason", ...}``: ``KILL_SWITCH_TRIPPED``
        and ``KILL_SWITCH_RESET`` (contender None), ``CONTENDER_HALTED`` (permanent
        latch) and ``CONTENDER_SUSPENDED`` (latch with ``until_ts_ns``) with
        ``code`` and ``until_ts_ns``, and ``CONTENDER_RELEASED``.
        """
        out, self._events = self._events, []
        return out

    def _active_latches(self, contender: str, ts_ns: int) -> dict[str, Latch]:
        latches = self._latches.get(contender)
        if not latches:
            return {}
        expired = [code for code, lt in latches.items() if not lt.active_at(ts_ns)]
        for code in expired:
            del latches[code]
        return latches

    def _commit(self, contender: str, ctx: RuleContext) -> None:
        marks = ctx.new_marks()
        if marks:
            self._marks.setdefault(contender, {}).update(marks)
        for latch in ctx.new_latches():
            self._latches.setdefault(contender, {})[latch.code] = latch
            self._events.append({
                "kind": "CONTENDER_HALTED" if latch.until_ts_ns is None else "CONTENDER_SUSPENDED",
                "ts_ns": latch.ts_ns, "contender": contender, "reason": latch.reason,
                "code": latch.code, "until_ts_ns": latch.until_ts_ns,
            })

    # ---------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, Any]:
        """The guardian's state as plain data (JSON-able); :meth:`restore` rebuilds it exactly.

        Returns:
            ``{"version", "limits", "kill_switch": {"reason", "ts_ns"},
            "latches": {contender: [{"code", "reason", "ts_ns", "until_ts_ns"}]},
            "marks": {contender: {code: bar_index}}, "events": [pending events]}``; ``marks``
            hold the bar of each rule's last signal (cooldowns, e.g. ``SHARPE_ROLLBACK``).
        """
        return {
            "version": SNAPSHOT_VERSION,
            "limits": self.limits.to_dict(),
            "kill_switch": {"reason": self._kill_reason, "ts_ns": self._kill_ts_ns},
            "latches": {c: [lt._asdict() for lt in latches.values()]
                        for c, latches in self._latches.items() if latches},
            "marks": {c: dict(m) for c, m in self._marks.items() if m},
            "events": [dict(e) for e in self._events],
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any], rules: Sequence[RiskRule] | None = None) -> RiskGuardian:
        """Rebuild a guardian from :meth:`snapshot` output.

        Args:
            snapshot: the plain data.
            rules: the rule set (rules are code, not data); default from the limits.

        Returns:
            A guardian whose ``snapshot()`` equals ``snapshot``.

        Raises:
            ValueError: naming the key, when the snapshot is malformed or of another version.
        """
        if not isinstance(snapshot, Mapping) or snapshot.get("version") != SNAPSHOT_VERSION:
            got = snapshot.get("version") if isinstance(snapshot, Mapping) else type(snapshot).__name__
            raise ValueError(f"RiskGuardian snapshot: expected version {SNAPSHOT_VERSION}, got {got!r}")
        missing = {"limits", "kill_switch", "latches", "events"} - set(snapshot)
        if missing:
            raise ValueError(f"RiskGuardian snapshot lacks keys {sorted(missing)}")
        guardian = cls(RiskLimits.from_dict(snapshot["limits"]), rules)
        kill = snapshot["kill_switch"]
        try:
            guardian._kill_reason = str(kill["reason"])
            guardian._kill_ts_ns = None if kill["ts_ns"] is None else int(kill["ts_ns"])
            for contender, rows in snapshot["latches"].items():
                guardian._latches[str(contender)] = {
                    str(r["code"]): Latch(str(r["code"]), str(r["reason"]), int(r["ts_ns"]),
                                          None if r["until_ts_ns"] is None else int(r["until_ts_ns"]))
                    for r in rows
                }
            for contender, marks in snapshot.get("marks", {}).items():  # absent in older snapshots
                guardian._marks[str(contender)] = {str(code): int(bar) for code, bar in marks.items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"RiskGuardian snapshot: malformed kill_switch or latches or marks ({exc!r})") from exc
        guardian._events = [dict(e) for e in snapshot["events"]]
        return guardian


# ------------------------------------------------------------------ helpers
def _merge(acted: list[tuple[str, Mapping[str, float]]]) -> tuple[tuple[str, ...], dict[str, float]]:
    """Reason codes (in rule order) and merged details of the rules that acted."""
    details: dict[str, float] = {}
    for _, d in acted:
        details.update(d)
    return tuple(code for code, _ in acted), details


def _units_to_flat(state: PortfolioState, req: OrderRequest) -> float:
    """Units of an explicit order that close the position it trades against (0.0
    when the order is on the position's side or the symbol is flat)."""
    units = float(state.positions.get(req.symbol, 0.0))
    against = units < 0.0 if req.side is Side.BUY else units > 0.0
    return abs(units) if against else 0.0


def _floor_units(quantity: float, to_flat: float) -> float:
    """``quantity`` floored to whole units, but not below ``to_flat`` (the units that
    close the position) when ``quantity`` reaches it: flooring must not cut a
    reduction (``to_flat`` may be fractional; it is then the approved quantity)."""
    floored = float(math.floor(quantity + _UNIT_EPS))
    if floored < to_flat <= quantity + _UNIT_EPS * max(1.0, to_flat):
        return to_flat
    return floored


def _weights(p: Proposal, approved_weight: float) -> dict[str, float]:
    return {"price": p.price, "current_weight": p.current_weight,
            "requested_weight": p.requested_weight, "approved_weight": approved_weight}


def _deny(state: PortfolioState, req: OrderRequest, reasons: tuple[str, ...],
          details: dict[str, float]) -> RiskVerdict:
    return RiskVerdict(req, Action.DENY, None, 0.0, reasons, details, state.contender, state.ts_ns)


def _allow(state: PortfolioState, p: Proposal, reasons: tuple[str, ...] = (),
           signals: Mapping[str, float] | None = None) -> RiskVerdict:
    """ALLOW, unchanged; ``reasons``/``signals`` from rules that signalled without cutting."""
    req = p.request
    details = _weights(p, p.projected_weight)
    if signals:
        details |= signals
    return RiskVerdict(req, Action.ALLOW, req, 1.0, reasons, details, state.contender, state.ts_ns)


def _final(state: PortfolioState, p: Proposal, scale: float, reasons: tuple[str, ...],
           rule_details: dict[str, float], quantity: float | None) -> RiskVerdict:
    """The verdict for a proposal cut by some rule to a total ``scale`` in (0, 1);
    ``quantity`` is the approved quantity of an explicit order (units)."""
    req = p.request
    details = _weights(p, p.projected_weight) | rule_details
    if quantity is not None:
        approved = _resized(req, "quantity", quantity)
        scale = quantity / req.quantity  # type: ignore[operator]  # explicit orders carry one
        if quantity != 0.0:  # weight from the units, not the product of scales
            signed = quantity if req.side is Side.BUY else -quantity
            details["approved_weight"] = p.current_weight + signed * p.price / p.equity
    else:
        # the projection counts the symbol's working orders as filled (requested = target + their
        # shift); the ledger sizes a target at its fill, when they may not have filled yet: the
        # approved target leaves their share out, so target + working orders stays within the caps
        shift = p.requested_weight - float(req.target_weight)  # type: ignore[arg-type]  # a target order
        approved = _resized(req, "target_weight", p.projected_weight - shift)
    return RiskVerdict(req, Action.SCALE, approved, scale, reasons, details,
                       state.contender, state.ts_ns)


_REQUEST_FIELDS = tuple(f.name for f in fields(OrderRequest))


def _resized(req: OrderRequest, name: str, value: float) -> OrderRequest:
    """A copy of ``req`` with its size field ``name`` (``quantity`` or ``target_weight``)
    set to ``value``. Every other field is copied as is; the copy is not re-validated
    because ``req`` was and the new size is a finite weight or a quantity > 0
    (``dataclasses.replace`` would cost ~3 µs of the vetting budget)."""
    new = object.__new__(OrderRequest)
    for f in _REQUEST_FIELDS:
        object.__setattr__(new, f, getattr(req, f))
    object.__setattr__(new, name, value)
    return new


def _bust_verdict(state: PortfolioState, req: OrderRequest) -> RiskVerdict:
    """Equity <= 0: only reductions of a position in units pass."""
    units = float(state.positions.get(req.symbol, 0.0))
    if req.target_weight is not None:
        reduces = units != 0.0 and req.target_weight == 0.0
    else:
        qty = req.quantity or 0.0
        signed = qty if req.side is Side.BUY else -qty
        reduces = units * signed < 0.0 and qty <= abs(units)
    if reduces:
        return RiskVerdict(req, Action.ALLOW, req, 1.0, (), {"equity": state.equity},
                           state.contender, state.ts_ns)
    return _deny(state, req, ("NO_EQUITY",), {"equity": state.equity})
