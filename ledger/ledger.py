"""The virtual portfolio ledger: one per contender, driven bar by bar.

A :class:`Ledger` holds cash, positions and working orders for a fixed list of
symbols and simulates their execution against OHLCV bars (conventions in
:mod:`ledger.execution`, accounting in :mod:`ledger.positions`). It is plain
Python + numpy and deterministic: no randomness, no wall clock.

The bar loop, as a contender actor or a gymnasium environment runs it::

    fills = ledger.on_bar(ts_ns, open, high, low, close, volume)  # fill, then mark at close
    events = ledger.drain_events()
    ...decide on the bar's close...
    ledger.submit(OrderRequest("MSFT", target_weight=1.0), ts_ns)  # fills on a later bar

Timing: an order submitted at bar t (``ts_ns`` of bar t, after ``on_bar`` of t)
is first eligible on the ``1 + latency_bars``-th later bar of its symbol
(bars where the symbol's close is NaN do not count). On that bar the DAY
clock starts: a DAY order still working when a bar of a later UTC day arrives
is EXPIRED (``DAY_END``) before that bar is traded.

Within one bar, eligible orders are tried sells first, then buys (each group
in submission order), so that a rebalance frees cash before it spends it. A
target-weight order without a side takes the side of its trade at the bar's
fill-reference prices, and is resolved into units once, when it first
triggers; a remainder left by the participation cap keeps that quantity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ledger.execution import (
    ExecutionConfig, affordable_quantity, cash_delta_usd, commission_usd, slipped_price, target_quantity,
    trigger_price, validate_bar,
)
from ledger.orders import NS_PER_DAY, Order, _OrderState, Reason
from ledger.positions import ClosedTrade, Position, PositionBook, unrealized_usd
from ledger.snapshot import restore_from, snapshot_of
from ledger.types import Fill, OrderEvent, OrderRequest, OrderStatus, OrderType, Side, TimeInForce, WorkingOrder

__all__ = ["Ledger", "closes_ok"]

_INF = math.inf


def closes_ok(close: np.ndarray) -> bool:
    """True when every close of a block of bars (float64 [T, S]) is NaN (no bar) or a
    finite price > 0: then :meth:`Ledger.on_bar` may skip its per-bar check
    (``checked=True``). When False, feed the bars unchecked: the ledger names the bad one."""
    c = np.asarray(close, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isnan(c) | ((c > 0.0) & (c < _INF))))


class Ledger:
    """Cash, positions and working orders of one virtual portfolio, with an execution simulator.

    Args:
        symbols: the tradable symbols; every array in and out of the ledger is
            ``float64 [S]`` in this order. Unique, non-empty strings.
        capital_usd: starting cash (USD, finite, > 0).
        execution: the execution model (fill price, costs, caps, sizing, shorting, margin).
        order_id_prefix: prefix of the ids this ledger assigns
            (``client_order_id = f"{order_id_prefix}{n}"``, n = 1, 2, …).

    Raises:
        ValueError: for empty or duplicate symbols or a capital that is not finite and > 0.

    Invariants after every bar: ``cash + Σ market values = equity``; no fill exceeds
    its order's remaining quantity; ``cash >= 0`` without margin; and
    ``realized_pnl + unrealized_pnl − fees_paid = equity − starting_capital``
    (slippage is inside realized/unrealized PnL because fill prices are slipped;
    its USD amount per fill is ``Fill.slippage``).

    Example:
        >>> led = Ledger(["MSFT"], 10_000.0)
        >>> oid = led.submit(OrderRequest("MSFT", Side.BUY, quantity=10), ts_ns=0)
        >>> led.on_bar(86_400 * 10**9, [100.0], [101.0], [99.0], [100.5], [1e6])[0].price
        100.0
    """

    def __init__(
        self,
        symbols: Sequence[str],
        capital_usd: float,
        execution: ExecutionConfig = ExecutionConfig(),
        order_id_prefix: str = "",
    ) -> None:
        syms = tuple(symbols)
        if not syms or not all(isinstance(s, str) and s for s in syms):
            raise ValueError(f"Ledger symbols must be a non-empty sequence of non-empty strings, got {symbols!r}")
        if len(set(syms)) != len(syms):
            dup = sorted({s for s in syms if syms.count(s) > 1})
            raise ValueError(f"Ledger symbols must be unique; duplicated: {dup}")
        if not (isinstance(capital_usd, (int, float)) and 0.0 < capital_usd < _INF):
            raise ValueError(f"Ledger capital_usd must be a finite amount > 0 USD, got {capital_usd!r}")
        if not isinstance(execution, ExecutionConfig):
            raise TypeError(f"Ledger execution must be an ExecutionConfig, got {type(execution).__name__}")
        self.symbols: tuple[str, ...] = syms
        self.execution = execution
        self.starting_capital = float(capital_usd)
        self.order_id_prefix = str(order_id_prefix)
        self._index = {s: i for i, s in enumerate(syms)}
        self._shape = (len(syms),)
        self._set_book(PositionBook(syms))
        self._last = np.zeros(len(syms))  # last close, USD; 0.0 = never had a bar
        self._zeros = np.zeros(len(syms))
        self._infs = np.full(len(syms), np.inf)
        self._cash = self.starting_capital
        self._equity = self.starting_capital
        self._fees = 0.0
        self._last_ts: int | None = None
        self._next_number = 1
        self._working: dict[str, _OrderState] = {}
        self._events: list[OrderEvent] = []

    # ------------------------------------------------------------------ state
    @property
    def cash(self) -> float:
        """Cash, USD (>= 0 without margin)."""
        return self._cash

    @property
    def equity(self) -> float:
        """Cash plus positions marked at the last close, USD (as of the last bar)."""
        return self._equity

    @property
    def quantities(self) -> np.ndarray:
        """Signed position per symbol, units, float64 [S] (read-only view; it follows the ledger)."""
        return self._qty_ro

    @property
    def last_prices(self) -> np.ndarray:
        """Last close per symbol, USD, float64 [S] (a copy; NaN for a symbol that never had a bar)."""
        return np.where(self._last > 0.0, self._last, np.nan)

    @property
    def fees_paid(self) -> float:
        """Commissions paid so far, USD."""
        return self._fees

    @property
    def realized_pnl(self) -> float:
        """Realized price PnL (average cost; before commissions, after slippage), USD."""
        return float(self._book.realized.sum())

    @property
    def unrealized_pnl(self) -> float:
        """Σ (last close − average price) × quantity, USD."""
        return unrealized_usd(self._qty, self._book.avg_price, self._last)

    @property
    def gross_exposure_usd(self) -> float:
        """Σ |quantity × last close|, USD (0.0 when flat)."""
        if self._flat:
            return 0.0
        return float(np.abs(self._qty * self._last).sum())

    @property
    def is_flat(self) -> bool:
        """True when every position is 0 units."""
        return self._flat

    @property
    def last_ts_ns(self) -> int | None:
        """Time of the last bar seen (ns, UTC), None before the first."""
        return self._last_ts

    def market_values(self) -> np.ndarray:
        """Signed market value per symbol, ``quantity × last close``, USD, float64 [S]."""
        return self._qty * self._last

    def weights(self) -> np.ndarray:
        """Market value / equity per symbol (signed fraction), float64 [S]; NaN where equity is 0."""
        mv = self._qty * self._last
        return mv / self._equity if self._equity != 0.0 else np.full(self._shape, np.nan)

    def positions(self) -> dict[str, Position]:
        """Every symbol's :class:`~ledger.positions.Position` (flat ones included), in symbol order."""
        return {s: self._book.position(i, float(self._last[i])) for i, s in enumerate(self.symbols)}

    def open_orders(self) -> list[Order]:
        """Working orders (ACCEPTED / PARTIALLY_FILLED), in submission order, as frozen copies."""
        return [o.to_order() for o in self._working.values()]

    def is_working(self, client_order_id: str) -> bool:
        """True while the order is working (ACCEPTED / PARTIALLY_FILLED)."""
        return client_order_id in self._working

    def closed_trades(self) -> list[ClosedTrade]:
        """One :class:`~ledger.positions.ClosedTrade` per position reduction, in order (a copy).

        ``pnl`` is net of the round-trip commission attributed to the closed
        units (entry share + exit share); ``gross_pnl`` is before commissions.
        """
        return list(self._book.trades)

    @property
    def has_events(self) -> bool:
        """True when there are order lifecycle events to drain."""
        return bool(self._events)

    def drain_events(self) -> list[OrderEvent]:
        """Order lifecycle events since the last drain, in the order they happened."""
        out, self._events = self._events, []
        return out

    # ----------------------------------------------------------------- orders
    def submit(self, request: OrderRequest, ts_ns: int) -> str:
        """Submit an order; it is tried from the symbol's ``1 + latency_bars``-th next bar.

        Emits NEW, then ACCEPTED, or REJECTED with a :class:`~ledger.orders.Reason`
        (``UNKNOWN_SYMBOL``, ``INVALID_QUANTITY``, ``FRACTIONAL_QUANTITY``,
        ``INVALID_PRICE``, ``INVALID_TARGET_WEIGHT``, ``SIDE_REQUIRED``).

        Args:
            request: the order.
            ts_ns: decision time (ns, UTC), normally the ``ts_ns`` of the last bar.

        Returns:
            The assigned ``client_order_id`` (also for a rejected order).

        Raises:
            TypeError: if ``request`` is not an OrderRequest.
            ValueError: if ``ts_ns`` is before the last bar seen.
        """
        if not isinstance(request, OrderRequest):
            raise TypeError(f"Ledger.submit expects an OrderRequest, got {type(request).__name__}")
        ts = int(ts_ns)
        if self._last_ts is not None and ts < self._last_ts:
            raise ValueError(f"Ledger.submit: ts_ns={ts} is before the last bar seen (ts_ns={self._last_ts})")
        oid = f"{self.order_id_prefix}{self._next_number}"
        self._next_number += 1
        self._events.append(OrderEvent(oid, request.symbol, OrderStatus.NEW, ts))
        reason = self._rejection(request)
        if reason is not None:
            self._events.append(OrderEvent(oid, request.symbol, OrderStatus.REJECTED, ts, 0.0, reason.value))
            return oid
        state = _OrderState(oid, self._index[request.symbol], request, ts, 1 + self.execution.latency_bars)
        self._working[oid] = state
        self._events.append(OrderEvent(oid, request.symbol, OrderStatus.ACCEPTED, ts))
        return oid

    def _rejection(self, r: OrderRequest) -> Reason | None:
        if r.symbol not in self._index:
            return Reason.UNKNOWN_SYMBOL
        if r.quantity is not None:
            if not (0.0 < r.quantity < _INF):
                return Reason.INVALID_QUANTITY
            if self.execution.whole_shares and r.quantity != math.floor(r.quantity):
                return Reason.FRACTIONAL_QUANTITY
        if r.target_weight is not None and not math.isfinite(r.target_weight):
            return Reason.INVALID_TARGET_WEIGHT
        used = {OrderType.MARKET: (), OrderType.LIMIT: ("limit_price",), OrderType.STOP: ("stop_price",)}[r.type]
        for name in ("limit_price", "stop_price"):
            price = getattr(r, name)
            if (price is not None and name not in used) or (name in used and not (0.0 < price < _INF)):
                return Reason.INVALID_PRICE
        if r.target_weight is not None and r.type is not OrderType.MARKET and r.side is None:
            return Reason.SIDE_REQUIRED
        return None

    def working_orders(self) -> list[WorkingOrder]:
        """The orders still working (ACCEPTED / PARTIALLY_FILLED), in submission order."""
        return [
            WorkingOrder(o.client_order_id, o.request, o.remaining, o.filled, o.submitted_ts_ns)
            for o in self._working.values()
        ]

    def pending_units(self, prices: np.ndarray) -> dict[str, tuple[float, float]]:
        """Per symbol with working orders: ``(buy units, sell units)`` they may still trade,
        both >= 0 — the remaining units of an explicit order, and for a target-weight order
        the units it would trade at ``prices`` (float64 [S], USD; e.g. the last closes)
        from the position held now. Symbols without a price > 0 are left out.

        Returns:
            symbol → (buy units, sell units); empty when nothing is working.
        """
        out: dict[str, list[float]] = {}
        if not self._working:
            return {}
        equity = self.equity
        for o in self._working.values():
            r = o.request
            price = float(prices[o.index])
            if not price > 0.0:  # no reference price yet: nothing to weigh it against
                continue
            pair = out.setdefault(r.symbol, [0.0, 0.0])
            if o.remaining is not None:
                side = o.side if o.side is not None else r.side
                pair[0 if side is Side.BUY else 1] += float(o.remaining)
                continue
            if r.target_weight is None:
                continue
            delta = r.target_weight * equity / price - float(self._qty[o.index])
            pair[0 if delta > 0 else 1] += abs(delta)
        return {sym: (b, s) for sym, (b, s) in out.items()}

    def cancel(self, client_order_id: str, ts_ns: int) -> bool:
        """Cancel a working order (event CANCELLED, reason ``CANCEL_REQUESTED``).

        Args:
            client_order_id: the id :meth:`submit` returned.
            ts_ns: time of the request (ns, UTC).

        Returns:
            True if the order was working and is now cancelled; False if the id is
            unknown or the order already ended (nothing changes then).
        """
        o = self._working.get(client_order_id)
        if o is None:
            return False
        self._end(o, OrderStatus.CANCELLED, Reason.CANCEL_REQUESTED, int(ts_ns))
        return True

    def _end(self, o: _OrderState, status: OrderStatus, reason: Reason, ts: int) -> None:
        o.status = status
        del self._working[o.client_order_id]
        self._events.append(OrderEvent(o.client_order_id, o.request.symbol, status, ts, o.filled, reason.value))

    # -------------------------------------------------------------------- bar
    def on_bar(
        self, ts_ns: int, open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike,  # noqa: A002
        volume: ArrayLike, *, checked: bool = False,
    ) -> list[Fill]:
        """Trade working orders against one bar, then mark positions to its close.

        A symbol has a bar when its close is not NaN; its other fields are then
        checked (finite, ``low <= open, close <= high``, volume >= 0) when an
        order is tried against it. Symbols without a bar keep their last close.

        Args:
            ts_ns: bar time (ns since the epoch, UTC), strictly increasing.
            open, high, low, close: prices, USD, float64 [S] in ``symbols`` order; NaN = no bar.
            volume: units traded, float64 [S].
            checked: the caller has already checked that every array is float64 [S]
                and every close is NaN or a finite price > 0 (e.g. a whole chunk of
                bars at once, see :func:`closes_ok`); the per-bar checks are skipped.

        Returns:
            The fills on this bar, in execution order (sells first).

        Raises:
            ValueError: for a non-increasing ``ts_ns``, an array that is not [S], a
                close that is not NaN or a finite price > 0, or an inconsistent bar
                of a symbol with a working order (the ledger is left unchanged).
        """
        ts = int(ts_ns)
        if self._last_ts is not None and ts <= self._last_ts:
            raise ValueError(f"Ledger.on_bar: ts_ns={ts} must be after the previous bar's ts_ns={self._last_ts}")
        c: np.ndarray
        if checked:
            # the caller guarantees float64 [S] ndarrays (``checked``), which ArrayLike cannot say
            c = close  # type: ignore[assignment]
            has_bar = c == c
        else:
            c = self._row(close, "close", ts)
            has_bar = c == c
            ok = c > self._zeros  # comparing with arrays, not Python floats, halves the cost
            ok &= c < self._infs
            if np.count_nonzero(ok) != np.count_nonzero(has_bar):
                i = int(np.flatnonzero(has_bar & ~ok)[0])
                raise ValueError(f"bar ts_ns={ts} symbol {self.symbols[i]!r}: close must be NaN (no bar) "
                                 f"or a finite price > 0 USD, got {float(c[i])!r}")
        fills: list[Fill] = []
        if self._working:
            if checked:
                fills = self._trade(ts, has_bar, open, high, low, c, volume)  # type: ignore[arg-type]  # ndarrays, as above
            else:
                fills = self._trade(ts, has_bar, self._row(open, "open", ts), self._row(high, "high", ts),
                                    self._row(low, "low", ts), c, self._row(volume, "volume", ts))
            if fills:
                self._flat = not self._qty.any()
        np.copyto(self._last, c, where=has_bar)
        # flat: equity is the cash (Σ 0 × price); no dot product needed
        self._equity = self._cash if self._flat else self._cash + float(self._qty.dot(self._last))
        self._last_ts = ts
        return fills

    @property
    def has_working_orders(self) -> bool:
        """True while an order is working (ACCEPTED / PARTIALLY_FILLED)."""
        return bool(self._working)

    def mark(self, ts_ns: int, close: ArrayLike, *, checked: bool = False) -> None:
        """A bar for a ledger with no working order: mark positions to its close (what
        :meth:`on_bar` does then; the other fields of the bar are not needed).

        Raises:
            ValueError: while an order is working (use :meth:`on_bar`), or as
                :meth:`on_bar` for the timestamp and the close.
        """
        if self._working:
            raise ValueError("Ledger.mark: orders are working; they need the whole bar (on_bar)")
        # no working order: on_bar reads only the close
        self.on_bar(ts_ns, None, None, None, close, None, checked=checked)  # type: ignore[arg-type]

    def project_marks(
        self, ts_ns: np.ndarray, close: np.ndarray, *, gaps: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Several bars for a ledger with no working order, in one step: the marks
        :meth:`mark` would make bar by bar, with the same arithmetic (so the same equity to
        the last bit), computed without making them; :meth:`commit_marks` then takes the
        ledger to one of those bars.

        Args:
            ts_ns: int64 [T], strictly increasing, after the last bar seen.
            close: float64 [T, S], every close NaN or a finite price > 0 (checked by the
                caller, see :func:`closes_ok`).
            gaps: False when no close is NaN (every symbol has every bar): faster.

        Returns:
            ``(equity, gross_exposure, last prices)``: float64 [T] and [T] (USD at each
            bar's close) and [T, S] (the last close of each symbol at each bar).

        Raises:
            ValueError: while an order is working, or for a first timestamp that is not
                after the last bar seen.
        """
        if self._working:
            raise ValueError("Ledger.project_marks: orders are working; they need the whole bar (on_bar)")
        t = len(ts_ns)
        if t == 0:
            return np.zeros(0), np.zeros(0), np.zeros((0, len(self.symbols)))
        if self._last_ts is not None and int(ts_ns[0]) <= self._last_ts:
            raise ValueError(f"Ledger.project_marks: ts_ns={int(ts_ns[0])} must be after the previous bar's "
                             f"ts_ns={self._last_ts}")
        if gaps:  # last close per bar: the bar's close where it has one, else the last one before
            rows = np.where(~np.isnan(close), np.arange(t)[:, None], -1)
            np.maximum.accumulate(rows, axis=0, out=rows)
            last = np.where(rows >= 0, close[np.maximum(rows, 0), np.arange(close.shape[1])], self._last)
        else:
            last = close
        if self._flat:
            return np.full(t, self._cash), np.zeros(t), last
        qty = self._qty
        if len(qty) == 1:  # one symbol: cash + q × price, exactly as the dot product of one element
            equity = self._cash + last[:, 0] * float(qty[0])
        else:  # BLAS's dot product per bar, as on_bar computes it
            equity = np.array([self._cash + float(qty.dot(row)) for row in last])
        return equity, np.abs(last * qty).sum(axis=1), last

    def commit_marks(self, ts_ns: int, last_prices: np.ndarray, equity: float) -> None:
        """Take the state :meth:`project_marks` computed for a bar (its timestamp, last prices
        [S] and equity) as the ledger's last bar.

        Raises:
            ValueError: while an order is working.
        """
        if self._working:
            raise ValueError("Ledger.commit_marks: orders are working")
        self._last[:] = last_prices
        self._equity = float(equity)
        self._last_ts = int(ts_ns)

    def _row(self, x: ArrayLike, name: str, ts: int) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if a.shape != self._shape:
            raise ValueError(f"bar ts_ns={ts}: {name} must be float64 [{len(self.symbols)}] in symbol order "
                             f"{self.symbols}, got shape {a.shape}")
        return a

    def _trade(self, ts: int, has_bar: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
               v: np.ndarray) -> list[Fill]:
        for i in sorted({w.index for w in self._working.values() if has_bar[w.index]}):
            validate_bar(self.symbols[i], ts, float(o[i]), float(h[i]), float(lo[i]), float(c[i]), float(v[i]))
        day = ts // NS_PER_DAY
        for w in list(self._working.values()):
            if w.expiry_day is not None and day > w.expiry_day:
                self._end(w, OrderStatus.EXPIRED, Reason.DAY_END, ts)
        eligible: list[_OrderState] = []
        for w in self._working.values():
            if has_bar[w.index]:
                if w.wait_bars > 0:
                    w.wait_bars -= 1
                if w.wait_bars == 0:
                    eligible.append(w)
        if not eligible:
            return []
        ref = o if self.execution.fill_price == "next_open" else c
        marks = np.where(has_bar, ref, self._last)  # prices at which a target weight sees equity
        sells: list[tuple[_OrderState, Side]] = []
        buys: list[tuple[_OrderState, Side]] = []
        for w in eligible:
            side = w.side if w.side is not None else self._target_direction(w, marks)
            (sells if side is Side.SELL else buys).append((w, side))
        fills: list[Fill] = []
        for w, side in sells + buys:
            i = w.index
            fill = self._try(w, side, ts, day, float(o[i]), float(h[i]), float(lo[i]), float(c[i]), float(v[i]),
                             marks)
            if fill is not None:
                fills.append(fill)
        return fills

    def _target_direction(self, w: _OrderState, marks: np.ndarray) -> Side:
        """BUY/SELL for a target-weight order without a side, at the bar's reference prices."""
        i = w.index
        weight = w.request.target_weight
        assert weight is not None
        equity = self._cash + float(self._qty.dot(marks))
        return Side.SELL if weight * equity - float(self._qty[i]) * float(marks[i]) < 0.0 else Side.BUY

    def _resolve_target(self, w: _OrderState, side: Side, price: float, marks: np.ndarray) -> float:
        """Units a target-weight order trades at ``price`` (before slippage), per
        :func:`~ledger.execution.target_quantity`, with equity
        ``E = cash + Σ quantity × mark`` where the marks are this bar's
        fill-reference prices (open or close), ``price`` for the order's own
        symbol and the last close for symbols without a bar."""
        i = w.index
        weight = w.request.target_weight
        assert weight is not None
        m = marks[i]
        marks[i] = price
        equity = self._cash + float(self._qty.dot(marks))
        marks[i] = m
        return target_quantity(weight, side, price, float(self._qty[i]), equity, self.execution)

    def _try(self, w: _OrderState, side: Side, ts: int, day: int, o: float, h: float, lo: float, c: float, v: float,
             marks: np.ndarray) -> Fill | None:
        """Try one eligible order against its symbol's bar; at most one fill."""
        cfg = self.execution
        r = w.request
        ioc = r.time_in_force is TimeInForce.IOC
        if r.time_in_force is TimeInForce.DAY and w.expiry_day is None:
            w.expiry_day = day
        price = trigger_price(r.type, side, r.limit_price, r.stop_price, o, h, lo, c, cfg.fill_price)
        if price is None:
            if ioc:
                self._end(w, OrderStatus.CANCELLED, Reason.IOC_REMAINDER, ts)
            return None
        if w.remaining is None:
            units = self._resolve_target(w, side, price, marks)
            if units <= 0.0:
                self._end(w, OrderStatus.CANCELLED, Reason.NOTHING_TO_DO, ts)
                return None
            w.side, w.quantity, w.remaining = side, units, units
        q = w.remaining
        assert q is not None
        if cfg.max_participation is not None:
            cap = cfg.max_participation * v
            q = min(q, float(math.floor(cap)) if cfg.whole_shares else cap)
        cut: Reason | None = None
        i = w.index
        if side is Side.SELL and not cfg.allow_short:
            held = max(float(self._qty[i]), 0.0)
            if held < q:
                q, cut = held, Reason.SHORT_NOT_ALLOWED
        fill_price = slipped_price(price, side, cfg.slippage)
        if not cfg.margin:
            affordable = affordable_quantity(self._cash, side, fill_price, cfg)
            if affordable < q:
                q, cut = affordable, Reason.INSUFFICIENT_CASH
        fill = self._fill(w, side, q, price, fill_price, ts) if q > 0.0 else None
        if w.remaining:  # still working
            if cut is not None:
                status = OrderStatus.REJECTED if w.filled == 0.0 else OrderStatus.CANCELLED
                self._end(w, status, cut, ts)
            elif ioc:
                self._end(w, OrderStatus.CANCELLED, Reason.IOC_REMAINDER, ts)
        return fill

    def _fill(self, w: _OrderState, side: Side, q: float, price: float, fill_price: float, ts: int) -> Fill:
        """Book ``q`` units (<= the order's remaining quantity) at ``fill_price``; emit the event."""
        cfg = self.execution
        commission = commission_usd(q, fill_price, cfg)
        self._cash += cash_delta_usd(side, q, fill_price, commission)
        self._fees += commission
        i = w.index
        self._book.apply_fill(i, side, q, fill_price, commission, ts, w.client_order_id)
        assert w.remaining is not None and 0.0 < q <= w.remaining
        w.remaining = 0.0 if q == w.remaining else w.remaining - q
        w.filled += q
        w.fill_notional += q * fill_price
        sym = w.request.symbol
        if w.remaining == 0.0:
            w.status = OrderStatus.FILLED
            del self._working[w.client_order_id]
        else:
            w.status = OrderStatus.PARTIALLY_FILLED
        self._events.append(OrderEvent(w.client_order_id, sym, w.status, ts, w.filled))
        return Fill(w.client_order_id, sym, side, q, fill_price, commission, ts, q * abs(fill_price - price))

    # --------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, Any]:
        """The whole state as plain JSON-able types (see :func:`ledger.snapshot.snapshot_of`).

        Floats stay Python floats, so a ``json.dumps``/``json.loads`` round trip
        (which uses ``repr``) keeps them exact; no value is NaN or infinite.
        """
        return snapshot_of(self)

    @classmethod
    def restore(cls, snapshot: dict[str, Any]) -> Ledger:
        """Rebuild a ledger from :meth:`snapshot`; it then behaves bar for bar like the original.

        Args:
            snapshot: a dict from :meth:`snapshot` (possibly through JSON).

        Raises:
            ValueError: for another format, a missing key or an inconsistent value, naming it.
        """
        return restore_from(cls, snapshot)

    def _set_book(self, book: PositionBook) -> None:
        """Swap in a position book (used by restore); keeps the read-only views in step."""
        self._book = book
        self._qty = book.qty
        self._flat = not book.qty.any()
        self._qty_ro = book.qty.view()
        self._qty_ro.flags.writeable = False
