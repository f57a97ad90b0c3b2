"""What a risk rule sees besides the proposals: the portfolio, the arena-wide
kill switch, the contender's latches (halts that outlive one decision) and its
marks (the bar at which a rule last signalled, for cooldowns in bars)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from arena.risk.state import PortfolioState

__all__ = ["Latch", "RuleContext"]


class Latch(NamedTuple):
    """A restriction a rule set on one contender that persists across decisions.

    Attributes:
        code: the rule's reason code (``MAX_DRAWDOWN``, ``DAILY_LOSS_LIMIT``).
        reason: human-readable cause, e.g. ``"drawdown 0.2531 >= max_drawdown 0.25"``.
        ts_ns: bar timestamp at which it was set (ns, UTC).
        until_ts_ns: first timestamp at which it no longer applies (ns, UTC), or
            None for a halt that lasts until an operator releases the contender.
    """

    code: str
    reason: str
    ts_ns: int
    until_ts_ns: int | None = None

    def active_at(self, ts_ns: int) -> bool:
        """True when the latch still applies at ``ts_ns``."""
        return self.until_ts_ns is None or ts_ns < self.until_ts_ns


class RuleContext:
    """The context of one ``vet`` call, handed to every rule.

    Attributes:
        state: the contender's portfolio at the decision bar.
        kill_switch_reason: the arena-wide kill switch's reason, "" when it is off.
    """

    __slots__ = ("_latches", "_marks", "_new", "_new_marks", "kill_switch_reason", "state")

    def __init__(
        self,
        state: PortfolioState,
        kill_switch_reason: str,
        latches: Mapping[str, Latch],
        marks: Mapping[str, int] | None = None,
    ) -> None:
        self.state = state
        self.kill_switch_reason = kill_switch_reason
        self._latches = latches
        self._new: list[Latch] = []
        self._marks: Mapping[str, int] = marks or {}
        self._new_marks: dict[str, int] = {}

    @property
    def kill_switch_active(self) -> bool:
        """True while the arena-wide kill switch is tripped."""
        return bool(self.kill_switch_reason)

    def latched(self, code: str) -> Latch | None:
        """The contender's active latch for ``code``, or None."""
        latch = self._latches.get(code)
        if latch is None:
            for new in self._new:
                if new.code == code:
                    return new
        return latch

    def latch(self, code: str, reason: str, until_ts_ns: int | None = None) -> Latch:
        """Set a latch on this contender from the current bar on.

        Does nothing (and returns the existing latch) when one with ``code`` is
        already active. The guardian stores it and reports it as an event
        (``CONTENDER_HALTED`` when ``until_ts_ns`` is None, else
        ``CONTENDER_SUSPENDED``).

        Args:
            code: the rule's reason code.
            reason: human-readable cause.
            until_ts_ns: first timestamp (ns, UTC) at which it lapses; None = until released.

        Returns:
            The active latch.

        Raises:
            ValueError: if ``until_ts_ns`` is not after the current bar.
        """
        existing = self.latched(code)
        if existing is not None:
            return existing
        if until_ts_ns is not None and until_ts_ns <= self.state.ts_ns:
            raise ValueError(
                f"latch {code!r}: until_ts_ns ({until_ts_ns}) must be after the bar ({self.state.ts_ns})"
            )
        new = Latch(code, reason, self.state.ts_ns, until_ts_ns)
        self._new.append(new)
        return new

    def new_latches(self) -> list[Latch]:
        """Latches set during this call, in order (read by the guardian)."""
        return list(self._new)

    def marked_at(self, code: str) -> int | None:
        """The bar index at which ``code`` last marked this contender (:meth:`mark`), or None."""
        return self._new_marks.get(code, self._marks.get(code))

    def mark(self, code: str) -> None:
        """Record that ``code`` acted on this contender at the current bar
        (``state.bar_index``), so that it can keep a cooldown in bars. The guardian
        keeps the mark across decisions (and in its snapshot).

        Raises:
            ValueError: if the state carries no ``bar_index``.
        """
        if self.state.bar_index is None:
            raise ValueError(f"mark {code!r}: the PortfolioState carries no bar_index")
        self._new_marks[code] = self.state.bar_index

    def new_marks(self) -> dict[str, int]:
        """Marks set during this call: code → bar index (read by the guardian)."""
        return dict(self._new_marks)
