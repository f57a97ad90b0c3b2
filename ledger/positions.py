"""Positions and closed trades under the average-cost method.

Accounting conventions (all money in USD):

* A fill that opens or adds to a position moves its average price to the
  quantity-weighted mean of the old average and the fill price (after slippage).
* A fill that reduces a position realizes ``(fill_price - avg_price) × units``
  (times −1 for a short); the average price is unchanged. A fill larger than
  the position closes it and opens the rest on the other side at the fill price.
* Realized and unrealized PnL are price PnL: slippage is inside them (fill
  prices are slipped), commissions are not (they are counted in ``fees_paid``),
  so that ``realized + unrealized − fees = equity − starting capital``.
* One :class:`ClosedTrade` is written per position reduction. Its commission
  is the round trip's: the share of the entry commissions carried by the closed
  units (pro rata by units) plus the share of the exit fill's commission.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ledger.types import Side


@dataclass(frozen=True, slots=True)
class Position:
    """One symbol's position, marked at the last known close.

    Args:
        symbol: the instrument.
        quantity: signed units (negative = short).
        avg_price: average entry price (USD per unit, after slippage); 0.0 when flat.
        realized_pnl: price PnL realized on this symbol so far (USD, before commissions).
        unrealized_pnl: ``(last_price − avg_price) × quantity`` (USD).
        market_value: ``quantity × last_price`` (USD, signed).
        entry_ts_ns: time of the fill that opened the current position, None when flat.
    """

    symbol: str
    quantity: float
    avg_price: float
    realized_pnl: float
    unrealized_pnl: float
    market_value: float
    entry_ts_ns: int | None = None


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """One position reduction (a full or partial exit).

    Args:
        symbol: the instrument.
        side: side of the position that was reduced (BUY = a long trade, SELL = a short one).
        entry_ts_ns: time of the fill that opened the position (ns, UTC).
        exit_ts_ns: time of the reducing fill (ns, UTC).
        quantity: units closed (> 0).
        entry_price: the position's average price (USD, after slippage).
        exit_price: the reducing fill's price (USD, after slippage).
        gross_pnl: ``(exit_price − entry_price) × quantity`` (× −1 for a short), USD.
        commission: round-trip commission attributed to these units: their pro-rata
            share of the entry commissions plus of the exit fill's commission, USD.
        pnl: ``gross_pnl − commission`` (USD): the trade's net result.
        return_pct: ``pnl / (entry_price × quantity)`` as a fraction (0.05 = +5 %),
            as backtesting.py's ``ReturnPct``.
        client_order_id: the order of the reducing fill.
    """

    symbol: str
    side: Side
    entry_ts_ns: int
    exit_ts_ns: int
    quantity: float
    entry_price: float
    exit_price: float
    gross_pnl: float
    commission: float
    pnl: float
    return_pct: float
    client_order_id: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        d = asdict(self)
        d["side"] = self.side.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClosedTrade:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**d, "side": Side(d["side"])})


class PositionBook:
    """Per-symbol position arrays and the closed-trade log: the ledger's, and the one
    ``arena.report`` replays recorded fills through to rebuild the trades.

    Args:
        symbols: the ledger's symbols (array order).

    Attributes:
        qty: signed units, float64 [S].
        avg_price: average entry price, USD, float64 [S].
        realized: realized price PnL, USD, float64 [S].
        open_commission: commissions paid for the units still open, USD, float64 [S].
        entry_ts: fill time that opened each position (None when flat), list [S].
        trades: closed trades, in order.
    """

    __slots__ = ("symbols", "qty", "avg_price", "realized", "open_commission", "entry_ts", "trades")

    def __init__(self, symbols: tuple[str, ...]) -> None:
        n = len(symbols)
        self.symbols = symbols
        self.qty = np.zeros(n)
        self.avg_price = np.zeros(n)
        self.realized = np.zeros(n)
        self.open_commission = np.zeros(n)
        self.entry_ts: list[int | None] = [None] * n
        self.trades: list[ClosedTrade] = []

    def apply_fill(
        self, i: int, side: Side, quantity: float, price: float, commission: float, ts_ns: int,
        client_order_id: str,
    ) -> None:
        """Book one fill on symbol ``i``.

        Args:
            i: symbol index.
            side: BUY or SELL.
            quantity: units (> 0).
            price: fill price after slippage (USD).
            commission: the fill's commission (USD).
            ts_ns: fill time.
            client_order_id: the filled order.
        """
        pos = float(self.qty[i])
        signed = quantity if side is Side.BUY else -quantity
        if pos == 0.0 or (pos > 0.0) == (signed > 0.0):
            new = pos + signed
            if pos == 0.0:
                self.avg_price[i] = price
                self.entry_ts[i] = ts_ns
            else:
                self.avg_price[i] = (float(self.avg_price[i]) * abs(pos) + price * quantity) / abs(new)
            self.open_commission[i] += commission
            self.qty[i] = new
            return
        held = abs(pos)
        closing = min(quantity, held)
        avg = float(self.avg_price[i])
        direction = 1.0 if pos > 0.0 else -1.0
        gross = (price - avg) * closing * direction
        exit_comm = commission * (closing / quantity)
        open_comm = float(self.open_commission[i])
        entry_comm = open_comm if closing == held else open_comm * (closing / held)
        trade_comm = entry_comm + exit_comm
        pnl = gross - trade_comm
        entry_ts = self.entry_ts[i]
        assert entry_ts is not None
        self.trades.append(ClosedTrade(
            symbol=self.symbols[i], side=Side.BUY if pos > 0.0 else Side.SELL, entry_ts_ns=entry_ts,
            exit_ts_ns=ts_ns, quantity=closing, entry_price=avg, exit_price=price, gross_pnl=gross,
            commission=trade_comm, pnl=pnl, return_pct=pnl / (avg * closing), client_order_id=client_order_id,
        ))
        self.realized[i] += gross
        new = pos + signed
        if closing < held:  # partial reduction: average price unchanged
            self.open_commission[i] = open_comm - entry_comm
            self.qty[i] = new
        elif quantity > held and new != 0.0:  # reversal: the rest opens at the fill price
            self.qty[i] = new
            self.avg_price[i] = price
            self.open_commission[i] = commission - exit_comm
            self.entry_ts[i] = ts_ns
        else:  # exactly flat
            self.qty[i] = 0.0
            self.avg_price[i] = 0.0
            self.open_commission[i] = 0.0
            self.entry_ts[i] = None

    def position(self, i: int, last_price: float) -> Position:
        """Symbol ``i``'s position marked at ``last_price`` (USD; 0.0 if never priced)."""
        q = float(self.qty[i])
        avg = float(self.avg_price[i])
        mark = last_price if q != 0.0 else 0.0
        return Position(
            symbol=self.symbols[i], quantity=q, avg_price=avg, realized_pnl=float(self.realized[i]),
            unrealized_pnl=(mark - avg) * q if q != 0.0 else 0.0, market_value=q * mark,
            entry_ts_ns=self.entry_ts[i],
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able state (floats exact)."""
        return {
            "qty": self.qty.tolist(),
            "avg_price": self.avg_price.tolist(),
            "realized": self.realized.tolist(),
            "open_commission": self.open_commission.tolist(),
            "entry_ts": list(self.entry_ts),
            "trades": [t.to_dict() for t in self.trades],
        }

    @classmethod
    def from_dict(cls, symbols: tuple[str, ...], d: dict[str, Any]) -> PositionBook:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: when an array does not have one value per symbol or holds a non-finite value.
        """
        book = cls(symbols)
        for name in ("qty", "avg_price", "realized", "open_commission"):
            arr = np.asarray(d[name], dtype=np.float64)
            if arr.shape != (len(symbols),) or not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"ledger snapshot: positions.{name} must hold {len(symbols)} finite floats, got {d[name]!r}"
                )
            getattr(book, name)[:] = arr
        entry = list(d["entry_ts"])
        if len(entry) != len(symbols):
            raise ValueError(f"ledger snapshot: positions.entry_ts must hold {len(symbols)} values")
        book.entry_ts = [None if t is None else int(t) for t in entry]
        book.trades = [ClosedTrade.from_dict(t) for t in d["trades"]]
        return book


def unrealized_usd(qty: np.ndarray, avg_price: np.ndarray, last: np.ndarray) -> float:
    """Σ (last − avg) × qty over symbols (USD); symbols without a position count 0."""
    held = qty != 0.0
    return float(np.sum((last[held] - avg_price[held]) * qty[held])) if held.any() else 0.0


__all__ = ["ClosedTrade", "Position", "PositionBook", "unrealized_usd"]
