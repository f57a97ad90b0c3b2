"""Buy and hold: the benchmark every model must beat."""

from __future__ import annotations

from contenders.base import Bars, Contender, Contribution, Decision, Portfolio


class BuyAndHold(Contender):
    """Goes long once, on the first bar, and never trades again.

    Params:
        weight: total fraction of equity to invest (1.0 = all in), split equally
            across the symbols that have a bar on the first bar.
    """

    weight: float = 1.0

    def validate_params(self) -> None:
        if not 0 < self.weight <= 1:
            raise ValueError(f"weight must be in (0, 1], got {self.weight}")

    def __init__(self, **params):
        super().__init__(**params)
        self._bought = False

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        if self._bought:
            return None
        live = [s for s, c in zip(bars.symbols, bars.close) if c == c]
        if not live:
            return None
        self._bought = True
        w = self.weight / len(live)
        return Decision(
            weights={s: w for s in live},
            confidence=1.0,
            explanation=tuple(Contribution("buy_and_hold", w, w, "rule", s) for s in live),
        )
