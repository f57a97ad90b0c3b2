"""Contenders used by the latency benchmark."""

from __future__ import annotations

from contenders import Contender, Contribution, Decision


class RebalanceEveryBar(Contender):
    """Issues a target on every bar (alternating two weights), so every bar has a vetted order."""

    weight: float = 1.0

    def on_bars(self, bars, portfolio):
        w = self.weight / len(bars.symbols) * (1.0 if bars.index % 2 else 0.5)
        return Decision(weights={s: w for s in bars.symbols}, explanation=[Contribution("parity", bars.index % 2, w)])
