"""Risk limits: the frozen configuration of the risk guardian.

All limits are fractions of equity unless their name says otherwise
(``0.25`` → 25 % of equity; ``max_gross_leverage=1.5`` → 150 % gross exposure).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["RiskLimits"]


ON_HALT = ("flatten", "freeze")
"""What a drawdown halt does to the halted contender's positions (``RiskLimits.on_halt``)."""


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits the risk guardian enforces on every contender.

    Args:
        max_position_weight: cap on ``|projected weight|`` per symbol (fraction of
            equity, > 0; 1.0 → at most 100 % of equity in one symbol, long or short).
            An order that would exceed it is SCALED down to the cap
            (``MAX_POSITION_WEIGHT``).
        max_gross_leverage: cap on ``Σ|projected weights|`` across all symbols
            (fraction of equity, > 0; 1.0 → no leverage). Exceeding it SCALES every
            exposure-increasing order of the decision by one common factor
            (``MAX_GROSS_LEVERAGE``).
        require_cash: when True and the portfolio has no margin, the decision's buys
            (priced as in :class:`arena.risk.rules.CashSufficiency`, costs included)
            must not take cash below 0 (``INSUFFICIENT_CASH``): covers of shorts are
            paid first and the exposure-increasing buys SCALED down by one common
            factor, DENIED if nothing fits; when the covers cannot all be paid, every
            exposure increase is DENIED and the covers are SCALED down.
        max_drawdown: per-contender kill switch, fraction in (0, 1]: once
            ``1 − equity / peak_equity >= max_drawdown`` the contender is halted for
            good (until an operator releases it): exposure-increasing orders are
            DENIED (``MAX_DRAWDOWN``), reductions pass. 1.0 turns it off.
        daily_loss_limit: fraction in (0, 1] or None (off): once
            ``1 − equity / day_start_equity >= daily_loss_limit`` exposure-increasing
            orders are DENIED until the next UTC day (``DAILY_LOSS_LIMIT``).
        sharpe_floor: annualized Sharpe ratio (any finite number) or None (off):
            when the rolling Sharpe of the last ``sharpe_window_bars`` bar returns is
            below it, exposure-increasing orders are SCALED by ``sharpe_scale``
            (``SHARPE_FLOOR``).
        sharpe_window_bars: rolling Sharpe window in bars, integer >= 2.
        sharpe_scale: factor in (0, 1] applied under the Sharpe floor (0.5 → half size).
        sharpe_rollback: when True (needs ``sharpe_floor``), a contender under the
            Sharpe floor that can roll back to a previous model checkpoint
            (``PortfolioState.can_rollback``) is also told to: its exposure-increasing
            verdicts carry ``SHARPE_ROLLBACK`` and ``details["rollback"] = True``, and
            the arena restores its previous checkpoint. At most once per
            ``sharpe_window_bars`` bars per contender (cooldown: the window then holds
            only returns made after the rollback). See :class:`arena.risk.rules.SharpeRollback`.
        periods_per_year: bars per year for annualizing the Sharpe ratio, > 0
            (252 for daily equity bars, 365 for daily crypto bars).
        estimated_cost_bps: slippage + commission estimate used by the cash check,
            in basis points of notional, >= 0 (10 → 0.1 %).
        on_halt: what happens to the positions of a contender the drawdown kill switch
            halts: ``"flatten"`` (default) closes every one of them, on the bar of the
            halt, with a target-weight 0 order per symbol that fills at the next fill
            (a recorded decision ``<run>/<contender>/<bar>/flatten`` whose explanation is
            the ``MAX_DRAWDOWN`` breach); ``"freeze"`` keeps them (only increases are
            denied from then on).

    Raises:
        ValueError: naming the field, when a value is out of range or of the wrong type.

    Example:
        >>> RiskLimits(max_position_weight=0.25, daily_loss_limit=0.05).max_gross_leverage
        1.0
    """

    max_position_weight: float = 1.0
    max_gross_leverage: float = 1.0
    require_cash: bool = True
    max_drawdown: float = 1.0
    daily_loss_limit: float | None = None
    sharpe_floor: float | None = None
    sharpe_window_bars: int = 63
    sharpe_scale: float = 0.5
    sharpe_rollback: bool = False
    periods_per_year: float = 252.0
    estimated_cost_bps: float = 0.0
    on_halt: str = "flatten"

    def __post_init__(self) -> None:
        _positive("max_position_weight", self.max_position_weight, self)
        _positive("max_gross_leverage", self.max_gross_leverage, self)
        if not isinstance(self.require_cash, bool):
            raise ValueError(
                f"RiskLimits.require_cash must be True or False, got {self.require_cash!r}"
            )
        _fraction("max_drawdown", self.max_drawdown, self)
        if self.daily_loss_limit is not None:
            _fraction("daily_loss_limit", self.daily_loss_limit, self)
        if self.sharpe_floor is not None:
            _finite("sharpe_floor", self.sharpe_floor, self, "an annualized Sharpe ratio")
        w = self.sharpe_window_bars
        if isinstance(w, bool) or not isinstance(w, int) or w < 2:
            raise ValueError(
                f"RiskLimits.sharpe_window_bars must be an integer number of bars >= 2, got {w!r}"
            )
        _fraction("sharpe_scale", self.sharpe_scale, self)
        if not isinstance(self.sharpe_rollback, bool):
            raise ValueError(f"RiskLimits.sharpe_rollback must be True or False, got {self.sharpe_rollback!r}")
        if self.sharpe_rollback and self.sharpe_floor is None:
            raise ValueError(
                "RiskLimits.sharpe_rollback needs a sharpe_floor (an annualized Sharpe ratio, e.g. 0.0): "
                "the rollback is triggered by the rolling Sharpe falling below it"
            )
        _positive("periods_per_year", self.periods_per_year, self, "bars per year, 252 for daily bars")
        _finite("estimated_cost_bps", self.estimated_cost_bps, self, "basis points >= 0")
        if self.estimated_cost_bps < 0:
            raise ValueError(
                "RiskLimits.estimated_cost_bps must be >= 0 basis points (10 → 0.1 %), "
                f"got {self.estimated_cost_bps!r}"
            )

        if self.on_halt not in ON_HALT:
            raise ValueError(f"RiskLimits.on_halt must be one of {', '.join(ON_HALT)}, got {self.on_halt!r}")

    @property
    def drawdown_enabled(self) -> bool:
        """True when the drawdown kill switch is on (``max_drawdown < 1``)."""
        return self.max_drawdown < 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (field → value), the inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskLimits:
        """Build limits from a mapping (a parsed YAML section), strictly.

        Args:
            data: field name → value; missing fields take their defaults.

        Returns:
            The validated limits.

        Raises:
            ValueError: on an unknown key (with a did-you-mean hint) or a bad value.
        """
        names = [f.name for f in fields(cls)]
        for key in data:
            if key not in names:
                hint = difflib.get_close_matches(str(key), names, n=1)
                extra = f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {', '.join(names)}"
                raise ValueError(f"RiskLimits: unknown key {key!r}{extra}")
        return cls(**dict(data))


def _finite(name: str, value: Any, _limits: RiskLimits, expected: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"RiskLimits.{name} must be a finite number ({expected}), got {value!r}")
    if isinstance(value, int):
        object.__setattr__(_limits, name, float(value))


def _positive(
    name: str, value: Any, limits: RiskLimits, unit: str = "fraction of equity, 1.0 = 100 %"
) -> None:
    _finite(name, value, limits, "> 0")
    if not value > 0:
        raise ValueError(f"RiskLimits.{name} must be > 0 ({unit}), got {value!r}")


def _fraction(name: str, value: Any, limits: RiskLimits) -> None:
    _finite(name, value, limits, "a fraction in (0, 1]")
    if not 0.0 < value <= 1.0:
        raise ValueError(f"RiskLimits.{name} must be a fraction in (0, 1] (0.2 → 20 %), got {value!r}")
