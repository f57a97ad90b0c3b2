"""Execution simulation: when an order fills against a bar, at what price, at what cost.

Every convention of the simulator lives here, as small pure functions over
scalars, so that the :class:`~ledger.ledger.Ledger` only sequences them.

Conventions (all prices in the quote currency, USD for the bundled data):

* **Fill price mode** ``next_open``: the bar is traded at its open and through
  its range. A MARKET order fills at the open. A LIMIT buy fills if
  ``low <= limit`` at ``min(open, limit)`` (a gap down below the limit fills at
  the better open); a LIMIT sell fills if ``high >= limit`` at
  ``max(open, limit)``. A STOP buy triggers if ``high >= stop`` and fills at
  ``max(open, stop)`` (a gap up through the stop fills at the worse open); a
  STOP sell triggers if ``low <= stop`` at ``min(open, stop)``. These are
  backtesting.py's conventions (``_Broker._process_orders``).
* **Fill price mode** ``next_close``: the bar is one print at its close. A
  MARKET order fills at the close; a LIMIT buy fills at the close if
  ``close <= limit`` (sell: ``close >= limit``); a STOP buy triggers and fills
  at the close if ``close >= stop`` (sell: ``close <= stop``).
* **Slippage** is adverse and proportional: a buy pays ``p * (1 + s)``, a sell
  receives ``p * (1 - s)``, with ``s = slippage_bps / 1e4``. The slipped price is
  the fill price; the USD lost to slippage is ``quantity * |p_fill - p|``.
* **Commission** is charged on the slipped notional plus a per-unit fee:
  ``quantity * p_fill * commission_bps / 1e4 + quantity * commission_per_share``
  (USD), paid from cash at the fill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ledger.types import OrderType, Side

__all__ = [
    "BPS",
    "ExecutionConfig",
    "affordable_quantity",
    "cash_delta_usd",
    "commission_usd",
    "slipped_price",
    "target_quantity",
    "trigger_price",
    "validate_bar",
]

BPS = 1e4  # basis points per unit fraction: 1 bp = 1e-4


@dataclass(frozen=True)
class ExecutionConfig:
    """How a ledger simulates execution; frozen, validated on construction.

    Args:
        fill_price: ``"next_open"`` (fill at the open of the first eligible bar,
            limit/stop through its range) or ``"next_close"`` (fill at its close).
        slippage_bps: adverse slippage, bps of the price (5.0 → a buy at 100.00
            USD pays 100.05 USD). Must be in [0, 1e4).
        commission_bps: commission, bps of the traded notional at the fill price
            (10.0 → 0.1 % → 1 USD on 1,000 USD traded). Must be in [0, 1e4).
        commission_per_share: commission, USD per unit traded (>= 0).
        max_participation: when set, a bar fills at most
            ``max_participation * bar volume`` units of one order (fraction in
            (0, 1]); the rest stays working (GTC/DAY) or is cancelled (IOC).
        latency_bars: extra bars of the order's symbol before an order becomes
            eligible (>= 0); 0 → it can fill on the symbol's next bar.
        sizing: ``"whole_shares"`` (quantities are whole units: target-weight
            quantities and caps are floored, explicit quantities must be whole)
            or ``"fractional"``.
        allow_short: when False, a sell never takes a position below 0: it is
            cut to the long position and the rest is cancelled with reason
            ``SHORT_NOT_ALLOWED``.
        margin: when False, cash may never go negative: a buy is cut to what
            cash affords (reason ``INSUFFICIENT_CASH``). When True the ledger
            does not limit borrowing; leverage limits are the risk guardian's job.

    Raises:
        ValueError: for a value outside the ranges above, naming the field.
    """

    fill_price: Literal["next_open", "next_close"] = "next_open"
    slippage_bps: float = 0.0
    commission_bps: float = 0.0
    commission_per_share: float = 0.0
    max_participation: float | None = None
    latency_bars: int = 0
    sizing: Literal["whole_shares", "fractional"] = "whole_shares"
    allow_short: bool = False
    margin: bool = False

    def __post_init__(self) -> None:
        if self.fill_price not in ("next_open", "next_close"):
            raise ValueError(
                f"ExecutionConfig.fill_price must be 'next_open' or 'next_close', got {self.fill_price!r}"
            )
        if self.sizing not in ("whole_shares", "fractional"):
            raise ValueError(
                f"ExecutionConfig.sizing must be 'whole_shares' or 'fractional', got {self.sizing!r}"
            )
        for name in ("slippage_bps", "commission_bps"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v < BPS):
                raise ValueError(f"ExecutionConfig.{name} must be a number in [0, 10000) bps, got {v!r}")
        cps = self.commission_per_share
        if not (isinstance(cps, (int, float)) and 0.0 <= cps < math.inf):
            raise ValueError(
                f"ExecutionConfig.commission_per_share must be a finite USD amount >= 0, got {cps!r}"
            )
        mp = self.max_participation
        if mp is not None and not (isinstance(mp, (int, float)) and 0.0 < mp <= 1.0):
            raise ValueError(
                f"ExecutionConfig.max_participation must be None or a fraction in (0, 1], got {mp!r}"
            )
        lb = self.latency_bars
        if not (isinstance(lb, int) and not isinstance(lb, bool) and lb >= 0):
            raise ValueError(f"ExecutionConfig.latency_bars must be an int >= 0 bars, got {lb!r}")
        for name in ("allow_short", "margin"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"ExecutionConfig.{name} must be a bool, got {getattr(self, name)!r}")

    @property
    def whole_shares(self) -> bool:
        """True when quantities are whole units."""
        return self.sizing == "whole_shares"

    @property
    def slippage(self) -> float:
        """Slippage as a fraction (``slippage_bps / 1e4``)."""
        return self.slippage_bps / BPS

    @property
    def commission_rate(self) -> float:
        """Commission as a fraction of notional (``commission_bps / 1e4``)."""
        return self.commission_bps / BPS


def trigger_price(
    order_type: OrderType,
    side: Side,
    limit_price: float | None,
    stop_price: float | None,
    open_: float,
    high: float,
    low: float,
    close: float,
    fill_price: Literal["next_open", "next_close"],
) -> float | None:
    """The price (before slippage) an order fills at on this bar, or None.

    Args:
        order_type: MARKET, LIMIT or STOP.
        side: BUY or SELL.
        limit_price: the LIMIT price (USD), else unused.
        stop_price: the STOP price (USD), else unused.
        open_, high, low, close: the bar (USD).
        fill_price: ``"next_open"`` or ``"next_close"`` (see the module docstring).

    Returns:
        The fill price before slippage (USD), or None when a LIMIT is not
        reached or a STOP not triggered on this bar.
    """
    buy = side is Side.BUY
    if fill_price == "next_close":
        if order_type is OrderType.MARKET:
            return close
        if order_type is OrderType.LIMIT:
            assert limit_price is not None
            return close if (close <= limit_price if buy else close >= limit_price) else None
        assert stop_price is not None
        return close if (close >= stop_price if buy else close <= stop_price) else None
    if order_type is OrderType.MARKET:
        return open_
    if order_type is OrderType.LIMIT:
        assert limit_price is not None
        if buy:
            return min(open_, limit_price) if low <= limit_price else None
        return max(open_, limit_price) if high >= limit_price else None
    assert stop_price is not None
    if buy:
        return max(open_, stop_price) if high >= stop_price else None
    return min(open_, stop_price) if low <= stop_price else None


def slipped_price(price: float, side: Side, slippage: float) -> float:
    """Fill price after adverse slippage: ``p * (1 + s)`` for a buy, ``p * (1 - s)`` for a sell.

    Args:
        price: price before slippage (USD).
        side: BUY or SELL.
        slippage: fraction (``slippage_bps / 1e4``).
    """
    return price * (1.0 + slippage) if side is Side.BUY else price * (1.0 - slippage)


def commission_usd(quantity: float, fill_price: float, config: ExecutionConfig) -> float:
    """Commission of one fill: ``q * p_fill * commission_bps / 1e4 + q * commission_per_share`` (USD).

    Args:
        quantity: units filled (> 0).
        fill_price: the slipped fill price (USD).
        config: the execution model.
    """
    return quantity * fill_price * config.commission_rate + quantity * config.commission_per_share


def cash_delta_usd(side: Side, quantity: float, fill_price: float, commission: float) -> float:
    """Change of cash from one fill (USD): ``-(q * p + c)`` for a buy, ``q * p - c`` for a sell."""
    if side is Side.BUY:
        return -(quantity * fill_price + commission)
    return quantity * fill_price - commission


def affordable_quantity(cash: float, side: Side, fill_price: float, config: ExecutionConfig) -> float:
    """The most units a fill may have so that cash stays >= 0 (used without margin).

    The cash used per unit is ``p_fill * (1 + commission_bps/1e4) + commission_per_share``
    for a buy and ``p_fill * (commission_bps/1e4 - 1) + commission_per_share`` for a
    sell (negative, i.e. a sell raises cash, unless fees exceed the price). The
    result is floored to whole units with ``whole_shares`` sizing and then
    lowered, one unit (or one ulp, fractional) at a time, until the exact
    floating-point cash change of :func:`cash_delta_usd` leaves cash >= 0.

    Args:
        cash: available cash (USD, >= 0).
        side: BUY or SELL.
        fill_price: the slipped fill price (USD).
        config: the execution model.

    Returns:
        Units (>= 0); ``math.inf`` when a fill of any size leaves cash >= 0.
    """
    rate, cps = config.commission_rate, config.commission_per_share
    per_unit = fill_price * (1.0 + rate) + cps if side is Side.BUY else fill_price * (rate - 1.0) + cps
    if per_unit <= 0.0:
        return math.inf
    q = max(cash, 0.0) / per_unit
    whole = config.whole_shares
    if whole:
        q = float(math.floor(q))
    steps = 0
    while q > 0.0 and cash + cash_delta_usd(side, q, fill_price, commission_usd(q, fill_price, config)) < 0.0:
        steps += 1
        if whole:
            q -= 1.0
        else:  # a few ulps of rounding; shrink faster if that is not enough
            q = math.nextafter(q, 0.0) if steps <= 8 else q * (1.0 - 1e-12)
    return max(q, 0.0)


def validate_bar(symbol: str, ts_ns: int, open_: float, high: float, low: float, close: float,
                 volume: float) -> None:
    """Check one symbol's OHLCV bar before an order is evaluated against it.

    Args:
        symbol: for the message.
        ts_ns: the bar's time, for the message.
        open_, high, low, close: prices (USD): finite, > 0, ``low <= min(open, close)``
            and ``high >= max(open, close)``.
        volume: units traded: finite, >= 0.

    Raises:
        ValueError: naming the symbol, the bar time and the field at fault.
    """
    for name, x in (("open", open_), ("high", high), ("low", low), ("close", close)):
        if not (0.0 < x < math.inf):
            raise ValueError(
                f"bar ts_ns={ts_ns} symbol {symbol!r}: {name} must be a finite price > 0 USD, got {x!r}"
            )
    if not (0.0 <= volume < math.inf):
        raise ValueError(
            f"bar ts_ns={ts_ns} symbol {symbol!r}: volume must be a finite number >= 0 units, got {volume!r}"
        )
    if low > min(open_, close) or high < max(open_, close):
        raise ValueError(
            f"bar ts_ns={ts_ns} symbol {symbol!r}: inconsistent OHLC (open={open_!r}, high={high!r}, "
            f"low={low!r}, close={close!r}); expected low <= min(open, close) and high >= max(open, close)"
        )


def target_quantity(
    target_weight: float, side: Side, price: float, position: float, equity_usd: float, config: ExecutionConfig
) -> float:
    """Units a target-weight order trades on ``side`` when it fills at ``price``.

    With ``w`` the target weight (signed fraction of equity), ``E`` the equity
    marked at the fill prices and ``V = position × price``:

    * buy: ``q = (w·E − V) / (price·(1 + slippage_bps/1e4)·(1 + commission_bps/1e4) + commission_per_share)``,
      so that ``w = 1`` from flat spends exactly the cash at the price actually
      paid, costs included (backtesting.py sizes ``buy(size=fraction)`` the same
      way: ``margin_available × fraction // (adjusted price + commission per unit)``);
    * sell: ``q = (V − w·E) / price`` (a sell needs no cash);
    * ``w = 0`` closes the position exactly: ``q = |position|`` on the closing side.

    ``q`` is floored to whole units with ``whole_shares`` sizing.

    Args:
        target_weight: ``w``, finite.
        side: the side the order would trade on.
        price: fill price before slippage (USD).
        position: current signed position (units).
        equity_usd: ``E`` (USD).
        config: the execution model.

    Returns:
        Units to trade on ``side`` (>= 0); 0.0 when there is nothing to do on that
        side (the target is reached, or lies on the other side).
    """
    if target_weight == 0.0:
        closing = position > 0.0 if side is Side.SELL else position < 0.0
        return abs(position) if closing else 0.0
    diff = target_weight * equity_usd - position * price
    if side is Side.BUY:
        unit_cost = price * (1.0 + config.slippage) * (1.0 + config.commission_rate) + config.commission_per_share
        q = diff / unit_cost
    else:
        q = -diff / price
    if config.whole_shares:
        q = float(math.floor(q))
    return q if q > 0.0 else 0.0
