"""FileSource: user CSV and Parquet files in their many shapes."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from arena.data import BarValidationError, FileSource, data_sha256
from arena.data.schema import COLUMNS, TIMESTAMP_DTYPE

YAHOO_LIKE = [
    "Date,Open,High,Low,Close,Adj Close,Volume",
    "2020-01-02,10,11,9,10.5,10.4,100",
    "2020-01-03,10.5,12,10,11,10.9,200",
]


def test_csv_with_date_column_and_given_symbol(write_csv):
    src = FileSource(write_csv(YAHOO_LIKE), symbol="GOOG")
    bars = src.load()
    assert list(bars.columns) == list(COLUMNS)
    assert bars["timestamp"].dtype == TIMESTAMP_DTYPE
    assert bars["symbol"].tolist() == ["GOOG", "GOOG"]
    assert bars["timestamp"].iloc[0] == pd.Timestamp("2020-01-02", tz="UTC")
    assert bars["close"].tolist() == [10.5, 11.0]
    assert bars["volume"].dtype == np.float64
    described = src.describe()
    assert described["ignored_columns"] == ["Adj Close"]
    assert described["columns"]["timestamp"] == "Date"
    assert described["columns"]["symbol"] is None


def test_csv_without_symbol_column_needs_a_symbol(write_csv):
    path = write_csv(YAHOO_LIKE)
    with pytest.raises(BarValidationError) as info:
        FileSource(path).load()
    text = str(info.value)
    assert str(path) in text and "no 'symbol' column" in text and "symbol='GOOG'" in text


def test_parquet_with_symbol_column(tmp_path):
    path = tmp_path / "bars.parquet"
    frame = pd.DataFrame(
        {
            "TimeStamp": pd.to_datetime(["2020-01-02", "2020-01-02", "2020-01-03", "2020-01-03"]),
            "SYMBOL": ["BBB", "AAA", "BBB", "AAA"],
            "Open": [5.0, 10.0, 5.5, 10.5],
            "High": [6.0, 11.0, 6.0, 12.0],
            "Low": [4.0, 9.0, 5.0, 10.0],
            "Close": [5.5, 10.5, 5.8, 11.0],
            "Volume": [1, 2, 3, 4],
        }
    )
    frame.to_parquet(path)
    bars = FileSource(path).load()
    assert bars["symbol"].tolist() == ["AAA", "BBB", "AAA", "BBB"]  # sorted by (timestamp, symbol)
    assert bars["volume"].tolist() == [2.0, 1.0, 4.0, 3.0]
    assert FileSource(path, symbol="BBB").load()["symbol"].unique().tolist() == ["BBB"]


def test_symbol_filter_that_matches_nothing_lists_symbols(tmp_path, write_csv):
    path = write_csv(["timestamp,symbol,open,high,low,close,volume", "2020-01-02,AAA,1,1,1,1,1"])
    with pytest.raises(BarValidationError, match="no rows for symbol 'ZZZ'; symbols in file: AAA"):
        FileSource(path, symbol="ZZZ").load()


def test_tz_aware_input_is_converted_to_utc(tmp_path, write_csv):
    csv_path = write_csv(
        ["datetime,open,high,low,close,volume", "2020-03-02T09:30:00-05:00,1,2,0.5,1.5,10",
         "2020-03-02T10:30:00-05:00,1.5,2,1,1.8,11"]
    )
    bars = FileSource(csv_path, symbol="X").load()
    assert bars["timestamp"].tolist() == [pd.Timestamp("2020-03-02 14:30", tz="UTC"),
                                          pd.Timestamp("2020-03-02 15:30", tz="UTC")]
    pq_path = tmp_path / "tz.parquet"
    pd.DataFrame({"time": pd.to_datetime(["2020-03-02 09:30", "2020-03-02 10:30"]).tz_localize("America/New_York"),
                  "open": [1.0, 1.5], "high": [2.0, 2.0], "low": [0.5, 1.0], "close": [1.5, 1.8],
                  "volume": [10.0, 11.0]}).to_parquet(pq_path)
    from_parquet = FileSource(pq_path, symbol="X").load()
    assert from_parquet["timestamp"].tolist() == bars["timestamp"].tolist()
    assert data_sha256(from_parquet) == data_sha256(bars)


def test_naive_timestamps_are_utc(write_csv):
    bars = FileSource(write_csv(["time,open,high,low,close,volume", "2020-01-01 13:00,1,1,1,1,0"]), symbol="X").load()
    assert bars["timestamp"].iat[0] == pd.Timestamp("2020-01-01 13:00", tz="UTC")


def test_timestamp_format_option(write_csv):
    path = write_csv(["Time,Open,High,Low,Close,Volume", "01.02.2017 22:00:00.000,1.05,1.06,1.04,1.05,1000"])
    bars = FileSource(path, symbol="EURUSD", timestamp_format="%d.%m.%Y %H:%M:%S.%f").load()
    assert bars["timestamp"].iat[0] == pd.Timestamp("2017-02-01 22:00", tz="UTC")


def test_two_time_columns_are_ambiguous(write_csv):
    path = write_csv(["Date,Time,Open,High,Low,Close,Volume", "2020-01-02,10:00,1,1,1,1,1"])
    with pytest.raises(BarValidationError, match=r"several bar-time columns \['Date', 'Time'\]"):
        FileSource(path, symbol="X").load()


def test_gzipped_csv_and_bom(tmp_path):
    path = tmp_path / "bars.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8-sig") as fh:
        fh.write("\n".join(YAHOO_LIKE) + "\n")
    assert len(FileSource(path, symbol="G").load()) == 2


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="cannot tell the file format"):
        FileSource(tmp_path / "bars.xlsx")
    with pytest.raises(FileNotFoundError, match="bar file not found"):
        FileSource(tmp_path / "nope.csv").load()


def test_malformed_csv_names_the_file(write_csv):
    path = write_csv(["Date,Open,High,Low,Close,Volume", "2020-01-02,1,1,1,1,1,7,8"])
    with pytest.raises(ValueError, match=str(path)):
        FileSource(path, symbol="X").load()


def test_csv_and_parquet_of_same_bars_hash_equal(tmp_path, write_csv):
    csv_bars = FileSource(write_csv(YAHOO_LIKE), symbol="G").load()
    pq_path = tmp_path / "same.parquet"
    csv_bars.to_parquet(pq_path)
    assert data_sha256(FileSource(pq_path).load()) == data_sha256(csv_bars)
