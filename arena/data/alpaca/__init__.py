"""Alpaca market data: historical bars (a cached bar source), the live bar feed, and a
local server that speaks Alpaca's market-data wire formats (tests, the live demo).

Plain Python (alpaca-py, pandas, pyarrow); nothing here imports Ray.
"""

from arena.data.alpaca.cache import BarCache, CacheIntegrityError
from arena.data.alpaca.historical import AlpacaDataError, fetch_bars
from arena.data.alpaca.keys import KEY_ID_ENV, SECRET_KEY_ENV, AlpacaAuthError, AlpacaKeys, keys_from_env
from arena.data.alpaca.request import DEFAULT_DATA_URL, TIMEFRAMES, BarsRequest, timeframe_ns
from arena.data.alpaca.source import AlpacaSource, request_from_spec

__all__ = [
    "DEFAULT_DATA_URL",
    "KEY_ID_ENV",
    "SECRET_KEY_ENV",
    "TIMEFRAMES",
    "AlpacaAuthError",
    "AlpacaDataError",
    "AlpacaKeys",
    "AlpacaSource",
    "BarCache",
    "BarsRequest",
    "CacheIntegrityError",
    "fetch_bars",
    "keys_from_env",
    "request_from_spec",
    "timeframe_ns",
]
