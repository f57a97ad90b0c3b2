"""RSI mean reversion (Wilder's Relative Strength Index)."""

from __future__ import annotations

from typing import Any

import numpy as np

from contenders.base import Bars, Contender, Contribution, Decision, Portfolio

__all__ = ["RsiMeanReversion"]


class RsiMeanReversion(Contender):
    """Buys oversold symbols and sells them once they recover.

    RSI is Wilder's (J. W. Wilder, *New Concepts in Technical Trading Systems*,
    1978): average gain and loss of the close-to-close change smoothed with
    ``α = 1/period`` (seeded with the simple mean of the first ``period``
    changes), ``RSI = 100 − 100 / (1 + avg_gain / avg_loss)``.

    Rule, per symbol: when flat and RSI drops below ``oversold`` → target
    ``weight``; when long and RSI rises above ``exit_level`` → flat. Acts only
    on those transitions; returns None otherwise.

    Params:
        period: RSI window, bars (>= 2).
        oversold: entry threshold, RSI points (0–100).
        exit_level: exit threshold, RSI points (> oversold).
        weight: target weight per symbol, fraction of equity; None = 1 / number of symbols.

    Explanation: ``rsi`` with its value and the signed distance past the
    threshold that triggered, method ``rule``.
    """

    period: int = 14
    oversold: float = 30.0
    exit_level: float = 55.0
    weight: float | None = None

    def validate_params(self) -> None:
        if self.period < 2:
            raise ValueError(f"period must be >= 2 bars, got {self.period}")
        if not 0 < self.oversold < self.exit_level < 100:
            raise ValueError(f"need 0 < oversold < exit_level < 100, got {self.oversold}, {self.exit_level}")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._gain: np.ndarray | None = None
        self._loss: np.ndarray | None = None
        self._long: np.ndarray | None = None

    def _update_rsi(self, close: np.ndarray) -> np.ndarray | None:
        n = len(close)
        p = self.period
        if n <= p:
            return None
        if self._gain is None:
            diff = np.diff(close[: p + 1], axis=0)
            self._gain = np.clip(diff, 0, None).mean(axis=0)
            self._loss = np.clip(-diff, 0, None).mean(axis=0)
        else:
            d = close[-1] - close[-2]
            self._gain = self._gain + (np.clip(d, 0, None) - self._gain) / p
            self._loss = self._loss + (np.clip(-d, 0, None) - self._loss) / p
        with np.errstate(divide="ignore", invalid="ignore"):
            rs = self._gain / self._loss
            rsi = np.where(self._loss == 0, 100.0, 100.0 - 100.0 / (1.0 + rs))
        return rsi

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        rsi = self._update_rsi(bars.history.close)
        if rsi is None:
            return None
        if self._long is None:
            self._long = np.zeros(len(bars.symbols), dtype=bool)
        enter = ~self._long & (rsi < self.oversold)
        leave = self._long & (rsi > self.exit_level)
        if not (enter.any() or leave.any()):
            return None
        w = self.weight if self.weight is not None else 1.0 / len(bars.symbols)
        weights, explanation = {}, []
        for j in np.flatnonzero(enter | leave):
            sym = bars.symbols[j]
            if enter[j]:
                weights[sym] = w
                explanation.append(Contribution("rsi", float(rsi[j]), float(self.oversold - rsi[j]), "rule", sym))
            else:
                weights[sym] = 0.0
                explanation.append(Contribution("rsi", float(rsi[j]), float(self.exit_level - rsi[j]), "rule", sym))
        self._long = (self._long | enter) & ~leave
        return Decision(weights=weights, confidence=None, explanation=tuple(explanation))
