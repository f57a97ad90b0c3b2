"""Risk rules: small objects with one ``check`` method each.

A rule looks at the contender's portfolio (``ctx.state``) and the decision's
proposals (:class:`~arena.risk.proposal.Proposal`, projected at the reference
prices and already cut by the rules before it) and returns one
:class:`RuleOutcome` per proposal: the fraction of the proposal's change it lets
through (1.0 passes, 0.0 denies) and the values that decided.

Rules that guard against *adding* risk (kill switches, weight, leverage and
Sharpe rules) only ever cut the exposure-increasing part of an order: a pure
reduction always passes, and a flip (long → short) can at most be cut back to
flat. Only :class:`CashSufficiency` scales reductions (a buy to cover a short
needs cash too), and only when it also denies every increase of the decision,
so that a rule may count on the decision's reductions when it lets an
increase through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple, Protocol, runtime_checkable

from arena.risk.context import RuleContext
from arena.risk.limits import RiskLimits
from arena.risk.proposal import Proposal
from arena.risk.sharpe import annualized_sharpe
from arena.risk.state import NS_PER_DAY, PortfolioState
from ledger.types import OrderType

__all__ = [
    "PASS",
    "ArenaKillSwitch",
    "CashSufficiency",
    "DailyLossLimit",
    "MaxDrawdownKill",
    "MaxGrossLeverage",
    "MaxPositionWeight",
    "RiskRule",
    "RollingSharpeFloor",
    "RuleOutcome",
    "SharpeRollback",
    "default_rules",
]

WEIGHT_TOLERANCE = 1e-9
"""Weights (fractions of equity) within this of a limit count as at the limit."""


class RuleOutcome(NamedTuple):
    """A rule's answer for one proposal.

    Attributes:
        scale: fraction of the proposal's change the rule lets through, in [0, 1]
            (1.0 passes, 0.0 denies).
        details: the values that decided (name → finite float), merged into the verdict.
        signal: True for an outcome that tells rather than cuts: the rule's code and
            details go into the verdict even when ``scale`` is 1.0 (e.g.
            ``SHARPE_ROLLBACK``).
    """

    scale: float = 1.0
    details: Mapping[str, float] = MappingProxyType({})
    signal: bool = False


PASS = RuleOutcome()
"""The outcome of a rule that does not act."""


@runtime_checkable
class RiskRule(Protocol):
    """A risk rule: a reason ``code`` and one ``check`` method.

    ``check`` returns one outcome per proposal, in the same order. It is called
    on every ``vet``, even with no proposals, so a rule can set latches
    (``ctx.latch``) on every bar. It must be deterministic and must not raise
    for any valid state.
    """

    code: str

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> Sequence[RuleOutcome]:
        """One outcome per proposal."""
        ...


def _cut_increases(proposals: Sequence[Proposal], details: Mapping[str, float]) -> list[RuleOutcome]:
    """Deny the exposure-increasing part of every proposal (flips go to flat)."""
    return [RuleOutcome(p.reduce_fraction, details) if p.increases else PASS for p in proposals]


class ArenaKillSwitch:
    """The arena-wide kill switch (``ARENA_KILL_SWITCH``).

    While an operator has it tripped, every exposure-increasing order of every
    contender is DENIED; reductions pass so that positions can still be
    flattened, and a flip is cut back to flat (SCALE).
    """

    code = "ARENA_KILL_SWITCH"

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Cut increases while ``ctx.kill_switch_active``."""
        if not ctx.kill_switch_active:
            return [PASS] * len(proposals)
        return _cut_increases(proposals, {"kill_switch_active": 1.0})


