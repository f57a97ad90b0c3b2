"""Simple-moving-average crossover."""

from __future__ import annotations

import numpy as np

from contenders.base import Bars, Contender, Contribution, Decision, Portfolio


class SmaCrossover(Contender):
    """Long when the fast SMA of the close crosses above the slow SMA, flat when it
    crosses below. A cross triggers, not a level: the contender acts only on the
    bar where ``fast − slow`` changes sign (strictly: ``fast[t−1] < slow[t−1]`` and
    ``fast[t] > slow[t]``, as ``backtesting.lib.crossover``), and otherwise
    returns None, so positions are left as they are.

    Params:
        fast: fast window, bars (> 0).
        slow: slow window, bars (> fast).
        weight: target weight per symbol on a cross up, fraction of equity;
            None (default) = all of its capital split equally across its symbols.
        allow_short: go to −weight on a cross down instead of flat.

    Explanation: per symbol that crossed, ``sma_fast`` and ``sma_slow`` (USD) with
    the relative spread ``(fast − slow) / slow`` as contribution, method ``rule``.
    """

    fast: int = 10
    slow: int = 30
    weight: float | None = None
    allow_short: bool = False

    def validate_params(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast}, slow={self.slow}")

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        close = bars.history.close
        if len(close) <= self.slow:
            return None
        window = close[-self.slow - 1 :]  # the slow window of this bar and of the previous one
        f, sl = self.fast, self.slow
        fast_now = window[-f:].sum(axis=0) / f
        fast_prev = window[-f - 1 : -1].sum(axis=0) / f
        slow_now = window[1:].sum(axis=0) / sl
        slow_prev = window[:-1].sum(axis=0) / sl
        up = (fast_prev < slow_prev) & (fast_now > slow_now)
        down = (fast_prev > slow_prev) & (fast_now < slow_now)
        if not (up.any() or down.any()):
            return None
        w = self.weight if self.weight is not None else 1.0 / len(bars.symbols)
        weights: dict[str, float] = {}
        explanation = []
        for j in np.flatnonzero(up | down):
            sym = bars.symbols[j]
            weights[sym] = w if up[j] else (-w if self.allow_short else 0.0)
            spread = float((fast_now[j] - slow_now[j]) / slow_now[j])
            explanation.append(Contribution("sma_fast", float(fast_now[j]), spread, "rule", sym))
            explanation.append(Contribution("sma_slow", float(slow_now[j]), -spread, "rule", sym))
        confidence = float(min(1.0, max(abs(c.contribution) for c in explanation) * 20))
        return Decision(weights=weights, confidence=confidence, explanation=tuple(explanation))
