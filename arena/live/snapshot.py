"""A live leaderboard built incrementally from the equity rows a run records."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from arena.live.schema import ts_fields
from arena.metrics import max_drawdown

__all__ = ["LiveLeaderboard"]


@dataclass
class _Standing:
    capital_usd: float | None
    equity_usd: float | None = None
    peak_usd: float | None = None
    max_drawdown: float = 0.0
    bars: int = 0
    last_ts_ns: int | None = None
    status: str = "ok"
    reason: str = ""


class LiveLeaderboard:
    """Per-contender standing while a run goes on: latest equity, total return,
    maximum drawdown so far, bars processed and status.

    Formulas: ``total_return = equity / capital − 1``; ``max_drawdown`` is the
    largest peak-to-trough fall of equity so far as a positive fraction
    (:func:`arena.metrics.max_drawdown`), the starting capital counting as the
    first peak. The final, complete leaderboard (Sharpe, DSR, …) is the one the
    run records at its end.

    Args:
        capital_usd: starting equity of every contender (USD); None → each
            contender's first recorded equity.
        contenders: names to list from the start (with 0 bars) so a snapshot
            shows every contender before its first bar.
    """

    def __init__(self, capital_usd: float | None = None, contenders: Iterable[str] = ()) -> None:
        if capital_usd is not None and not capital_usd > 0:
            raise ValueError(f"capital_usd must be > 0 USD, got {capital_usd}")
        self._capital = capital_usd
        self._standings: dict[str, _Standing] = {}
        for name in contenders:
            self._standing(name)

    def _standing(self, name: str) -> _Standing:
        st = self._standings.get(name)
        if st is None:
            st = self._standings[name] = _Standing(self._capital, peak_usd=self._capital)
        return st

    def update(self, contender: str, bar_index: np.ndarray, ts_ns: np.ndarray, equity_usd: np.ndarray) -> None:
        """Take a contender's next equity rows (bar order).

        Args:
            contender: the contender's name.
            bar_index: int [n], 0-based bar numbers.
            ts_ns: int64 [n], bar timestamps (ns since the epoch, UTC).
            equity_usd: float [n], equity at each bar's close (USD).

        Raises:
            ValueError: if the arrays differ in length.
        """
        equity = np.asarray(equity_usd, dtype="float64")
        if not (len(bar_index) == len(ts_ns) == len(equity)):
            raise ValueError(
                f"equity rows of {contender!r}: bar_index, ts and equity lengths differ "
                f"({len(bar_index)}, {len(ts_ns)}, {len(equity)})"
            )
        if not len(equity):
            return
        st = self._standing(contender)
        if st.capital_usd is None:
            st.capital_usd = float(equity[0])
        if st.peak_usd is None:
            st.peak_usd = float(equity[0])
        finite = equity[np.isfinite(equity)]
        if len(finite):
            with np.errstate(divide="ignore", invalid="ignore"):
                dd = max_drawdown(np.concatenate([[st.peak_usd], finite])) if st.peak_usd > 0 else 0.0
            st.max_drawdown = max(st.max_drawdown, float(dd))
            st.peak_usd = max(st.peak_usd, float(finite.max()))
        st.equity_usd = float(equity[-1])
        st.bars = max(st.bars, int(bar_index[-1]) + 1)
        st.last_ts_ns = int(ts_ns[-1])

    def update_frame(self, columns: Mapping[str, Any]) -> None:
        """Take equity rows of any contenders: a DataFrame or column mapping with
        ``contender``, ``bar_index``, ``ts`` (ns) and ``equity`` (USD), as sent to the recorder."""
        names = np.asarray(columns["contender"])
        bars, ts, eq = (np.asarray(columns[k]) for k in ("bar_index", "ts", "equity"))
        for name in dict.fromkeys(names.tolist()):
            sel = names == name
            self.update(str(name), bars[sel], ts[sel], eq[sel])

    def set_status(self, contender: str, status: str, reason: str = "") -> None:
        """Record a contender's status (``ok``, ``halted``, ``suspended``, ``failed``) and why."""
        st = self._standing(contender)
        st.status, st.reason = status, reason

    def rows(self) -> list[dict[str, Any]]:
        """The standings, best total return first (ties by name; no bars yet → last):
        ``rank``, ``contender``, ``status``, ``halt_reason``, ``equity`` (USD),
        ``total_return`` and ``max_drawdown`` (fractions), ``bars``, ``ts``/``ts_ns`` of the last bar."""
        out = []
        for name, st in self._standings.items():
            ret = None
            if st.equity_usd is not None and st.capital_usd and math.isfinite(st.equity_usd):
                ret = st.equity_usd / st.capital_usd - 1.0
            out.append(
                {
                    "contender": name,
                    "status": st.status,
                    "halt_reason": st.reason,
                    "equity": st.equity_usd,
                    "total_return": ret,
                    "max_drawdown": st.max_drawdown if st.bars else None,
                    "bars": st.bars,
                    **ts_fields(st.last_ts_ns),
                }
            )
        out.sort(key=lambda r: (r["total_return"] is None, -(r["total_return"] or 0.0), r["contender"]))
        return [{"rank": i + 1, **r} for i, r in enumerate(out)]
