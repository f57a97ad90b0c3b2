"""Seeded synthetic OHLCV bars (geometric Brownian motion) for tests and benchmarks."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arena.data.base import BarSource
from arena.data.schema import COLUMNS
from arena.data.validate import to_canonical

__all__ = ["SyntheticSource"]


class SyntheticSource(BarSource):
    """Seeded GBM bars: same arguments, same bars, on any machine.

    Per symbol, the close follows geometric Brownian motion with per-bar log
    return ``r ~ N(drift_per_bar - volatility_per_bar**2 / 2, volatility_per_bar)``
    (so ``E[close_t / close_{t-1}] = exp(drift_per_bar)``). Each bar opens at the
    previous close times ``exp(N(0, volatility_per_bar / 4))`` (an overnight
    gap; the first bar opens at ``start_price_usd``), ``high`` is
    ``max(open, close) * exp(|N(0, volatility_per_bar / 2)|)`` and ``low`` is
    ``min(open, close) * exp(-|N(0, volatility_per_bar / 2)|)``, so
    ``low <= open, close <= high`` always. Volume is lognormal around
    ``mean_volume`` units, rounded to whole units. Each symbol draws from its
    own generator seeded by ``(seed, crc32(symbol))``, so adding a symbol does
    not change the others' bars.

    Args:
        symbols: symbol names, e.g. ``("AAA", "BBB")``.
        n_bars: bars per symbol (>= 1).
        freq: pandas offset alias of the bar interval: ``"1D"`` (calendar
            days), ``"B"`` (business days), ``"1h"``, ``"5min"``.
        seed: random seed (int >= 0).
        start: first bar time (naive = UTC), e.g. ``"2020-01-01"``.
        start_price_usd: first open, quote currency (> 0).
        drift_per_bar: expected log growth per bar (0.0005 → +0.05 % a bar).
        volatility_per_bar: standard deviation of the per-bar log return
            (0.01 → 1 % a bar; >= 0).
        mean_volume: typical volume per bar, units (> 0).

    Raises:
        ValueError: a parameter is out of range or ``freq`` is not a pandas
            offset alias.

    Example:
        >>> bars = SyntheticSource(symbols=("AAA",), n_bars=3, seed=7).load()
        >>> len(bars)
        3
    """

    kind: ClassVar[str] = "synthetic"

    def __init__(
        self,
        symbols: Sequence[str] = ("SYN",),
        n_bars: int = 1000,
        freq: str = "1D",
        seed: int = 0,
        start: str = "2020-01-01",
        *,
        start_price_usd: float = 100.0,
        drift_per_bar: float = 0.0002,
        volatility_per_bar: float = 0.01,
        mean_volume: float = 1_000_000.0,
    ) -> None:
        if isinstance(symbols, str):
            symbols = (symbols,)
        self.symbols = tuple(str(s) for s in symbols)
        if not self.symbols or any(not s.strip() for s in self.symbols):
            raise ValueError(f"symbols must be non-empty names, got {list(symbols)!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"symbols must be unique, got {list(self.symbols)!r}")
        if int(n_bars) < 1:
            raise ValueError(f"n_bars must be >= 1, got {n_bars}")
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not start_price_usd > 0 or not mean_volume > 0 or not volatility_per_bar >= 0:
            raise ValueError(
                "expected start_price_usd > 0, mean_volume > 0, volatility_per_bar >= 0; got "
                f"{start_price_usd}, {mean_volume}, {volatility_per_bar}"
            )
        try:
            pd.tseries.frequencies.to_offset(freq)
        except ValueError as exc:
            raise ValueError(f"freq {freq!r} is not a pandas offset alias (e.g. '1D', 'B', '1h'): {exc}") from exc
        try:
            self._start = pd.Timestamp(start)
        except ValueError as exc:
            raise ValueError(f"start {start!r} is not a date/time (e.g. '2020-01-01'): {exc}") from exc
        self.n_bars = int(n_bars)
        self.freq = freq
        self.seed = int(seed)
        self.start = start
        self.start_price_usd = float(start_price_usd)
        self.drift_per_bar = float(drift_per_bar)
        self.volatility_per_bar = float(volatility_per_bar)
        self.mean_volume = float(mean_volume)

    def load(self) -> pd.DataFrame:
        """Generate the bars.

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``,
            canonical, ``n_bars * len(symbols)`` rows.
        """
        start = self._start.tz_localize("UTC") if self._start.tzinfo is None else self._start.tz_convert("UTC")
        ts = pd.date_range(start, periods=self.n_bars, freq=self.freq)
        parts = [self._one(sym, ts) for sym in self.symbols]
        return to_canonical(pd.concat(parts, ignore_index=True), f"synthetic(seed={self.seed})")

    def _one(self, symbol: str, ts: pd.DatetimeIndex) -> pd.DataFrame:
        rng = np.random.default_rng([self.seed, zlib.crc32(symbol.encode("utf-8"))])
        n, sigma = self.n_bars, self.volatility_per_bar
        log_ret = rng.normal(self.drift_per_bar - 0.5 * sigma**2, sigma, n)
        gap = rng.normal(0.0, sigma / 4, n)
        gap[0] = 0.0
        # Bar t opens at close_{t-1} * exp(gap_t) and closes at open_t * exp(log_ret_t - gap_t).
        log_close = np.log(self.start_price_usd) + np.cumsum(log_ret)
        log_open = np.concatenate(([np.log(self.start_price_usd)], log_close[:-1])) + gap
        open_, close = np.exp(log_open), np.exp(log_close)
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, sigma / 2, n)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, sigma / 2, n)))
        volume = np.round(self.mean_volume * rng.lognormal(0.0, 0.5, n))
        return pd.DataFrame(
            {"timestamp": ts, "symbol": symbol, "open": open_, "high": high, "low": low, "close": close,
             "volume": volume},
            columns=list(COLUMNS),
        )

    def describe(self) -> dict[str, Any]:
        """Kind and every generation parameter."""
        return {
            "kind": self.kind,
            "symbols": list(self.symbols),
            "n_bars": self.n_bars,
            "freq": self.freq,
            "seed": self.seed,
            "start": self.start,
            "start_price_usd": self.start_price_usd,
            "drift_per_bar": self.drift_per_bar,
            "volatility_per_bar": self.volatility_per_bar,
            "mean_volume": self.mean_volume,
        }
