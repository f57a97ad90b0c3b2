"""RiskLimits: defaults, validation errors naming the field, strict dict parsing."""

from __future__ import annotations

import math

import pytest

from arena.risk import RiskLimits


def test_defaults_are_valid_and_permissive() -> None:
    limits = RiskLimits()
    assert limits.max_position_weight == 1.0
    assert limits.max_gross_leverage == 1.0
    assert limits.require_cash is True
    assert limits.drawdown_enabled is False
    assert limits.daily_loss_limit is None and limits.sharpe_floor is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_position_weight", 0.0),
        ("max_position_weight", -0.5),
        ("max_position_weight", math.nan),
        ("max_gross_leverage", 0.0),
        ("max_gross_leverage", math.inf),
        ("require_cash", 1),
        ("max_drawdown", 0.0),
        ("max_drawdown", 1.5),
        ("daily_loss_limit", 0.0),
        ("daily_loss_limit", 2.0),
        ("sharpe_floor", math.nan),
        ("sharpe_floor", "high"),
        ("sharpe_window_bars", 1),
        ("sharpe_window_bars", 10.0),
        ("sharpe_window_bars", True),
        ("sharpe_scale", 0.0),
        ("sharpe_scale", 1.2),
        ("periods_per_year", 0.0),
        ("estimated_cost_bps", -1.0),
        ("estimated_cost_bps", math.inf),
    ],
)
def test_bad_value_error_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"RiskLimits\.{field} must"):
        RiskLimits(**{field: value})


def test_integers_are_accepted_as_floats() -> None:
    limits = RiskLimits(max_gross_leverage=2, max_drawdown=1)
    assert limits.max_gross_leverage == 2.0 and isinstance(limits.max_gross_leverage, float)
    assert isinstance(limits.max_drawdown, float)


def test_dict_round_trip_is_exact() -> None:
    limits = RiskLimits(max_position_weight=0.25, daily_loss_limit=0.05, sharpe_floor=-0.5,
                        sharpe_window_bars=21, estimated_cost_bps=7.5)
    assert RiskLimits.from_dict(limits.to_dict()) == limits


def test_unknown_key_gets_a_did_you_mean_hint() -> None:
    with pytest.raises(ValueError, match=r"unknown key 'max_drawdwn'; did you mean 'max_drawdown'"):
        RiskLimits.from_dict({"max_drawdwn": 0.2})


def test_limits_are_frozen() -> None:
    limits = RiskLimits()
    with pytest.raises(AttributeError):
        limits.max_drawdown = 0.5  # type: ignore[misc]
