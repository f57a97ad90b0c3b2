"""Risk guardian: every order a contender wants is vetted here before it reaches
that contender's ledger (plain Python; the arena wraps :class:`RiskGuardian` in a
Ray actor).

* :class:`RiskLimits` — the frozen limits (fractions of equity).
* :class:`PortfolioState` — what a contender sends with each request.
* :class:`RiskGuardian` — ``vet(state, requests) -> list[RiskVerdict]``, the
  arena-wide kill switch, per-contender halts, events and snapshots.
* :class:`RiskVerdict` / :class:`Action` — ALLOW, SCALE or DENY with reason codes.
* :mod:`arena.risk.rules` — the rules, one small object each.

Reason codes: ``ARENA_KILL_SWITCH``, ``MAX_DRAWDOWN``, ``DAILY_LOSS_LIMIT``,
``MAX_POSITION_WEIGHT``, ``MAX_GROSS_LEVERAGE``, ``SHARPE_FLOOR``,
``SHARPE_ROLLBACK`` (a signal, not a cut: roll the model back to its previous
checkpoint), ``INSUFFICIENT_CASH``, and from the guardian itself ``NO_PRICE``,
``INVALID_ORDER``, ``DUPLICATE_SYMBOL``, ``NO_EQUITY``.
"""

from arena.risk.context import Latch, RuleContext
from arena.risk.guardian import RiskGuardian
from arena.risk.limits import RiskLimits
from arena.risk.proposal import Proposal
from arena.risk.rules import (
    PASS,
    ArenaKillSwitch,
    CashSufficiency,
    DailyLossLimit,
    MaxDrawdownKill,
    MaxGrossLeverage,
    MaxPositionWeight,
    RiskRule,
    RollingSharpeFloor,
    RuleOutcome,
    SharpeRollback,
    default_rules,
)
from arena.risk.sharpe import annualized_sharpe
from arena.risk.state import PortfolioState
from arena.risk.verdict import Action, RiskVerdict

__all__ = [
    "PASS",
    "Action",
    "ArenaKillSwitch",
    "CashSufficiency",
    "DailyLossLimit",
    "Latch",
    "MaxDrawdownKill",
    "MaxGrossLeverage",
    "MaxPositionWeight",
    "PortfolioState",
    "Proposal",
    "RiskGuardian",
    "RiskLimits",
    "RiskRule",
    "RiskVerdict",
    "RollingSharpeFloor",
    "RuleContext",
    "RuleOutcome",
    "SharpeRollback",
    "annualized_sharpe",
    "default_rules",
]
