"""Historical bars from Alpaca's market-data REST API, through alpaca-py's own clients.

:func:`fetch_bars` asks :class:`alpaca.data.historical.StockHistoricalDataClient`
(``GET /v2/stocks/bars``) or :class:`alpaca.data.historical.CryptoHistoricalDataClient`
(``GET /v1beta3/crypto/us/bars``) for one symbol at a time (or, for a live feed's backfill,
every symbol in one request: one answer for all of them); the client follows
``next_page_token`` to the last page and retries an HTTP 429 answer (3 tries, 3 s apart,
alpaca-py's defaults). The bars are validated like every other source's
(:func:`arena.data.validate.to_canonical`).

Daily stock bars, which Alpaca stamps at midnight New York time, carry the session date at
00:00 UTC, as every daily equity bar in the arena does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from arena.data.alpaca.keys import AlpacaKeys, rejected_key_error
from arena.data.alpaca.request import BarsRequest
from arena.data.schema import COLUMNS, canonical_frame
from arena.data.validate import to_canonical

__all__ = ["SESSION_TZ", "AlpacaDataError", "Progress", "bars_path", "fetch_bars", "raw_bars_frame"]

_TIMEFRAMES = {
    "1Min": TimeFrame(1, TimeFrameUnit.Minute),
    "5Min": TimeFrame(5, TimeFrameUnit.Minute),
    "15Min": TimeFrame(15, TimeFrameUnit.Minute),
    "1Hour": TimeFrame(1, TimeFrameUnit.Hour),
    "1Day": TimeFrame(1, TimeFrameUnit.Day),
}
_WIRE = {"t": "timestamp", "o": "open", "h": "high", "l": "low", "c": "close", "v": "volume"}
SESSION_TZ = "America/New_York"

Progress = Callable[[str, int, int], None]
"""``progress(symbol, n_done, n_total)``: called after each symbol's bars are in."""


class AlpacaDataError(RuntimeError):
    """Alpaca's market-data API answered with an error other than a rejected key, or could not be reached."""


def bars_path(asset_class: str) -> str:
    """The endpoint path of bars for an asset class: ``/v2/stocks/bars`` or ``/v1beta3/crypto/us/bars``."""
    return "/v2/stocks/bars" if asset_class == "stock" else "/v1beta3/crypto/us/bars"


def fetch_bars(
    request: BarsRequest, keys: AlpacaKeys, progress: Progress | None = None, *, together: bool = False
) -> pd.DataFrame:
    """Download the bars of ``request`` (every page) and validate them.

    Args:
        request: what to fetch (:class:`arena.data.alpaca.request.BarsRequest`).
        keys: the account's key pair (sent as ``APCA-API-KEY-ID``/``APCA-API-SECRET-KEY`` headers).
        progress: called after each symbol (after the one request when ``together``).
        together: ask for every symbol in one request instead of one request per symbol, so
            that a window ending now is answered for all symbols at the same moment (a live
            feed's backfill; requests one symbol at a time would each see a later "now").

    Returns:
        ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical (prices
        USD, volume shares or coins); possibly empty when no symbol had a bar in the window.

    Raises:
        AlpacaAuthError: the keys were refused (HTTP 401/403); names the variables to check.
        AlpacaDataError: another HTTP error (429 after the client's retries, 4xx, 5xx) or no
            connection; names the endpoint and the answer.
        BarValidationError: the bars fail validation (names the endpoint and the row).
    """
    url = request.data_url.rstrip("/")
    where = url + bars_path(request.asset_class)
    if request.asset_class == "stock":
        client: StockHistoricalDataClient | CryptoHistoricalDataClient = StockHistoricalDataClient(
            keys.key_id, keys.secret_key, raw_data=True, url_override=url
        )
    else:
        client = CryptoHistoricalDataClient(keys.key_id, keys.secret_key, raw_data=True, url_override=url)
    parts: list[pd.DataFrame] = []
    groups = [list(request.symbols)] if together else [[s] for s in request.symbols]
    for i, group in enumerate(groups):
        symbol = ",".join(group)
        common = dict(
            symbol_or_symbols=group,
            timeframe=_TIMEFRAMES[request.timeframe],
            start=request.start.to_pydatetime(),
            end=request.end.to_pydatetime(),
        )
        try:
            if isinstance(client, StockHistoricalDataClient):
                raw = client.get_stock_bars(
                    StockBarsRequest(**common, feed=DataFeed(request.feed), adjustment=Adjustment(request.adjustment))
                )
            else:
                raw = client.get_crypto_bars(CryptoBarsRequest(**common))
        except APIError as exc:
            status = _status(exc)
            if status in (401, 403):
                raise rejected_key_error(status, where) from None
            raise AlpacaDataError(f"{where}: HTTP {status} for {symbol}: {_message(exc)}") from None
        except requests.RequestException as exc:
            raise AlpacaDataError(f"{where}: cannot reach Alpaca's market-data API ({type(exc).__name__})") from None
        # raw_data=True: a dict of symbol → bars, which alpaca-py types as BarSet | dict
        parts.extend(raw_bars_frame(raw.get(s, []), s) for s in group)  # type: ignore[union-attr]
        if progress is not None:
            progress(symbol, i + 1, len(groups))
    frame = pd.concat(parts, ignore_index=True) if parts else raw_bars_frame([], "")
    if request.asset_class == "stock" and request.timeframe == "1Day" and len(frame):
        ts = pd.to_datetime(frame["timestamp"], utc=True)
        frame["timestamp"] = ts.dt.tz_convert(SESSION_TZ).dt.tz_localize(None).dt.normalize().dt.tz_localize("UTC")
    if frame.empty:
        return canonical_frame(frame.astype({c: "float64" for c in COLUMNS[2:]}))
    return to_canonical(frame, f"Alpaca bars {where}")


def raw_bars_frame(bars: list[dict[str, Any]], symbol: str) -> pd.DataFrame:
    """Alpaca bar objects (``{"t", "o", "h", "l", "c", "v", "n", "vw"}``) of one symbol as an
    unvalidated ``DataFrame[timestamp, symbol, open, high, low, close, volume]`` (``n`` and
    ``vw``, trade count and volume-weighted price, are left out)."""
    frame = pd.DataFrame({col: [b.get(k) for b in bars] for k, col in _WIRE.items()})
    frame["symbol"] = symbol
    return frame[list(COLUMNS)]


def _status(exc: APIError) -> int | None:
    try:
        return int(exc.status_code)
    except (AttributeError, TypeError, ValueError):
        return None


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except (KeyError, TypeError, ValueError):
        return str(exc)[:300]
