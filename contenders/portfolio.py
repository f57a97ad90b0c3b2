"""A contender's read-only, past-only view of its own portfolio."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ledger.types import WorkingOrder

__all__ = ["Portfolio"]


class _LedgerLike(Protocol):
    symbols: tuple[str, ...]

    @property
    def cash(self) -> float: ...
    @property
    def equity(self) -> float: ...
    @property
    def quantities(self) -> np.ndarray: ...
    def weights(self) -> np.ndarray: ...
    def working_orders(self) -> list[WorkingOrder]: ...


class Portfolio:
    """Read-only view of a contender's virtual portfolio at the current bar.

    Values are as marked at the current bar's close; nothing here can change
    the ledger. ``equity_curve`` holds the equity (USD) at every past bar close,
    shape ``[n]``, the last value being the current equity.
    """

    __slots__ = ("_ledger", "_curve", "_n")

    def __init__(self, ledger: _LedgerLike, equity_curve: np.ndarray, n: int) -> None:
        self._ledger = ledger
        self._curve = equity_curve
        self._n = n

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols of the portfolio (order of the array properties)."""
        return self._ledger.symbols

    @property
    def cash(self) -> float:
        """Cash, USD."""
        return self._ledger.cash

    @property
    def equity(self) -> float:
        """Cash plus positions marked to market at the current close, USD."""
        return self._ledger.equity

    @property
    def quantities(self) -> np.ndarray:
        """Signed position per symbol, units, float64 [S] (read-only copy)."""
        q = np.array(self._ledger.quantities, dtype=float)
        q.flags.writeable = False
        return q

    @property
    def positions(self) -> dict[str, float]:
        """Non-zero positions, symbol → signed units."""
        return {s: float(q) for s, q in zip(self._ledger.symbols, self._ledger.quantities) if q != 0}

    @property
    def weights(self) -> dict[str, float]:
        """Position market value / equity per symbol (signed fraction), every symbol."""
        return {s: float(w) for s, w in zip(self._ledger.symbols, self._ledger.weights())}

    @property
    def equity_curve(self) -> np.ndarray:
        """Equity at each bar close so far, USD, float64 [n] (read-only)."""
        v = self._curve[: self._n].view()
        v.flags.writeable = False
        return v

    @property
    def working_orders(self) -> tuple[WorkingOrder, ...]:
        """This contender's orders still working (resting limits and stops, GTC orders, orders
        waiting out a latency), in submission order; cancel one with
        ``Decision(cancel=[order.client_order_id])``."""
        return tuple(self._ledger.working_orders())
