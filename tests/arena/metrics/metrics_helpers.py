"""Small frame builders for the metrics tests (imported as ``metrics_helpers``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arena.metrics import CLOSED_TRADE_COLUMNS, FILL_COLUMNS


def empty_fills() -> pd.DataFrame:
    """A fills frame with no rows: DataFrame[ts, symbol, side, quantity, price, commission]."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in FILL_COLUMNS})


def empty_trades() -> pd.DataFrame:
    """A closed-trades frame with no rows."""
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in CLOSED_TRADE_COLUMNS})


def trades_with_pnl(pnl_usd: list[float]) -> pd.DataFrame:
    """Closed trades of 1 unit of ``XYZ`` with the given pnl (USD), one day apart."""
    n = len(pnl_usd)
    ts = pd.date_range("2024-01-01", periods=n + 1, freq="D", tz="UTC")
    return pd.DataFrame(
        {
            "symbol": ["XYZ"] * n,
            "entry_ts": ts[:-1],
            "exit_ts": ts[1:],
            "quantity": [1.0] * n,
            "entry_price": [100.0] * n,
            "exit_price": [100.0 + p for p in pnl_usd],
            "pnl": pnl_usd,
        }
    )


def invested_equity(close: pd.Series, weight: float, capital_usd: float = 100_000.0) -> pd.Series:
    """Equity (USD) of holding a constant ``weight`` of equity in ``close``, rebalanced each bar."""
    returns = close.pct_change().fillna(0.0).to_numpy()
    return pd.Series(capital_usd * np.cumprod(1.0 + weight * returns), index=close.index)