class MaxDrawdownKill:
    """Per-contender drawdown kill switch (``MAX_DRAWDOWN``).

    Once ``drawdown = 1 − equity / peak_equity >= max_drawdown`` (within 1e-12)
    on any vetted bar, the contender is halted for good: a permanent latch is set
    (event ``CONTENDER_HALTED``) and every later exposure-increasing order is
    DENIED, even after equity recovers; reductions pass. Only
    ``RiskGuardian.release_contender`` lifts it.

    Args:
        max_drawdown: fraction in (0, 1]; 1.0 turns the rule off.
    """

    code = "MAX_DRAWDOWN"

    def __init__(self, max_drawdown: float) -> None:
        self.max_drawdown = RiskLimits(max_drawdown=max_drawdown).max_drawdown

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Latch on breach; cut increases while latched."""
        limit = self.max_drawdown
        drawdown = ctx.state.drawdown
        if limit < 1.0 and drawdown >= limit - 1e-12:
            ctx.latch(self.code, f"MAX_DRAWDOWN: drawdown {drawdown:.4f} >= max_drawdown {limit:.4f}")
        if ctx.latched(self.code) is None:
            return [PASS] * len(proposals)
        return _cut_increases(proposals, {"drawdown": drawdown, "max_drawdown": limit})


class DailyLossLimit:
    """Daily loss limit (``DAILY_LOSS_LIMIT``).

    Once ``daily_loss = 1 − equity / day_start_equity >= daily_loss_limit``
    (within 1e-12), exposure-increasing orders are DENIED for the rest of that
    UTC day, even if equity recovers meanwhile (a latch until the next UTC
    midnight, event ``CONTENDER_SUSPENDED``); reductions pass. On the next UTC
    day the loss is measured against that day's start.

    Args:
        daily_loss_limit: fraction in (0, 1] (0.05 → stop adding risk after a 5 % loss).
    """

    code = "DAILY_LOSS_LIMIT"

    def __init__(self, daily_loss_limit: float) -> None:
        RiskLimits(daily_loss_limit=daily_loss_limit)  # validates
        self.daily_loss_limit = float(daily_loss_limit)

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Latch until the next UTC day on breach; cut increases while latched."""
        state = ctx.state
        limit = self.daily_loss_limit
        loss = state.daily_loss
        if loss >= limit - 1e-12:
            next_day_ns = (state.ts_ns // NS_PER_DAY + 1) * NS_PER_DAY
            ctx.latch(
                self.code,
                f"DAILY_LOSS_LIMIT: daily loss {loss:.4f} >= daily_loss_limit {limit:.4f}",
                until_ts_ns=next_day_ns,
            )
        if ctx.latched(self.code) is None:
            return [PASS] * len(proposals)
        return _cut_increases(proposals, {"daily_loss": loss, "daily_loss_limit": limit})


class MaxPositionWeight:
    """Cap on the weight of one symbol (``MAX_POSITION_WEIGHT``).

    An exposure-increasing order whose projected ``|weight|`` exceeds the cap is
    SCALED so that it lands on the cap (long or short); one that starts at or
    beyond the cap on the same side is DENIED. Reductions pass.

    Args:
        max_position_weight: cap on ``|weight|``, fraction of equity, > 0.
    """

    code = "MAX_POSITION_WEIGHT"

    def __init__(self, max_position_weight: float) -> None:
        self.max_position_weight = RiskLimits(max_position_weight=max_position_weight).max_position_weight

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Scale each increase down to the cap."""
        cap = self.max_position_weight
        out: list[RuleOutcome] = []
        for p in proposals:
            w1 = p.projected_weight
            if abs(w1) <= cap + WEIGHT_TOLERANCE or not p.increases:
                out.append(PASS)
                continue
            base = abs(p.increase_base)
            keep = (cap - base) / (abs(w1) - base) if base < cap else 0.0
            out.append(RuleOutcome(p.scale_for_increase(keep),
                                   {"projected_weight": w1, "max_position_weight": cap}))
        return out


class MaxGrossLeverage:
    """Cap on gross leverage ``Σ|weight|`` over all symbols (``MAX_GROSS_LEVERAGE``).

    The projected gross leverage counts every held symbol without an order at
    its current weight (with working orders: at the larger exposure they could
    leave) and every ordered symbol at its projected weight. When it
    exceeds the cap, the exposure-increasing parts of all the decision's orders
    are SCALED by one common factor ``k = (cap − gross without them) / Σ added
    exposure`` (DENIED when nothing fits, ``k = 0``). Reductions pass whole and
    count at their projected weight.

    Args:
        max_gross_leverage: cap on ``Σ|weight|``, fraction of equity, > 0.
    """

    code = "MAX_GROSS_LEVERAGE"

    def __init__(self, max_gross_leverage: float) -> None:
        self.max_gross_leverage = RiskLimits(max_gross_leverage=max_gross_leverage).max_gross_leverage

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Scale all increases by one factor so that gross leverage fits."""
        added = 0.0
        fixed = 0.0
        ordered = set()
        for p in proposals:
            ordered.add(p.request.symbol)
            if p.increases:
                added += p.added_exposure
                fixed += abs(p.increase_base)
            else:
                fixed += abs(p.projected_weight)
        if added <= 0.0:
            return [PASS] * len(proposals)
        state = ctx.state
        prices = state.prices
        for sym, units in state.positions.items():
            if sym not in ordered and units and sym not in state.pending:
                fixed += abs(units * prices[sym]) / state.equity
        for sym in state.pending:  # a symbol with working orders counts at its worst case
            if sym not in ordered:
                w = state.positions.get(sym, 0.0) * prices[sym] / state.equity
                buys, sells = state.pending_weights(sym)
                fixed += max(abs(w + buys), abs(w - sells))
        cap = self.max_gross_leverage
        gross = fixed + added
        if gross <= cap + WEIGHT_TOLERANCE:
            return [PASS] * len(proposals)
        keep = max(cap - fixed, 0.0) / added
        details = {"projected_gross_leverage": gross, "max_gross_leverage": cap}
        return [RuleOutcome(p.scale_for_increase(keep), details) if p.increases else PASS
                for p in proposals]


class RollingSharpeFloor:
    """Size cut when the contender's recent Sharpe ratio is poor (``SHARPE_FLOOR``).

    The annualized Sharpe ratio of the last ``window_bars`` bar returns of
    equity (:func:`arena.risk.sharpe.annualized_sharpe`, risk-free rate 0) below
    ``floor`` SCALES the exposure-increasing part of every order by ``scale``.
    Inactive until ``window_bars`` returns are available, and when the ratio is
    undefined (flat equity).

    Args:
        floor: annualized Sharpe ratio, finite.
        window_bars: returns in the window, >= 2.
        scale: factor in (0, 1].
        periods_per_year: bars per year for annualizing, > 0.
    """

    code = "SHARPE_FLOOR"

    def __init__(self, floor: float, window_bars: int = 63, scale: float = 0.5,
                 periods_per_year: float = 252.0) -> None:
        lim = RiskLimits(sharpe_floor=floor, sharpe_window_bars=window_bars, sharpe_scale=scale,
                         periods_per_year=periods_per_year)  # validates
        self.floor = float(floor)
        self.window_bars = lim.sharpe_window_bars
        self.scale = lim.sharpe_scale
        self.periods_per_year = lim.periods_per_year

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Scale increases while the rolling Sharpe is below the floor."""
        passing = [PASS] * len(proposals)
        returns = ctx.state.recent_returns
        if len(returns) < self.window_bars or not any(p.increases for p in proposals):
            return passing
        sharpe = annualized_sharpe(returns[-self.window_bars:], self.periods_per_year)
        if sharpe is None or sharpe >= self.floor:
            return passing
        details = {"rolling_sharpe": sharpe, "sharpe_floor": self.floor, "sharpe_scale": self.scale}
        return [RuleOutcome(p.scale_for_increase(self.scale), details) if p.increases else PASS
                for p in proposals]


class SharpeRollback:
    """Roll a learned contender back to its previous checkpoint when its recent
    Sharpe ratio is poor (``SHARPE_ROLLBACK``).

    Same trigger as :class:`RollingSharpeFloor` (the annualized Sharpe of the last
    ``window_bars`` bar returns below ``floor``, with a full window and at least one
    exposure-increasing proposal), and only for a contender that reports
    ``state.can_rollback`` (it has a previous checkpoint). It does not cut: it
    *signals* on every exposure-increasing proposal (the verdict gets the reason
    code and ``details["rollback"] = True``, besides the Sharpe floor's scaling),
    and the arena then calls the contender's ``rollback()``.

    Cooldown: at most once per ``window_bars`` bars per contender (the rule marks
    the bar; ``state.bar_index`` is required, a state without it never signals), so
    that the rolled-back model is judged on a window of its own returns.

    Args:
        floor: annualized Sharpe ratio, finite.
        window_bars: returns in the window and cooldown in bars, >= 2.
        periods_per_year: bars per year for annualizing, > 0.
    """

    code = "SHARPE_ROLLBACK"

    def __init__(self, floor: float, window_bars: int = 63, periods_per_year: float = 252.0) -> None:
        lim = RiskLimits(sharpe_floor=floor, sharpe_window_bars=window_bars,
                         periods_per_year=periods_per_year)  # validates
        self.floor = float(floor)
        self.window_bars = lim.sharpe_window_bars
        self.periods_per_year = lim.periods_per_year

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Signal a rollback on the increases while under the floor, outside the cooldown."""
        passing = [PASS] * len(proposals)
        state = ctx.state
        if not state.can_rollback or state.bar_index is None or not any(p.increases for p in proposals):
            return passing
        last = ctx.marked_at(self.code)
        if last is not None and 0 <= state.bar_index - last < self.window_bars:
            return passing
        returns = state.recent_returns
        if len(returns) < self.window_bars:
            return passing
        sharpe = annualized_sharpe(returns[-self.window_bars:], self.periods_per_year)
        if sharpe is None or sharpe >= self.floor:
            return passing
        ctx.mark(self.code)
        details = {"rollback": True, "rolling_sharpe": sharpe, "sharpe_floor": self.floor}
        return [RuleOutcome(1.0, details, signal=True) if p.increases else PASS for p in proposals]


class CashSufficiency:
    """Buys must be paid for (``INSUFFICIENT_CASH``); off when the portfolio has margin.

    ``available = cash − working buys + Σ MARKET sell proceeds × (1 − c)`` pays for
    the buys (the working buys, ``PortfolioState.pending``, cost their units × the
    reference price × ``(1 + c)``: their cash is set aside),
    each costing its change in units × price × ``(1 + c)``, with
    ``c = estimated_cost_bps / 10 000``. The price is the reference price for
    target-weight and MARKET orders, the limit price for an explicit LIMIT buy
    (the most it pays), ``max(reference, stop)`` for an explicit STOP buy. LIMIT
    and STOP sells may not fill on the bar, so their proceeds are not counted.

    **Reductions are paid first.** The buys that cover a short (down to flat;
    the first part of a short → long flip) are paid before the buys that add
    exposure, because the other rules count on reductions passing whole (a
    cover makes room under :class:`MaxGrossLeverage`):

    * when ``available`` pays for every cover, the covers pass whole and the
      exposure-increasing part of every buy is SCALED by one common factor
      ``(available − cover cost) / increasing buy cost`` (DENIED when that is
      <= 0); a short → long flip keeps its cover;
    * when it does not, no exposure may be added in the decision: the
      exposure-increasing part of every order is DENIED, short sales included
      (a long → short flip is cut back to flat), and the covers are SCALED by
      one common factor ``(cash + proceeds of the reducing sells) / cover
      cost`` (DENIED when that is <= 0; a short → long flip keeps only its
      scaled cover).

    So this rule lets an exposure increase through only when every reduction
    of the decision passes whole. Keep it last in a rule set: a rule after it that cut
    a sell would remove proceeds it counted on (``default_rules`` puts it last).

    Args:
        estimated_cost_bps: slippage + commission estimate, bps of notional, >= 0.
    """

    code = "INSUFFICIENT_CASH"

    def __init__(self, estimated_cost_bps: float = 0.0) -> None:
        self.estimated_cost_bps = RiskLimits(estimated_cost_bps=estimated_cost_bps).estimated_cost_bps

    def check(self, ctx: RuleContext, proposals: Sequence[Proposal]) -> list[RuleOutcome]:
        """Pay for the covers first, then the increasing buys; deny every increase
        when the covers cannot all be paid."""
        state = ctx.state
        passing = [PASS] * len(proposals)
        if state.margin:
            return passing
        cost = self.estimated_cost_bps / 10_000.0
        covers = 0.0  # cost of the buys' reducing parts
        adds = 0.0  # cost of the buys' exposure-increasing parts
        proceeds = 0.0  # MARKET sells
        reducing_proceeds = 0.0  # their reducing parts
        for p in proposals:
            units = p.delta_units
            req = p.request
            rf = p.reduce_fraction
            if units > 0.0:
                price = p.price
                if req.quantity is not None and req.type is OrderType.LIMIT:
                    price = req.limit_price or price
                elif req.quantity is not None and req.type is OrderType.STOP:
                    price = max(price, req.stop_price or price)
                buy = units * price * (1.0 + cost)
                covers += rf * buy
                adds += (1.0 - rf) * buy
            elif units < 0.0 and req.type is OrderType.MARKET:
                sale = -units * p.price * (1.0 - cost)
                proceeds += sale
                reducing_proceeds += rf * sale
        buys = covers + adds
        reserved = _reserved_cash(state, 1.0 + cost)
        available = state.cash - reserved + proceeds
        projected = available - buys
        if buys <= 0.0 or projected >= -1e-9 * max(1.0, buys):
            return passing
        details = {"cash": state.cash, "buy_cost": buys, "cover_cost": covers,
                   "sell_proceeds": proceeds, "projected_cash": projected}
        if reserved:
            details["reserved_cash"] = reserved
        if adds > 0.0 and covers <= max(available, 0.0) + 1e-9 * max(1.0, covers):  # covers paid
            keep = (available - covers) / adds
            return [RuleOutcome(p.scale_for_increase(keep), details)
                    if p.delta_units > 0.0 and p.increases else PASS for p in proposals]
        keep = max(state.cash + reducing_proceeds, 0.0) / covers
        out: list[RuleOutcome] = []
        for p in proposals:
            if p.delta_units > 0.0:  # a cover, an increasing buy, or a short → long flip
                out.append(RuleOutcome(keep * p.reduce_fraction, details))
            elif p.increases:  # a short sale, or a long → short flip: cut back to flat
                out.append(RuleOutcome(p.reduce_fraction, details))
            else:
                out.append(PASS)
        return out


def default_rules(limits: RiskLimits) -> list[RiskRule]:
    """The rule set for ``limits``, in the order the guardian applies it.

    Kill switches first (arena, drawdown, daily loss), then the caps (position
    weight, gross leverage), the Sharpe size cut and the rollback signal, and cash
    last (a hard limit on what is left). Rules that are off (``max_drawdown == 1``,
    ``daily_loss_limit`` or ``sharpe_floor`` None, ``sharpe_rollback`` or
    ``require_cash`` False) are left out.

    Args:
        limits: the guardian's limits.

    Returns:
        A new list of rule objects.
    """
    rules: list[RiskRule] = [ArenaKillSwitch()]
    if limits.drawdown_enabled:
        rules.append(MaxDrawdownKill(limits.max_drawdown))
    if limits.daily_loss_limit is not None:
        rules.append(DailyLossLimit(limits.daily_loss_limit))
    rules.append(MaxPositionWeight(limits.max_position_weight))
    rules.append(MaxGrossLeverage(limits.max_gross_leverage))
    if limits.sharpe_floor is not None:
        rules.append(RollingSharpeFloor(limits.sharpe_floor, limits.sharpe_window_bars,
                                        limits.sharpe_scale, limits.periods_per_year))
        if limits.sharpe_rollback:
            rules.append(SharpeRollback(limits.sharpe_floor, limits.sharpe_window_bars, limits.periods_per_year))
    if limits.require_cash:
        rules.append(CashSufficiency(limits.estimated_cost_bps))
    return rules


def _reserved_cash(state: PortfolioState, per_usd: float) -> float:
    """USD the working buys of ``state`` would spend at the reference prices, costs included."""
    if not state.pending:
        return 0.0
    return sum(buys * state.prices[sym] for sym, (buys, _sells) in state.pending.items()) * per_usd
