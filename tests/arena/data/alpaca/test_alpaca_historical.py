"""Alpaca bars through alpaca-py's real clients against a local server in Alpaca's formats:
pagination into the canonical schema, 429 retries, the cache, and the key errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alpaca_market_server import load_payload, market_sim

from arena.data import data_sha256, source_from_spec
from arena.data.alpaca import AlpacaAuthError, AlpacaDataError, BarCache, CacheIntegrityError
from arena.data.alpaca.cache import META_KEY
from arena.data.schema import COLUMNS


def _spec(sim, tmp_path, **kw):
    return {"source": "alpaca", "symbols": ["MSFT", "AAPL"], "timeframe": "1Min", "start": "2024-01-03T14:30:00Z",
            "end": "2024-01-03T15:59:00Z", "data_url": sim.url, "cache_dir": str(tmp_path / "cache"), **kw}


def test_pages_become_the_canonical_schema(stock_sim, tmp_path):
    frame = source_from_spec(_spec(stock_sim, tmp_path)).load()
    payload = load_payload("stock_bars_1min.json")["bars"]
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 90 + 89  # MSFT has no bar at 14:47
    assert stock_sim.requests == 4  # 90 AAPL bars in 2 pages of 50, then 89 MSFT bars in 2
    first = frame[frame.symbol == "AAPL"].iloc[0]
    bar = payload["AAPL"][0]
    assert first.timestamp == pd.Timestamp(bar["t"]) and str(first.timestamp.tz) == "UTC"
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        bar["o"], bar["h"], bar["l"], bar["c"], float(bar["v"]))
    assert frame.timestamp.is_monotonic_increasing
    assert pd.Timestamp("2024-01-03T14:47:00Z") not in set(frame[frame.symbol == "MSFT"].timestamp)


def test_a_429_answer_is_retried_by_the_client(stock_sim, tmp_path):
    stock_sim.fail_next(429, 1)
    frame = source_from_spec(_spec(stock_sim, tmp_path, symbols=["AAPL"])).load()
    assert len(frame) == 90 and stock_sim.requests == 3  # the 429, then the two pages


def test_an_error_that_is_not_retried_names_the_endpoint(stock_sim, tmp_path):
    stock_sim.fail_next(500, 1, message="internal server error")
    with pytest.raises(AlpacaDataError, match=r"/v2/stocks/bars: HTTP 500 for AAPL: internal server error"):
        source_from_spec(_spec(stock_sim, tmp_path)).load()


def test_the_cache_makes_a_rerun_offline_and_identical(stock_sim, alpaca_keys, tmp_path, monkeypatch):
    spec = _spec(stock_sim, tmp_path)
    src = source_from_spec(spec)
    first = src.load()
    path = src.cache_file
    meta = BarCache.metadata(path)
    assert meta["rows"] == len(first) and meta["sha256"] == data_sha256(first)
    assert meta["request"]["symbols"] == ["AAPL", "MSFT"]
    raw = pq.read_schema(path).metadata[META_KEY].decode()
    assert all(v not in raw for v in alpaca_keys.values())  # no credentials in the cache file
    assert src.describe()["cache_file"] == str(path.resolve()) and src.describe()["sha256"] == meta["sha256"]
    stock_sim.stop()  # offline from here on, and without keys
    monkeypatch.delenv("APCA_API_KEY_ID")
    monkeypatch.delenv("APCA_API_SECRET_KEY")
    again = source_from_spec(spec)
    second = again.load()
    pd.testing.assert_frame_equal(first, second)
    assert again.describe()["downloaded"] is False


def test_a_cache_file_that_does_not_match_its_metadata_is_refused(stock_sim, tmp_path):
    src = source_from_spec(_spec(stock_sim, tmp_path))
    frame = src.load()
    table = pq.read_table(src.cache_file)
    meta = table.schema.metadata
    tampered = frame.assign(close=np.where(frame.index == 3, frame.close + 1.0, frame.close))
    pq.write_table(pa.Table.from_pandas(tampered, preserve_index=False).replace_schema_metadata(meta), src.cache_file)
    assert META_KEY in pq.read_schema(src.cache_file).metadata
    with pytest.raises(CacheIntegrityError, match=r"stock-1Min-.*\.parquet: bars hash to sha256"):
        source_from_spec(_spec(stock_sim, tmp_path)).load()


def test_missing_keys_name_the_variable(stock_sim, tmp_path, monkeypatch):
    monkeypatch.delenv("APCA_API_SECRET_KEY")
    with pytest.raises(AlpacaAuthError, match=r"set APCA_API_SECRET_KEY in the environment") as err:
        source_from_spec(_spec(stock_sim, tmp_path)).load()
    assert "APCA_API_KEY_ID" not in str(err.value).split("set", 1)[1].split("in the environment")[0]


def test_rejected_keys_say_which_variables_to_check(stock_sim, tmp_path, monkeypatch):
    monkeypatch.setenv("APCA_API_SECRET_KEY", "wrong-secret-value")
    expected = r"rejected the API keys \(HTTP 403.*APCA_API_KEY_ID and APCA_API_SECRET_KEY"
    with pytest.raises(AlpacaAuthError, match=expected) as err:
        source_from_spec(_spec(stock_sim, tmp_path)).load()
    assert "wrong-secret-value" not in str(err.value)


def test_crypto_bars_come_from_the_v1beta3_endpoint(alpaca_keys, tmp_path):
    sim = market_sim("crypto_bars_1hour.json", page_size=30)
    try:
        frame = source_from_spec({"source": "alpaca", "asset_class": "crypto", "symbols": ["BTC/USD", "ETH/USD"],
                                  "timeframe": "1Hour", "start": "2024-01-06", "end": "2024-01-07T23:00:00Z",
                                  "data_url": sim.url, "cache_dir": str(tmp_path)}).load()
    finally:
        sim.stop()
    assert sorted(set(frame.symbol)) == ["BTC/USD", "ETH/USD"] and len(frame) == 96
    btc = load_payload("crypto_bars_1hour.json")["bars"]["BTC/USD"]
    assert frame[frame.symbol == "BTC/USD"].volume.iloc[5] == btc[5]["v"]  # fractional coins kept


def test_daily_stock_bars_carry_the_session_date_at_midnight_utc(alpaca_keys, tmp_path):
    from arena.data.alpaca.sim import AlpacaMarketSim, bars_from_frame

    days = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-02", "2024-07-01"], utc=True), "symbol": "AAPL",
                         "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0})
    bars = bars_from_frame(days, daily_stock=True)
    assert [b["t"] for b in bars["AAPL"]] == ["2024-01-02T05:00:00Z", "2024-07-01T04:00:00Z"]  # midnight New York
    with AlpacaMarketSim(bars, timeframe="1Day", key_id=alpaca_keys["APCA_API_KEY_ID"],
                         secret_key=alpaca_keys["APCA_API_SECRET_KEY"]) as sim:
        frame = source_from_spec({"source": "alpaca", "symbols": ["AAPL"], "start": "2024-01-01",
                                  "end": "2024-12-31", "data_url": sim.url, "cache_dir": str(tmp_path)}).load()
    assert list(frame.timestamp) == list(days.timestamp)


def test_bad_spec_values_name_the_key():
    with pytest.raises(ValueError, match="unknown Alpaca time frame '2Min'"):
        source_from_spec({"source": "alpaca", "symbols": ["AAPL"], "start": "2024-01-02", "timeframe": "2Min"})
    with pytest.raises(ValueError, match="Alpaca feed 'otc'"):
        source_from_spec({"source": "alpaca", "symbols": ["AAPL"], "start": "2024-01-02", "feed": "otc"})
    with pytest.raises(ValueError, match="missing key"):
        source_from_spec({"source": "alpaca", "symbols": ["AAPL"]})
