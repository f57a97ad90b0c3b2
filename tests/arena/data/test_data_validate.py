"""Validation: every problem is named by file, line/row and column, one test per check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from arena.data import BarValidationError, FileSource, validate_bars
from arena.data.validate import MAX_PROBLEMS

HEADER = "timestamp,symbol,open,high,low,close,volume"
GOOD_ROWS = (
    "2020-01-02,AAA,10,11,9,10.5,100",
    "2020-01-03,AAA,10.5,12,10,11,200",
    "2020-01-06,AAA,11,11.5,10.5,11.2,150",
)


def _error(path: Path, **kwargs: object) -> BarValidationError:
    with pytest.raises(BarValidationError) as info:
        FileSource(path, **kwargs).load()  # type: ignore[arg-type]
    return info.value


def _assert_names(err: BarValidationError, path: Path, line: int, column: str, check: str, *words: str) -> None:
    text = str(err)
    assert str(path) in text
    assert f"line {line}, column '{column}'" in text
    assert any(p.check == check and p.row == line and p.column == column for p in err.problems), err.problems
    for w in words:
        assert w in text


def test_good_file_passes(write_csv):
    bars = FileSource(write_csv([HEADER, *GOOD_ROWS])).load()
    assert len(bars) == 3


def test_unparseable_timestamp(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[0], "2020-13-45,AAA,10,11,9,10,1", GOOD_ROWS[2]])
    _assert_names(_error(path), path, 3, "timestamp", "timestamp_unparseable", "'2020-13-45'", "ISO 8601")


def test_missing_timestamp(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[0], ",AAA,10,11,9,10,1"])
    _assert_names(_error(path), path, 3, "timestamp", "timestamp_unparseable", "missing timestamp")


def test_timestamp_format_option_is_used_in_message(write_csv):
    path = write_csv([HEADER, "02.01.2020,AAA,10,11,9,10,1", "2020-01-03,AAA,10,11,9,10,1"])
    err = _error(path, timestamp_format="%d.%m.%Y")
    _assert_names(err, path, 3, "timestamp", "timestamp_unparseable", "expected format '%d.%m.%Y'")


def test_unsorted_timestamps(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[1], GOOD_ROWS[0], GOOD_ROWS[2]])
    _assert_names(_error(path), path, 3, "timestamp", "timestamp_unsorted", "ascending", "line 2")


def test_duplicate_timestamps(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[1]])
    _assert_names(_error(path), path, 4, "timestamp", "timestamp_duplicate", "same as line 3")


def test_order_is_checked_per_symbol(write_csv):
    path = write_csv([HEADER, "2020-01-03,AAA,10,11,9,10,1", "2020-01-02,BBB,10,11,9,10,1"])
    assert len(FileSource(path).load()) == 2


def test_nan_price(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[0], "2020-01-03,AAA,10,NaN,9,10,1"])
    _assert_names(_error(path), path, 3, "high", "price_nan", "expected a price > 0")


def test_empty_price(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,,11,9,10,1"])
    _assert_names(_error(path), path, 2, "open", "price_nan")


def test_non_positive_price(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[0], "2020-01-03,AAA,10,11,0,10,1"])
    _assert_names(_error(path), path, 3, "low", "price_not_positive", "low 0.0")


def test_text_in_price(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,10,11,9,abc,1"])
    _assert_names(_error(path), path, 2, "close", "not_a_number", "'abc' is not a number")


def test_high_below_low(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,10,9,11,10,1"])
    _assert_names(_error(path), path, 2, "high", "high_below_low", "high 9.0 < low 11.0")


def test_open_outside_range(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,12,11,9,10,1"])
    _assert_names(_error(path), path, 2, "open", "open_outside_range", "expected low <= open <= high")


def test_close_outside_range(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,10,11,9,8.5,1"])
    _assert_names(_error(path), path, 2, "close", "close_outside_range", "close 8.5")


def test_negative_volume(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,10,11,9,10,-5"])
    _assert_names(_error(path), path, 2, "volume", "volume_negative", "expected >= 0")


def test_nan_volume_is_an_error(write_csv):
    path = write_csv([HEADER, "2020-01-02,AAA,10,11,9,10,"])
    _assert_names(_error(path), path, 2, "volume", "volume_nan", "missing or NaN")


def test_zero_volume_is_valid(write_csv):
    assert FileSource(write_csv([HEADER, "2020-01-02,AAA,10,11,9,10,0"])).load()["volume"].iat[0] == 0.0


def test_missing_symbol_value(write_csv):
    path = write_csv([HEADER, "2020-01-02, ,10,11,9,10,1"])
    _assert_names(_error(path), path, 2, "symbol", "symbol_missing")


def test_missing_columns_are_all_named(write_csv):
    path = write_csv(["Date,Open,Close", "2020-01-02,10,10"], name="short.csv")
    err = _error(path, symbol="AAA")
    assert str(path) in str(err)
    assert {p.column for p in err.problems} == {"high", "low", "volume"}
    assert all(p.check == "missing_column" for p in err.problems)


def test_line_numbers_skip_blank_lines(write_csv):
    path = write_csv([HEADER, GOOD_ROWS[0], "", "   ", "2020-01-03,AAA,10,9,11,10,1"])
    _assert_names(_error(path), path, 5, "high", "high_below_low")


def test_all_problems_collected_with_count(write_csv):
    rows = [f"2020-02-{d:02d},AAA,10,9,11,10,1" for d in range(1, 26)]  # 25 × high < low
    err = _error(write_csv([HEADER, *rows, "2020-03-01,AAA,10,11,9,10,-1"]))
    assert err.total == 26
    assert len(err.problems) == MAX_PROBLEMS
    assert [p.row for p in err.problems] == list(range(2, 2 + MAX_PROBLEMS))
    assert "... and 6 more problem(s)" in str(err)


def test_several_problems_in_one_row_all_reported(write_csv):
    path = write_csv([HEADER, "not-a-date,AAA,-1,11,9,10,-3"])
    checks = {p.check for p in _error(path).problems}
    assert checks == {"timestamp_unparseable", "price_not_positive", "volume_negative"}


def test_parquet_rows_are_one_based(tmp_path):
    path = tmp_path / "bars.parquet"
    pd.DataFrame(
        {"timestamp": pd.to_datetime(["2020-01-02", "2020-01-03"]), "symbol": ["A", "A"], "open": [1.0, 1.0],
         "high": [1.0, 0.5], "low": [1.0, 1.0], "close": [1.0, 1.0], "volume": [1.0, 1.0]}
    ).to_parquet(path)
    err = _error(path)
    assert "row 2, column 'high'" in str(err)
    assert str(path) in str(err)


def test_validate_bars_on_frame_reports_positions():
    df = pd.DataFrame({"timestamp": ["2020-01-01", "2020-01-02"], "symbol": ["X", "X"], "open": [1.0, 1.0],
                       "high": [1.0, 1.0], "low": [1.0, 1.0], "close": [1.0, 2.0], "volume": [0.0, 0.0]})
    with pytest.raises(BarValidationError, match=r"frame: 1 problem.*\n  row 2, column 'close'"):
        validate_bars(df, "frame")
    assert issubclass(BarValidationError, ValueError)


def test_naive_and_offset_strings_in_one_file(write_csv):
    path = write_csv([HEADER, "2020-01-01T10:00:00+02:00,AAA,1,1,1,1,1", "2020-01-01 10:00,AAA,1,1,1,1,1"])
    bars = FileSource(path).load()
    assert [t.isoformat() for t in bars["timestamp"]] == ["2020-01-01T08:00:00+00:00", "2020-01-01T10:00:00+00:00"]


def test_date_only_strings_are_not_shifted_by_an_offset_elsewhere(write_csv):
    path = write_csv([HEADER, "2020-01-01T10:00:00+02:00,AAA,1,1,1,1,1", "2020-01-02,AAA,1,1,1,1,1"])
    bars = FileSource(path).load()
    assert [t.isoformat() for t in bars["timestamp"]] == ["2020-01-01T08:00:00+00:00", "2020-01-02T00:00:00+00:00"]
