"""Time-series momentum."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from contenders.base import Bars, ChunkPreparer, Contender, Contribution, Decision, History, Portfolio

__all__ = ["Momentum"]


class Momentum(Contender, ChunkPreparer):
    """Time-series momentum (Moskowitz, Ooi & Pedersen, "Time series momentum",
    JFE 2012): every ``rebalance_bars`` bars, each symbol whose return over the
    last ``lookback`` bars is positive is held long, the others flat (or short
    with ``allow_short``). With ``target_volatility`` the weight is scaled by
    ``target_volatility / realized volatility`` (annualized with
    ``periods_per_year``), capped at ``weight``.

    Only the symbols whose target changed are in the decision; None otherwise.

    Params:
        lookback: momentum window, bars.
        rebalance_bars: bars between rebalances.
        weight: max weight per symbol, fraction of equity; None = 1 / number of symbols.
        allow_short: short the symbols with negative momentum.
        target_volatility: annualized volatility target (fraction), or None.
        vol_window: bars for the realized volatility.
        periods_per_year: bars per year for annualizing volatility.

    Explanation: ``momentum_return`` (fraction over the lookback) per symbol,
    contribution = that return, and ``realized_vol`` when volatility-targeting.
    """

    lookback: int = 126
    rebalance_bars: int = 21
    weight: float | None = None
    allow_short: bool = False
    target_volatility: float | None = None
    vol_window: int = 63
    periods_per_year: float = 252.0

    def validate_params(self) -> None:
        if self.lookback < 1 or self.rebalance_bars < 1 or self.vol_window < 2:
            raise ValueError("lookback, rebalance_bars must be >= 1 and vol_window >= 2 bars")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._targets: np.ndarray | None = None

    def prepare_chunk(self, history: History, first_bar: int) -> np.ndarray:
        """The rebalance bars of the chunk (the only bars ``on_bars`` may decide on)."""
        t = np.arange(first_bar, len(history))
        rebalance: np.ndarray = (t + 1 > self.lookback) & ((t - self.lookback) % self.rebalance_bars == 0)
        return rebalance

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        close = bars.history.close
        n = len(close)
        if n <= self.lookback or (n - 1 - self.lookback) % self.rebalance_bars:
            return None
        ret = close[-1] / close[-1 - self.lookback] - 1.0
        w_max = self.weight if self.weight is not None else 1.0 / len(bars.symbols)
        size = np.full(len(bars.symbols), w_max)
        vol = None
        if self.target_volatility is not None:
            window = close[-self.vol_window - 1 :]
            r = np.diff(np.log(window), axis=0)
            vol = r.std(axis=0, ddof=1) * math.sqrt(self.periods_per_year)
            with np.errstate(divide="ignore", invalid="ignore"):
                size = np.minimum(w_max, np.where(vol > 0, self.target_volatility / vol, w_max))
        sign = np.where(ret > 0, 1.0, -1.0 if self.allow_short else 0.0)
        sign = np.where(np.isnan(ret), 0.0, sign)
        targets = np.round(sign * size, 6)
        changed = np.ones(len(targets), bool) if self._targets is None else targets != self._targets
        self._targets = targets
        if not changed.any():
            return None
        weights, explanation = {}, []
        for j in np.flatnonzero(changed):
            sym = bars.symbols[j]
            weights[sym] = float(targets[j])
            if not math.isfinite(ret[j]):  # no bar at one end of the lookback (a later listing, a gap): flat
                bars_seen = float(np.count_nonzero(~np.isnan(close[-1 - self.lookback :, j])))
                explanation.append(Contribution("bars_in_lookback", bars_seen, 0.0, "rule", sym))
                continue
            explanation.append(Contribution("momentum_return", float(ret[j]), float(ret[j]), "rule", sym))
            if vol is not None and math.isfinite(vol[j]):
                explanation.append(Contribution("realized_vol", float(vol[j]), float(size[j]), "rule", sym))
        return Decision(weights=weights, explanation=tuple(explanation))
