"""The portfolio state a contender sends with each vetting request."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.orders import NS_PER_DAY

__all__ = ["NS_PER_DAY", "PortfolioState"]

"""Nanoseconds in one UTC day (timestamps are ns since the Unix epoch, UTC)."""


@dataclass(frozen=True, slots=True)
class PortfolioState:
    """One contender's portfolio at the decision bar, as the risk guardian sees it.

    Plain data, cheap to pickle (the contender actor sends one with every ``vet``).

    Args:
        contender: the contender's unique name (non-empty).
        ts_ns: decision bar timestamp, ns since the Unix epoch, UTC.
        equity: USD, marked at the decision bar's close (cash + Σ units × price).
        cash: USD (may be negative with margin).
        peak_equity: USD, running maximum of equity, including this bar (> 0, >= equity).
        day_start_equity: USD, equity at the close of the last bar of the previous
            UTC day (the starting capital on the first day).
        positions: units per symbol (signed: negative = short). Symbols not named
            are flat. Copied into a plain ``dict``.
        prices: reference price per symbol (last close), USD per unit, > 0. Must
            cover every symbol with a non-zero position. Copied into a plain ``dict``.
        recent_returns: the last ``<= sharpe_window_bars`` simple bar returns of
            equity (fraction; 0.01 → +1 %), oldest first. Lists are turned into tuples.
        margin: True when the ledger trades on margin (cash may go negative).
        can_rollback: True when the contender has a previous model checkpoint it can
            roll back to (a learned contender after its second training); read by
            :class:`arena.risk.rules.SharpeRollback`.
        bar_index: 0-based index of the decision bar in the run, or None when the
            caller does not count bars; rules with a cooldown in bars need it.
        pending: the contender's working orders, per symbol ``(buy units, sell units)``
            they may still trade (both >= 0; a target-weight order counts the units it
            would trade at the reference price): the caps count them as if they filled
            (see :func:`arena.risk.proposal.project`), and the cash check sets aside the
            cash of the pending buys. Empty when nothing is working.

    Raises:
        ValueError: naming the field (and symbol or index), when a value is
            missing, of the wrong type, not finite or out of range.
    """

    contender: str
    ts_ns: int
    equity: float
    cash: float
    peak_equity: float
    day_start_equity: float
    positions: Mapping[str, float] = field(default_factory=dict)
    prices: Mapping[str, float] = field(default_factory=dict)
    recent_returns: tuple[float, ...] = ()
    margin: bool = False
    can_rollback: bool = False
    bar_index: int | None = None
    pending: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.contender, str) or not self.contender:
            raise ValueError(f"PortfolioState.contender must be a non-empty name, got {self.contender!r}")
        who = f"PortfolioState({self.contender!r})"
        if isinstance(self.ts_ns, bool) or not isinstance(self.ts_ns, numbers.Integral):
            raise ValueError(f"{who}.ts_ns must be an int (ns since epoch, UTC), got {self.ts_ns!r}")
        object.__setattr__(self, "ts_ns", int(self.ts_ns))
        for name in ("equity", "cash", "peak_equity", "day_start_equity"):
            _check_finite(who, name, getattr(self, name))
        if not self.peak_equity > 0:
            raise ValueError(f"{who}.peak_equity must be > 0 USD, got {self.peak_equity!r}")
        if self.peak_equity < self.equity:
            raise ValueError(
                f"{who}.peak_equity ({self.peak_equity!r}) must be >= equity ({self.equity!r}): "
                "it is the running maximum of equity including this bar"
            )
        if not isinstance(self.margin, bool):
            raise ValueError(f"{who}.margin must be True or False, got {self.margin!r}")
        if not isinstance(self.can_rollback, bool):
            raise ValueError(f"{who}.can_rollback must be True or False, got {self.can_rollback!r}")
        if self.bar_index is not None:
            if isinstance(self.bar_index, bool) or not isinstance(self.bar_index, numbers.Integral) \
                    or self.bar_index < 0:
                raise ValueError(f"{who}.bar_index must be an int >= 0 or None, got {self.bar_index!r}")
            object.__setattr__(self, "bar_index", int(self.bar_index))
        positions = _as_dict(who, "positions", self.positions)
        prices = _as_dict(who, "prices", self.prices)
        for sym, units in positions.items():
            _check_finite(who, f"positions[{sym!r}]", units)
        for sym, px in prices.items():
            _check_finite(who, f"prices[{sym!r}]", px)
            if not px > 0:
                raise ValueError(f"{who}.prices[{sym!r}] must be > 0 USD, got {px!r}")
        for sym, units in positions.items():
            if units != 0 and sym not in prices:
                raise ValueError(
                    f"{who}.prices lacks {sym!r}, which has a position of {units} units: "
                    "every held symbol needs a reference price"
                )
        returns = tuple(self.recent_returns)
        if not _all_finite_floats(returns):  # the common case in one pass; else name the bad one
            for i, r in enumerate(returns):
                _check_finite(who, f"recent_returns[{i}]", r)
        pending = _as_dict(who, "pending", self.pending)
        for sym, pair in pending.items():
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ValueError(f"{who}.pending[{sym!r}] must be (buy units, sell units), got {pair!r}")
            for side, units in zip(("buy", "sell"), pair, strict=True):
                _check_finite(who, f"pending[{sym!r}] {side} units", units)
                if units < 0:
                    raise ValueError(f"{who}.pending[{sym!r}] {side} units must be >= 0, got {units!r}")
            if sym not in prices:
                raise ValueError(f"{who}.prices lacks {sym!r}, which has working orders: it needs a reference price")
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "prices", prices)
        object.__setattr__(self, "recent_returns", returns)
        object.__setattr__(self, "pending", pending)

    @classmethod
    def trusted(
        cls, contender: str, ts_ns: int, equity: float, cash: float, peak_equity: float, day_start_equity: float,
        positions: dict[str, float], prices: dict[str, float], recent_returns: tuple[float, ...] = (),
        margin: bool = False, can_rollback: bool = False, bar_index: int | None = None,
        pending: dict[str, tuple[float, float]] | None = None,
    ) -> PortfolioState:
        """A state built from values that already hold the invariants above, without
        checking them again: for the arena's bar loop, which builds the state from its
        own ledger (finite USD amounts, prices > 0, plain dicts, a tuple of Python
        floats). Anything else should use the checked constructor."""
        self = object.__new__(cls)
        for name, value in (
            ("contender", contender), ("ts_ns", ts_ns), ("equity", equity), ("cash", cash),
            ("peak_equity", peak_equity), ("day_start_equity", day_start_equity), ("positions", positions),
            ("prices", prices), ("recent_returns", recent_returns), ("margin", margin),
            ("can_rollback", can_rollback), ("bar_index", bar_index), ("pending", pending or {}),
        ):
            object.__setattr__(self, name, value)
        return self

    def pending_weights(self, symbol: str) -> tuple[float, float]:
        """``(buy, sell)`` weight of the symbol's working orders (fractions of equity, >= 0)."""
        pair = self.pending.get(symbol) if self.pending else None
        if pair is None:
            return 0.0, 0.0
        scale = self.prices[symbol] / self.equity
        return pair[0] * scale, pair[1] * scale

    @property
    def drawdown(self) -> float:
        """Drawdown from peak equity, fraction: ``1 − equity / peak_equity`` (0 at a new high)."""
        return 1.0 - self.equity / self.peak_equity

    @property
    def daily_loss(self) -> float:
        """Loss since the start of the UTC day, fraction: ``1 − equity / day_start_equity``.

        Negative on a winning day; 0.0 when ``day_start_equity <= 0`` (no meaningful base).
        """
        if self.day_start_equity <= 0:
            return 0.0
        return 1.0 - self.equity / self.day_start_equity

    @property
    def utc_day(self) -> int:
        """Index of the UTC day of ``ts_ns`` (days since 1970-01-01)."""
        return self.ts_ns // NS_PER_DAY


def _all_finite_floats(values: tuple[Any, ...]) -> bool:
    """True when every value is a Python float and finite (one pass, no per-item call)."""
    if not values:
        return True
    try:
        return set(map(type, values)) == {float} and math.isfinite(sum(values))
    except TypeError:
        return False


def _check_finite(who: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{who}.{name} must be a finite number, got {value!r}")


def _as_dict(who: str, name: str, value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{who}.{name} must be a mapping symbol → number, got {type(value).__name__}")
    out: dict[str, float] = {}
    for key, v in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{who}.{name} keys must be non-empty symbol strings, got {key!r}")
        out[key] = v
    return out
