"""Fixtures for the risk guardian tests: a portfolio-state factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from arena.risk import PortfolioState

DAY_NS = 86_400 * 1_000_000_000
T0_NS = 19_000 * DAY_NS  # 2022-01-08 00:00 UTC
"""A bar timestamp at a UTC midnight."""


@pytest.fixture
def make_state() -> Callable[..., PortfolioState]:
    """Factory: a flat 10 000 USD all-cash portfolio at ``T0_NS`` with prices
    A = 100 USD, B = 50 USD, C = 20 USD; keyword arguments override fields.
    ``peak_equity`` and ``day_start_equity`` default to ``equity``."""

    def make(**overrides: Any) -> PortfolioState:
        equity = overrides.get("equity", 10_000.0)
        fields: dict[str, Any] = {
            "contender": "alpha",
            "ts_ns": T0_NS,
            "equity": equity,
            "cash": equity,
            "peak_equity": equity,
            "day_start_equity": equity,
            "positions": {},
            "prices": {"A": 100.0, "B": 50.0, "C": 20.0},
            "recent_returns": (),
        }
        fields.update(overrides)
        return PortfolioState(**fields)

    return make
