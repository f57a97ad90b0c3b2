"""Input checks shared by the metrics modules (private).

Every check raises ``ValueError`` naming the input, the row (by index label)
and the field that is wrong, and what was expected; nothing is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "CLOSED_TRADE_COLUMNS",
    "FILL_COLUMNS",
    "check_closed_trades",
    "check_equity",
    "check_fills",
    "check_gross_exposure",
    "check_periods_per_year",
    "finite_floats",
    "json_float",
    "require_columns",
]

FILL_COLUMNS: tuple[str, ...] = ("ts", "symbol", "side", "quantity", "price", "commission")
CLOSED_TRADE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "entry_ts",
    "exit_ts",
    "quantity",
    "entry_price",
    "exit_price",
    "pnl",
)
_SIDES = frozenset({"BUY", "SELL"})


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise if ``frame`` is not a DataFrame or lacks any of ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what}: missing column(s) {missing}; expected columns {list(columns)}, "
            f"got {list(frame.columns)}"
        )


def finite_floats(values: pd.Series, what: str, field: str) -> np.ndarray:
    """``values`` as float64, raising on the first non-numeric or non-finite entry."""
    try:
        arr = pd.to_numeric(values, errors="raise").to_numpy(dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: field {field!r} must be numeric ({exc})") from None
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        label = values.index[bad[0]]
        raise ValueError(
            f"{what}: row {label!r} field {field!r} must be a finite number, got {arr[bad[0]]!r}"
        )
    return arr


def check_equity(equity: pd.Series) -> np.ndarray:
    """Validate an equity curve; return its values (USD) as float64.

    Raises:
        ValueError: if ``equity`` is not a Series, is empty, has a non-increasing
            or duplicated index, or holds a value that is not finite and > 0 USD.
    """
    if not isinstance(equity, pd.Series):
        raise ValueError(f"equity: expected a pandas Series, got {type(equity).__name__}")
    if len(equity) == 0:
        raise ValueError("equity: expected at least one bar, got an empty Series")
    if not equity.index.is_monotonic_increasing or not equity.index.is_unique:
        raise ValueError("equity: index (bar timestamps) must be strictly increasing")
    values = finite_floats(equity, "equity", "equity")
    bad = np.flatnonzero(values <= 0.0)
    if bad.size:
        raise ValueError(
            f"equity: row {equity.index[bad[0]]!r} is {values[bad[0]]!r} USD; equity must be "
            "> 0 USD at every bar (simple returns are undefined otherwise)"
        )
    return values


def check_gross_exposure(gross_exposure: pd.Series, equity: pd.Series) -> np.ndarray:
    """Validate gross exposure (USD, >= 0) and its alignment with ``equity``."""
    if not isinstance(gross_exposure, pd.Series):
        raise ValueError(
            f"gross_exposure: expected a pandas Series, got {type(gross_exposure).__name__}"
        )
    if len(gross_exposure) != len(equity) or not gross_exposure.index.equals(equity.index):
        raise ValueError(
            "gross_exposure: must be indexed by the same bar timestamps as equity "
            f"({len(equity)} bars), got {len(gross_exposure)} rows with a different index"
        )
    values = finite_floats(gross_exposure, "gross_exposure", "gross_exposure")
    bad = np.flatnonzero(values < 0.0)
    if bad.size:
        raise ValueError(
            f"gross_exposure: row {gross_exposure.index[bad[0]]!r} is {values[bad[0]]!r} USD; "
            "gross exposure is a sum of absolute market values and must be >= 0"
        )
    return values


def check_fills(fills: pd.DataFrame) -> np.ndarray:
    """Validate a fills frame; return each fill's notional |quantity × price| (USD)."""
    require_columns(fills, FILL_COLUMNS, "fills")
    if len(fills) == 0:
        return np.zeros(0)
    quantity = finite_floats(fills["quantity"], "fills", "quantity")
    price = finite_floats(fills["price"], "fills", "price")
    finite_floats(fills["commission"], "fills", "commission")
    for field, arr, rule in (("quantity", quantity, "> 0 units"), ("price", price, "> 0")):
        bad = np.flatnonzero(arr <= 0.0)
        if bad.size:
            raise ValueError(
                f"fills: row {fills.index[bad[0]]!r} field {field!r} must be {rule}, "
                f"got {arr[bad[0]]!r}"
            )
    for label, side in zip(fills.index, fills["side"], strict=True):
        if str(side) not in _SIDES:
            raise ValueError(f"fills: row {label!r} field 'side' must be BUY or SELL, got {side!r}")
    return np.abs(quantity * price)


def check_closed_trades(closed_trades: pd.DataFrame) -> np.ndarray:
    """Validate a closed-trades frame; return its ``pnl`` column (USD)."""
    require_columns(closed_trades, CLOSED_TRADE_COLUMNS, "closed_trades")
    if len(closed_trades) == 0:
        return np.zeros(0)
    return finite_floats(closed_trades["pnl"], "closed_trades", "pnl")


def check_periods_per_year(periods_per_year: float) -> float:
    """Raise unless ``periods_per_year`` is a finite number > 0 (bars per year)."""
    ppy = float(periods_per_year)
    if not (math.isfinite(ppy) and ppy > 0.0):
        raise ValueError(f"periods_per_year must be a finite number > 0 bars/year, got {ppy!r}")
    return ppy


def json_float(value: float | None) -> float | None:
    """``value`` as a plain float, or None when it is None, NaN or ±inf (JSON-safe)."""
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None
