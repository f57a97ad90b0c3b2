"""Behaviour of the built-in rule contenders, bar by bar on hand-made closes."""

from __future__ import annotations

import numpy as np
import pytest

from contenders import Bars, History, resolve


class _FakeLedger:
    def __init__(self, symbols):
        self.symbols = tuple(symbols)
        self.cash, self.equity = 10_000.0, 10_000.0
        self.quantities = np.zeros(len(symbols))

    def weights(self):
        return np.zeros(len(self.symbols))


def replay(contender, closes: np.ndarray, symbols=("A",)):
    """Feed closes [T, S] one bar at a time; return {bar_index: decision}."""
    from contenders.portfolio import Portfolio

    closes = np.asarray(closes, dtype=float).reshape(len(closes), -1)
    t, s = closes.shape
    buf = {f: np.full((t, s), np.nan) for f in ("open", "high", "low", "close", "volume")}
    buf["ts_ns"] = np.arange(t, dtype=np.int64) * 86_400 * 10**9
    led = _FakeLedger(symbols)
    out = {}
    for i in range(t):
        for f in ("open", "high", "low", "close"):
            buf[f][i] = closes[i]
        buf["volume"][i] = 1e6
        h = History(buf, i + 1, tuple(symbols))
        bars = Bars(
            int(buf["ts_ns"][i]), i, tuple(symbols), *(buf[f][i] for f in ("open", "high", "low", "close", "volume")), h
        )
        d = contender.on_bars(bars, Portfolio(led, np.full(t, 1e4), i + 1))
        if d is not None:
            out[i] = d
    return out


def test_buy_and_hold_buys_once_split_equally():
    out = replay(resolve("buy_and_hold")(), np.ones((5, 2)) * 100, symbols=("A", "B"))
    assert list(out) == [0]
    assert out[0].weights == {"A": 0.5, "B": 0.5}


def test_sma_cross_triggers_on_cross_not_level():
    # falls for 6 bars, rises for 6, then stays high: one cross up, no repeats while above
    closes = np.r_[np.linspace(110, 100, 6), np.linspace(101, 120, 6), np.full(8, 120.0)]
    out = replay(resolve("sma_crossover")(fast=2, slow=4), closes)
    ups = [i for i, d in out.items() if d.weights["A"] > 0]
    assert len(ups) == 1
    d = out[ups[0]]
    feats = {c.feature: c for c in d.explanation}
    assert feats["sma_fast"].value > feats["sma_slow"].value
    assert feats["sma_fast"].method == "rule"


def test_sma_cross_down_goes_flat_and_default_weight_splits_capital():
    closes = np.c_[np.r_[np.linspace(100, 120, 10), np.linspace(119, 90, 10)], np.full(20, 50.0)]
    out = replay(resolve("sma_crossover")(fast=2, slow=4), closes, symbols=("A", "B"))
    downs = [d for d in out.values() if d.weights.get("A") == 0.0]
    assert downs, "expected a cross down to flat"
    ups = [d for d in out.values() if d.weights.get("A", 0) > 0]
    assert all(d.weights["A"] == 0.5 for d in ups)


def test_rsi_enters_when_oversold_and_exits_on_recovery():
    closes = np.r_[np.full(5, 100.0), np.linspace(100, 70, 15), np.linspace(71, 100, 15)]
    out = replay(resolve("rsi_mean_reversion")(period=5, oversold=30, exit_level=55), closes)
    seq = [d.weights["A"] for _, d in sorted(out.items())]
    assert seq[0] == 1.0 and seq[-1] == 0.0
    rsi = next(c for c in out[min(out)].explanation if c.feature == "rsi")
    assert rsi.value < 30


def test_rsi_matches_wilder_reference():
    """Wilder RSI against a direct recursive computation."""
    rng = np.random.default_rng(0)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 60)))
    c = resolve("rsi_mean_reversion")(period=14)
    rsis = []
    for n in range(15, 61):
        r = c._update_rsi(closes[:n].reshape(-1, 1))
        rsis.append(float(r[0]))
    d = np.diff(closes)
    g, loss = np.clip(d, 0, None), np.clip(-d, 0, None)
    ag, al = g[:14].mean(), loss[:14].mean()
    ref = [100 - 100 / (1 + ag / al)]
    for k in range(14, len(d)):
        ag = (ag * 13 + g[k]) / 14
        al = (al * 13 + loss[k]) / 14
        ref.append(100 - 100 / (1 + ag / al))
    assert np.allclose(rsis, ref)


def test_momentum_long_on_positive_lookback_return_only_on_change():
    closes = np.r_[np.linspace(100, 130, 30), np.linspace(129, 90, 40)]
    out = replay(resolve("momentum")(lookback=10, rebalance_bars=5), closes)
    seq = [(i, d.weights["A"]) for i, d in sorted(out.items())]
    assert seq[0][1] == 1.0
    assert any(w == 0.0 for _, w in seq)
    assert all(a[1] != b[1] for a, b in zip(seq, seq[1:])), "only changed targets are re-issued"


def test_history_is_read_only_and_past_only():
    seen = []

    class Peek(resolve("buy_and_hold")):
        def on_bars(self, bars, portfolio):
            seen.append(len(bars.history))
            with pytest.raises(ValueError):
                bars.history.close[0, 0] = 1.0
            return None

    replay(Peek(), np.arange(1, 6, dtype=float))
    assert seen == [1, 2, 3, 4, 5]


def test_momentum_explains_a_symbol_without_lookback_history_with_finite_values():
    """B is listed 30 bars after A: on the first rebalance B is flat, explained by the bars it
    has in the lookback (a NaN return would halt the contender at that decision)."""
    a = np.linspace(100, 130, 60)
    b = np.r_[np.full(30, np.nan), np.linspace(50, 60, 30)]
    out = replay(resolve("momentum")(lookback=20, rebalance_bars=5), np.c_[a, b], symbols=("A", "B"))
    first = out[min(out)]
    assert first.weights == {"A": 0.5, "B": 0.0}
    lines = {(c.symbol, c.feature): c for c in first.explanation}
    assert lines[("B", "bars_in_lookback")].value == 0.0 and lines[("B", "bars_in_lookback")].contribution == 0.0
    assert all(np.isfinite(c.value) and np.isfinite(c.contribution) for d in out.values() for c in d.explanation)
    later = [d for d in out.values() if d.weights.get("B") == 0.5]
    assert later, "B is bought once it has a lookback's return"
