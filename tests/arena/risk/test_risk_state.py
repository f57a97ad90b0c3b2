"""PortfolioState: normalization, derived measures, and errors naming the field."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable

import pytest

from arena.risk import PortfolioState
from arena.risk.state import NS_PER_DAY


def test_mappings_and_returns_are_copied_to_plain_types(make_state: Callable[..., PortfolioState]) -> None:
    positions = {"A": 10.0}
    state = make_state(positions=positions, recent_returns=[0.01, -0.02])
    positions["A"] = 99.0
    assert state.positions == {"A": 10.0}
    assert state.recent_returns == (0.01, -0.02)
    assert pickle.loads(pickle.dumps(state)) == state


def test_drawdown_and_daily_loss_are_fractions(make_state: Callable[..., PortfolioState]) -> None:
    state = make_state(equity=8_000.0, peak_equity=10_000.0, day_start_equity=9_000.0)
    assert state.drawdown == pytest.approx(0.2)
    assert state.daily_loss == pytest.approx(1.0 - 8_000.0 / 9_000.0)
    assert state.utc_day == state.ts_ns // NS_PER_DAY


def test_daily_loss_is_zero_without_a_positive_day_start(make_state: Callable[..., PortfolioState]) -> None:
    assert make_state(equity=-5.0, day_start_equity=-10.0, peak_equity=100.0).daily_loss == 0.0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"contender": ""}, r"contender must be a non-empty name"),
        ({"ts_ns": 1.5}, r"ts_ns must be an int"),
        ({"equity": math.nan}, r"equity must be a finite number"),
        ({"cash": math.inf}, r"cash must be a finite number"),
        ({"peak_equity": 0.0}, r"peak_equity must be > 0"),
        ({"peak_equity": 9_000.0}, r"peak_equity \(9000.0\) must be >= equity"),
        ({"positions": {"A": math.nan}}, r"positions\['A'\] must be a finite number"),
        ({"prices": {"A": 0.0}}, r"prices\['A'\] must be > 0 USD"),
        ({"prices": {"A": math.nan}}, r"prices\['A'\] must be a finite number"),
        ({"positions": {"Z": 3.0}}, r"prices lacks 'Z', which has a position of 3.0 units"),
        ({"recent_returns": (0.01, math.nan)}, r"recent_returns\[1\] must be a finite number"),
        ({"positions": [("A", 1.0)]}, r"positions must be a mapping"),
        ({"margin": "yes"}, r"margin must be True or False"),
    ],
)
def test_bad_state_error_names_the_field(
    make_state: Callable[..., PortfolioState], overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_state(**overrides)


def test_flat_symbol_without_price_is_accepted(make_state: Callable[..., PortfolioState]) -> None:
    assert make_state(positions={"Z": 0.0}).positions == {"Z": 0.0}
