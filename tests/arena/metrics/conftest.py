"""Shared fixtures for the metrics tests: real market bars.

The real bars come from backtesting.py's bundled sample data (a dev
dependency): ``GOOG`` daily OHLCV 2004-08-19 … 2013-03-01 and ``EURUSD``
hourly OHLCV from 2017-04-19.
"""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def goog_close() -> pd.Series:
    """GOOG daily close (USD), indexed by UTC bar timestamp, 2148 bars."""
    from backtesting.test import GOOG

    close = GOOG["Close"].astype("float64")
    close.index = close.index.tz_localize("UTC")
    return close


@pytest.fixture(scope="session")
def eurusd_close() -> pd.Series:
    """EURUSD hourly close (USD per EUR), indexed by UTC bar timestamp, 5000 bars."""
    from backtesting.test import EURUSD

    close = EURUSD["Close"].astype("float64")
    close.index = close.index.tz_localize("UTC")
    return close
