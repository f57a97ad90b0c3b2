"""Template contender: copy this file, rename the class, fill in ``on_bars``.

Run it in an arena by naming it in a config::

    contenders:
      - {name: mine, class: "my_package.my_module:MyContender", params: {lookback: 20}}
"""

from __future__ import annotations

import numpy as np

from contenders import Bars, Contender, Contribution, Decision, History, Portfolio

__all__ = ["MyContender"]


class MyContender(Contender):
    """One line on what it does; then its rule, its params with units, and what it explains."""

    lookback: int = 20  # bars
    weight: float = 1.0  # fraction of equity, split across the symbols

    def validate_params(self) -> None:
        if self.lookback < 2:
            raise ValueError(f"lookback must be >= 2 bars, got {self.lookback}")

    def fit(self, history: History) -> None:
        """Optional: learn from the warm-up bars (``warmup_bars`` in the config)."""

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        close = bars.history.close  # float64 [n, S], past only
        if len(close) <= self.lookback:
            return None  # None = keep positions as they are
        ret = close[-1] / close[-1 - self.lookback] - 1.0
        w = self.weight / len(bars.symbols)
        weights = {s: (w if r > 0 else 0.0) for s, r in zip(bars.symbols, ret)}
        if all(abs(portfolio.weights[s] - t) < 0.05 for s, t in weights.items()):
            return None
        return Decision(
            weights=weights,
            confidence=float(min(1.0, np.nanmean(np.abs(ret)) * 10)),
            explanation=tuple(
                Contribution("lookback_return", float(r), float(r), "rule", s) for s, r in zip(bars.symbols, ret)
            ),
        )
