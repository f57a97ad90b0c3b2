"""What the arena routes from contenders to a meta-model: one :class:`Signal` per
contender per bar, sent once that contender has decided on the bar.

A contender that wants them sets ``consumes_signals = True`` and implements
``on_signals(bar_index, signals)``; the arena then calls it before ``on_bars``
of the same bar with ``{contender name: Signal}`` of every other contender.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.types import Contribution

__all__ = ["Signal"]


@dataclass(frozen=True)
class Signal:
    """What one contender decided on one bar.

    Attributes:
        weights: target weights in force after this bar (fraction of equity),
            persisting from its earlier decisions when it did not decide now.
        predictions: expected log returns it made on this bar ({} when none).
        confidence: the bar's decision confidence in [0, 1], or None.
        reasons: the top lines of that decision's explanation (largest
            |contribution| first); () when it did not decide.
        decided: True when it returned a decision on this bar.
        status: ``ok`` or ``halted`` (a halted contender's weights are frozen).
    """

    weights: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, float] = field(default_factory=dict)
    confidence: float | None = None
    reasons: tuple[Contribution, ...] = ()
    decided: bool = False
    status: str = "ok"
