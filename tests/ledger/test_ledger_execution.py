"""ExecutionConfig validation and the pure pricing/cost functions of ledger.execution."""

from __future__ import annotations

import doctest
import math

import pytest

import ledger.ledger

from ledger import ExecutionConfig, OrderType, Side
from ledger.execution import (
    affordable_quantity,
    cash_delta_usd,
    commission_usd,
    slipped_price,
    target_quantity,
    trigger_price,
    validate_bar,
)

BAR = dict(open_=100.0, high=105.0, low=95.0, close=102.0)


def _px(t: OrderType, side: Side, mode: str = "next_open", limit: float | None = None,
        stop: float | None = None, **bar: float) -> float | None:
    b = {**BAR, **bar}
    return trigger_price(t, side, limit, stop, b["open_"], b["high"], b["low"], b["close"],
                         mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fill_price": "open"}, "fill_price"),
        ({"sizing": "lots"}, "sizing"),
        ({"slippage_bps": -1.0}, "slippage_bps"),
        ({"commission_bps": float("nan")}, "commission_bps"),
        ({"commission_per_share": -0.01}, "commission_per_share"),
        ({"max_participation": 0.0}, "max_participation"),
        ({"max_participation": 1.5}, "max_participation"),
        ({"latency_bars": -1}, "latency_bars"),
        ({"latency_bars": 1.0}, "latency_bars"),
        ({"allow_short": 1}, "allow_short"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ExecutionConfig(**kwargs)


def test_config_defaults_and_derived_fractions() -> None:
    cfg = ExecutionConfig(slippage_bps=5.0, commission_bps=10.0)
    assert cfg.slippage == 5e-4 and cfg.commission_rate == 1e-3
    assert cfg.whole_shares and not ExecutionConfig(sizing="fractional").whole_shares
    with pytest.raises(AttributeError):
        cfg.slippage_bps = 1.0  # type: ignore[misc]


def test_market_fills_at_open_or_close() -> None:
    assert _px(OrderType.MARKET, Side.BUY) == 100.0
    assert _px(OrderType.MARKET, Side.SELL, "next_close") == 102.0


def test_limit_next_open_conventions() -> None:
    assert _px(OrderType.LIMIT, Side.BUY, limit=97.0) == 97.0  # traded down to the limit
    assert _px(OrderType.LIMIT, Side.BUY, limit=101.0) == 100.0  # opened below the limit
    assert _px(OrderType.LIMIT, Side.BUY, limit=94.0) is None  # never reached
    assert _px(OrderType.LIMIT, Side.SELL, limit=103.0) == 103.0
    assert _px(OrderType.LIMIT, Side.SELL, limit=99.0) == 100.0
    assert _px(OrderType.LIMIT, Side.SELL, limit=106.0) is None


def test_stop_next_open_conventions() -> None:
    assert _px(OrderType.STOP, Side.BUY, stop=103.0) == 103.0
    assert _px(OrderType.STOP, Side.BUY, stop=99.0) == 100.0  # gapped through: the worse open
    assert _px(OrderType.STOP, Side.BUY, stop=106.0) is None
    assert _px(OrderType.STOP, Side.SELL, stop=97.0) == 97.0
    assert _px(OrderType.STOP, Side.SELL, stop=101.0) == 100.0
    assert _px(OrderType.STOP, Side.SELL, stop=94.0) is None


def test_next_close_treats_the_bar_as_one_print_at_its_close() -> None:
    assert _px(OrderType.LIMIT, Side.BUY, "next_close", limit=101.0) is None  # low hit it, close did not
    assert _px(OrderType.LIMIT, Side.BUY, "next_close", limit=103.0) == 102.0
    assert _px(OrderType.LIMIT, Side.SELL, "next_close", limit=101.0) == 102.0
    assert _px(OrderType.STOP, Side.BUY, "next_close", stop=101.0) == 102.0
    assert _px(OrderType.STOP, Side.BUY, "next_close", stop=104.0) is None  # high hit it, close did not
    assert _px(OrderType.STOP, Side.SELL, "next_close", stop=103.0) == 102.0


def test_slippage_is_adverse() -> None:
    assert slipped_price(100.0, Side.BUY, 1e-3) == pytest.approx(100.1)
    assert slipped_price(100.0, Side.SELL, 1e-3) == pytest.approx(99.9)


def test_commission_bps_on_fill_notional_plus_per_share() -> None:
    cfg = ExecutionConfig(commission_bps=10.0, commission_per_share=0.01)
    assert commission_usd(100.0, 50.0, cfg) == pytest.approx(5.0 + 1.0)
    assert cash_delta_usd(Side.BUY, 100.0, 50.0, 6.0) == -5006.0
    assert cash_delta_usd(Side.SELL, 100.0, 50.0, 6.0) == 4994.0


def test_affordable_quantity_whole_and_fractional() -> None:
    whole = ExecutionConfig(commission_bps=10.0, commission_per_share=0.01)
    q = affordable_quantity(10_000.0, Side.BUY, 99.0, whole)
    assert q == math.floor(10_000.0 / (99.0 * 1.001 + 0.01))
    assert 10_000.0 + cash_delta_usd(Side.BUY, q, 99.0, commission_usd(q, 99.0, whole)) >= 0.0
    frac = ExecutionConfig(sizing="fractional", commission_bps=10.0)
    q = affordable_quantity(10_000.0, Side.BUY, 99.0, frac)
    left = 10_000.0 + cash_delta_usd(Side.BUY, q, 99.0, commission_usd(q, 99.0, frac))
    assert 0.0 <= left < 1e-9
    assert affordable_quantity(0.0, Side.SELL, 99.0, whole) == math.inf  # a sell raises cash
    # per-share fees above the price: even a sell costs cash
    pricey = ExecutionConfig(commission_per_share=2.0)
    assert affordable_quantity(10.0, Side.SELL, 1.0, pricey) == 10.0


@pytest.mark.parametrize(
    ("bar", "field"),
    [
        ((float("nan"), 1.0, 1.0, 1.0, 1.0), "open"),
        ((1.0, 1.0, -1.0, 1.0, 1.0), "low"),
        ((1.0, 1.0, 1.0, 1.0, -5.0), "volume"),
        ((1.0, 1.0, 1.0, 1.0, float("inf")), "volume"),
        ((1.0, 0.9, 0.8, 1.0, 1.0), "inconsistent OHLC"),
        ((1.0, 1.2, 1.1, 1.15, 1.0), "inconsistent OHLC"),
    ],
)
def test_validate_bar_names_symbol_time_and_field(bar: tuple, field: str) -> None:
    with pytest.raises(ValueError, match=rf"ts_ns=7 symbol 'X'.*{field}"):
        validate_bar("X", 7, *bar)


def test_target_quantity_formulas() -> None:
    whole = ExecutionConfig(slippage_bps=10.0, commission_bps=5.0, commission_per_share=0.01)
    # all in from flat: floor(w·E / (p·(1+s)·(1+c) + fee per unit))
    assert target_quantity(1.0, Side.BUY, 100.0, 0.0, 10_000.0, whole) == math.floor(
        10_000.0 / (100.0 * 1.001 * 1.0005 + 0.01))
    # top up from 20 units: (0.5·E − 20·p) / unit cost
    assert target_quantity(0.5, Side.BUY, 100.0, 20.0, 10_000.0, whole) == math.floor(
        3_000.0 / (100.0 * 1.001 * 1.0005 + 0.01))
    # a sell needs no cash: (V − w·E) / p, floored
    assert target_quantity(0.25, Side.SELL, 100.0, 60.0, 10_000.0, whole) == 35.0
    assert target_quantity(-0.5, Side.SELL, 80.0, 0.0, 10_000.0, whole) == 62.0
    # w = 0 closes exactly, only on the closing side
    assert target_quantity(0.0, Side.SELL, 3.3, 17.25, 1e6, whole) == 17.25
    assert target_quantity(0.0, Side.BUY, 3.3, -4.0, 1e6, whole) == 4.0
    assert target_quantity(0.0, Side.BUY, 3.3, 4.0, 1e6, whole) == 0.0
    # the target lies on the other side: nothing to do on this side
    assert target_quantity(0.1, Side.BUY, 100.0, 50.0, 10_000.0, whole) == 0.0
    frac = ExecutionConfig(sizing="fractional")
    assert target_quantity(1.0, Side.BUY, 333.0, 0.0, 10_000.0, frac) == 10_000.0 / 333.0


def test_ledger_docstring_example_runs() -> None:
    assert doctest.testmod(ledger.ledger).failed == 0
