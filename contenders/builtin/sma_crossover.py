"""Simple-moving-average crossover."""

from __future__ import annotations

import numpy as np

from contenders.base import Bars, ChunkPreparer, Contender, Contribution, Decision, History, Portfolio

__all__ = ["SmaCrossover"]

_TIE = 1e-9  # |fast − slow| within this fraction of slow: a near tie, left to on_bars to decide


class SmaCrossover(Contender, ChunkPreparer):
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

    Incremental: the previous bar's averages are this bar's ``prev`` ones (the same
    rows of the same buffer, summed the same way, so bit-identical to summing them
    again); only the new averages are computed per bar. And per chunk of bars,
    :meth:`prepare_chunk` finds the bars where a cross can happen in one vectorized
    pass, so that the arena calls ``on_bars`` only on those.
    """

    fast: int = 10
    slow: int = 30
    weight: float | None = None
    allow_short: bool = False

    def validate_params(self) -> None:
        if not 0 < self.fast < self.slow:
            raise ValueError(f"need 0 < fast < slow, got fast={self.fast}, slow={self.slow}")

    _last: tuple[int, np.ndarray, np.ndarray] | None = None  # (bar index, fast < slow, fast > slow)

    def prepare_chunk(self, history: History, first_bar: int) -> np.ndarray:
        """The bars of the chunk on which ``on_bars`` may decide: those where ``fast − slow``
        changes sign between the previous bar and this one, by averages over sliding
        windows of the past closes — plus every near tie (``|fast − slow| <= 1e-9 ×
        slow`` on either bar), where summing in another order could round the other way;
        ``on_bars`` decides those with its own arithmetic. So every bar where ``on_bars``
        would cross is marked (a superset; a marked bar may still return None).

        Returns:
            bool [chunk bars].
        """
        close = history.close
        n, f, sl = len(close), self.fast, self.slow
        out = np.zeros(n - first_bar, dtype=bool)
        lo = max(first_bar, sl)  # on_bars decides from bar index `slow` on (len(history) > slow)
        if lo >= n:
            return out
        seg = close[lo - sl : n]  # the slow window ending at lo - 1 is its first
        fast = np.lib.stride_tricks.sliding_window_view(seg, f, axis=0).sum(axis=-1)[sl - f :] / f
        slow = np.lib.stride_tricks.sliding_window_view(seg, sl, axis=0).sum(axis=-1) / sl
        diff = fast - slow  # bars lo - 1 … n - 1
        with np.errstate(invalid="ignore"):
            near = np.abs(diff) <= _TIE * np.abs(slow)
            cross = ((diff[:-1] < 0) & (diff[1:] > 0)) | ((diff[:-1] > 0) & (diff[1:] < 0))
        out[lo - first_bar :] = (cross | near[:-1] | near[1:]).any(axis=1)
        return out

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        close = bars.history.close
        n = len(close)
        if n <= self.slow:
            return None
        f, sl = self.fast, self.slow
        fast_now = close[n - f :].sum(axis=0) / f
        slow_now = close[n - sl :].sum(axis=0) / sl
        below_now, above_now = fast_now < slow_now, fast_now > slow_now
        last = self._last
        if last is not None and last[0] == bars.index - 1:
            below_prev, above_prev = last[1], last[2]
        else:  # first call, or a gap in the calls: the previous bar's averages afresh
            fast_prev = close[n - 1 - f : n - 1].sum(axis=0) / f
            slow_prev = close[n - 1 - sl : n - 1].sum(axis=0) / sl
            below_prev, above_prev = fast_prev < slow_prev, fast_prev > slow_prev
        self._last = (bars.index, below_now, above_now)
        up = below_prev & above_now
        down = above_prev & below_now
        if not (up | down).any():
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
