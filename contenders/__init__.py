"""Contenders: the trading models of the arena (plain Python, no Ray).

Write one by subclassing :class:`Contender` and overriding ``on_bars``; see
``docs/writing-a-contender.md``.
"""

from contenders.base import Contender, ParamError
from contenders.market import Bar, Bars, History
from contenders.portfolio import Portfolio
from contenders.registry import available, resolve
from ledger.types import Contribution, Decision, OrderRequest, OrderType, Side, TimeInForce

__all__ = [
    "Bar",
    "Bars",
    "Contender",
    "Contribution",
    "Decision",
    "History",
    "OrderRequest",
    "OrderType",
    "ParamError",
    "Portfolio",
    "Side",
    "TimeInForce",
    "available",
    "resolve",
]
