"""Buy and hold: the benchmark every model must beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from contenders.base import Bars, ChunkPreparer, Contender, Contribution, Decision, History, Portfolio

__all__ = ["BuyAndHold"]


class BuyAndHold(Contender, ChunkPreparer):
    """Goes long once, on the first bar, and never trades again.

    Params:
        weight: total fraction of equity to invest (1.0 = all in), split equally
            across the symbols that have a bar on the first bar.
    """

    weight: float = 1.0

    def validate_params(self) -> None:
        if not 0 < self.weight <= 1:
            raise ValueError(f"weight must be in (0, 1], got {self.weight}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._bought = False

    def prepare_chunk(self, history: History, first_bar: int) -> np.ndarray:
        """Every bar until it has bought, none after (so the arena marks the held positions
        in one step)."""
        return np.full(len(history) - first_bar, not self._bought)

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
