"""Contenders used only by tests (importable by Ray workers via PYTHONPATH set in conftest)."""

from __future__ import annotations

from contenders import Contender, Contribution, Decision


class FailsAtBar(Contender):
    """Trades like buy-and-hold, then raises at bar ``fail_at``."""

    fail_at: int = 50

    def on_bars(self, bars, portfolio):
        if bars.index == self.fail_at:
            raise RuntimeError(f"model blew up at bar {bars.index}")
        if bars.index == 0:
            return Decision(weights={s: 1.0 / len(bars.symbols) for s in bars.symbols},
                            explanation=[Contribution("start", 1.0, 1.0)])
        return None


class FlipEveryBar(Contender):
    """Alternates all-in / flat every bar on every symbol (stress for latency and risk)."""

    weight: float = 1.0

    def on_bars(self, bars, portfolio):
        w = self.weight / len(bars.symbols) if bars.index % 2 == 0 else 0.0
        return Decision(weights={s: w for s in bars.symbols},
                        explanation=[Contribution("parity", float(bars.index % 2), w)])


class ExitsAtBar(Contender):
    """Buys and holds the first symbol, then ends its own process (``os._exit(1)``) at ``exit_at``:
    what a crash in native code or a killed worker looks like to the arena."""

    exit_at: int = 60

    def on_bars(self, bars, portfolio):
        if bars.index == self.exit_at:
            import os

            os._exit(1)
        if bars.index == 0:
            return Decision(weights={bars.symbols[0]: 0.5}, explanation=[Contribution("entry", 1.0, 1.0)])
        return None


class FlipHoldingALock(FlipEveryBar):
    """:class:`FlipEveryBar` holding a lock: it cannot be pickled, so no snapshot of it can be taken."""

    def __init__(self, **params):
        super().__init__(**params)
        import threading

        self._lock = threading.Lock()


class SlowToSnapshot(FlipEveryBar):
    """:class:`FlipEveryBar` that takes ``pickle_s`` seconds to be pickled (a large model's
    snapshot): a stop spends that long snapshotting it."""

    pickle_s: float = 5.0

    def __getstate__(self):
        import time

        time.sleep(self.pickle_s)
        return self.__dict__.copy()


class FollowsTheOthers(Contender):
    """A signal consumer: holds, on every bar, the mean of the other contenders' weights in
    force after the previous bar (their :class:`~contenders.signals.Signal`), so that a signal
    missing on any bar changes its decisions."""

    consumes_signals = True

    def __init__(self, **params):
        super().__init__(**params)
        self._mean: dict[str, float] = {}

    def on_signals(self, bar_index, signals):
        weights: dict[str, float] = {}
        for sig in signals.values():
            for symbol, w in sig.weights.items():
                weights[symbol] = weights.get(symbol, 0.0) + w / max(len(signals), 1)
        self._mean = weights

    def on_bars(self, bars, portfolio):
        if not self._mean:
            return None
        return Decision(weights=dict(self._mean), explanation=[Contribution("mean of the others", 1.0, 1.0)])


class SlowFlip(FlipEveryBar):
    """:class:`FlipEveryBar` taking ``sleep_s`` seconds a bar (a slow model): the same decisions,
    so that a fast replay still lasts long enough to be interrupted mid-way."""

    sleep_s: float = 0.01

    def on_bars(self, bars, portfolio):
        import time

        time.sleep(self.sleep_s)
        return super().on_bars(bars, portfolio)
