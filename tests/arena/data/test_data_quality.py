"""Quality report: finds injected gaps, duplicates and spikes; never raises on bad values."""

from __future__ import annotations

import pandas as pd
import pytest

from arena.data import BarValidationError, SyntheticSource, quality_report, quality_report_for_file
from arena.data.quality import render_quality_report


def _hourly(n: int = 400, seed: int = 1) -> pd.DataFrame:
    return SyntheticSource(symbols=("BTC",), n_bars=n, freq="1h", seed=seed, volatility_per_bar=0.01).load()


def test_clean_data_scores_100():
    report = quality_report(_hourly())
    assert report["score"] == 100.0 and report["valid"]
    entry = report["per_symbol"]["BTC"]
    assert entry["bar_frequency"] == "1h"
    assert entry["missing_bars"] == 0 and entry["spikes"] == 0 and entry["duplicates"] == 0


def test_finds_injected_gaps():
    bars = _hourly()
    holed = bars.drop(index=[*range(100, 105), 250]).reset_index(drop=True)
    report = quality_report(holed)
    entry = report["per_symbol"]["BTC"]
    assert entry["missing_bars"] == 6 and entry["gap_count"] == 2
    assert entry["gaps"][0] == {"start": bars["timestamp"][100].isoformat(),
                                "end": bars["timestamp"][104].isoformat(), "missing_bars": 5}
    assert report["valid"]
    assert report["score"] == pytest.approx(100 * (1 - 6 / 400), abs=0.05)


def test_finds_injected_duplicates_without_raising():
    bars = _hourly()
    duplicated = pd.concat([bars.iloc[:200], bars.iloc[199:200], bars.iloc[200:]], ignore_index=True)
    report = quality_report(duplicated, "dups.csv")
    assert report["duplicates"] == 1 and report["per_symbol"]["BTC"]["duplicates"] == 1
    assert not report["valid"] and report["score"] <= 50
    assert report["problems"][0]["check"] == "timestamp_duplicate"
    assert report["problems"][0]["row"] == 201


def test_finds_injected_spike():
    bars = _hourly()
    spiked = bars.copy()
    for col in ("close", "high"):
        spiked.loc[300, col] = spiked.loc[300, col] * 1.5
    entry = quality_report(spiked)["per_symbol"]["BTC"]
    flagged = [s["timestamp"] for s in entry["spike_bars"]]
    assert bars["timestamp"][300].isoformat() in flagged  # the jump up
    assert bars["timestamp"][301].isoformat() in flagged  # and the jump back
    assert entry["spikes"] == 2


def test_weekends_are_not_gaps_for_daily_equities():
    bars = SyntheticSource(symbols=("AAA",), n_bars=260, freq="B", seed=2).load()
    entry = quality_report(bars)["per_symbol"]["AAA"]
    assert entry["bar_frequency"] == "1d" and entry["missing_bars"] == 0
    holed = bars.drop(index=[50]).reset_index(drop=True)
    assert quality_report(holed)["per_symbol"]["AAA"]["missing_bars"] == 1


def test_market_wide_closures_are_not_gaps_but_one_symbol_missing_is():
    bars = SyntheticSource(symbols=("AAA", "BBB"), n_bars=100, freq="B", seed=2).load()
    holiday = bars["timestamp"].unique()[40]
    closed = bars[bars["timestamp"] != holiday]
    report = quality_report(closed)
    assert report["market_closed_bars"] == 1 and report["missing_bars"] == 0
    one_missing = bars[~((bars["timestamp"] == holiday) & (bars["symbol"] == "AAA"))]
    report = quality_report(one_missing)
    assert report["per_symbol"]["AAA"]["missing_bars"] == 1 and report["per_symbol"]["BBB"]["missing_bars"] == 0


def test_report_for_bad_file_counts_problems(write_csv):
    lines = ["Date,Open,High,Low,Close,Volume,Adj Close"]
    days = pd.bdate_range("2021-01-04", periods=30)
    for i, d in enumerate(days):
        if i == 12:
            continue  # a gap
        high = 9 if i == 5 else 11  # high < low
        lines.append(f"{d.date()},10,{high},9.5,10,1000,10")
    lines.append(lines[-1])  # a duplicate
    lines.append("garbage,10,11,9,10,1000,10")
    path = write_csv(lines)
    report = quality_report_for_file(path, symbol="AAA")
    assert report["ignored_columns"] == ["Adj Close"]
    assert report["problem_counts"] == {"high_below_low": 1, "timestamp_duplicate": 1, "timestamp_unparseable": 1}
    assert {(p["check"], p["row"]) for p in report["problems"]} == {
        ("high_below_low", 7), ("timestamp_duplicate", 31), ("timestamp_unparseable", 32)}
    assert report["per_symbol"]["AAA"]["missing_bars"] == 1
    assert report["score"] <= 50 and not report["valid"]
    text = render_quality_report(report)
    assert "line 7, column 'high'" in text and "INVALID" in text


def test_report_still_raises_for_missing_columns(write_csv):
    path = write_csv(["Date,Close", "2021-01-04,10"])
    with pytest.raises(BarValidationError, match="missing"):
        quality_report_for_file(path, symbol="AAA")


def test_unsorted_file_is_reported_not_raised(write_csv):
    lines = ["timestamp,symbol,open,high,low,close,volume"]
    lines += [f"2021-01-{d:02d},X,10,11,9,10,1" for d in (5, 4)]
    report = quality_report_for_file(write_csv(lines))
    assert report["problem_counts"] == {"timestamp_unsorted": 1}
    assert report["score"] == 50.0  # 1 of 2 rows bad -> 50, and capped at 50 as it would not load


def test_a_hole_of_years_counts_as_missing_bars_and_is_named(tmp_path):
    """The bundled MSFT sessions with a 50-year hole in the middle: the hole's bars are missing
    (the weekly calendar is learned outside it), the score drops, the hole is listed."""
    from arena.data import SampleSource, quality_report_for_file, render_quality_report

    frame = SampleSource("us_equities_daily").load()
    msft = frame[frame["symbol"] == "MSFT"].reset_index(drop=True)
    half = len(msft) // 2
    msft.loc[half:, "timestamp"] = msft.loc[half:, "timestamp"] + pd.Timedelta(days=50 * 365)
    f = tmp_path / "holed.csv"
    msft.to_csv(f, index=False)
    report = quality_report_for_file(f)
    sym = report["per_symbol"]["MSFT"]
    assert len(sym["holes"]) == 1 and sym["holes"][0]["days"] > 18_000
    assert report["missing_bars"] > 10_000 and report["score"] < 30
    assert "hole in MSFT: no bar from" in render_quality_report(report)


def test_bars_100_ns_apart_are_one_bar_to_the_store_and_rejected_up_front():
    """The stores keep microseconds: two bars of a symbol 100 ns apart would clash on the bars
    table's key mid-run; validation names them before anything runs."""
    from arena.data.validate import check_bars

    t0 = pd.Timestamp("2024-01-02T14:30:00", tz="UTC")
    frame = pd.DataFrame({
        "timestamp": [t0, t0 + pd.Timedelta(100, "ns"), t0 + pd.Timedelta(1, "min")],
        "symbol": ["A", "A", "A"], "open": [1.0] * 3, "high": [1.0] * 3, "low": [1.0] * 3,
        "close": [1.0] * 3, "volume": [1.0] * 3,
    })
    found = check_bars(frame, origin="probe")
    messages = [p.message for p in found.problems(10)]
    assert any("duplicate bar" in m and "to the microsecond" in m for m in messages), messages


def _frame(stamps, symbol: str = "XYZ") -> pd.DataFrame:
    n = len(stamps)
    return pd.DataFrame({"timestamp": pd.DatetimeIndex(stamps, tz="UTC"), "symbol": symbol, "open": [10.0] * n,
                         "high": [11.0] * n, "low": [9.0] * n, "close": [10.5] * n, "volume": [100.0] * n})


def test_daily_gaps_are_counted_against_the_exchange_calendar():
    # NYSE, December 2019 to January 2020: Christmas, New Year's Day and Martin Luther King Day are
    # holidays, 2020-01-07 is a lost session
    sessions = pd.bdate_range("2019-12-02", "2020-01-31")
    holidays = pd.DatetimeIndex(["2019-12-25", "2020-01-01", "2020-01-20"])
    lost = pd.Timestamp("2020-01-07")
    bars = _frame(sessions.difference(holidays).difference([lost]))
    own = quality_report(bars)["per_symbol"]["XYZ"]
    assert own["missing_bars"] == 4, "one symbol alone cannot tell a holiday from a gap"
    report = quality_report(bars, calendar="XNYS")
    entry = report["per_symbol"]["XYZ"]
    assert entry["missing_bars"] == 1 and entry["gaps"][0]["start"].startswith("2020-01-07")
    assert report["market_closed_bars"] == 3 and entry["off_calendar_bars"] == 0
    assert report["method"]["calendar"] == "XNYS" and "XNYS" in report["method"]["expected_bars"]
    on_holiday = _frame(sessions.difference([lost]))  # bars on Christmas and New Year's Day
    assert quality_report(on_holiday, calendar="XNYS")["per_symbol"]["XYZ"]["off_calendar_bars"] == 3


def test_intraday_gaps_are_counted_within_the_sessions_only():
    # 30-minute bars of two NYSE sessions (14:30-20:30 UTC in January), one bar lost; the nights are not gaps
    day1 = pd.date_range("2020-01-02 14:30", "2020-01-02 20:30", freq="30min")
    day2 = pd.date_range("2020-01-03 14:30", "2020-01-03 20:30", freq="30min")
    stamps = day1.append(day2).delete(20)
    own = quality_report(_frame(stamps))["per_symbol"]["XYZ"]
    report = quality_report(_frame(stamps), calendar="XNYS")["per_symbol"]["XYZ"]
    assert report["expected_bars"] == 26 and report["missing_bars"] == 1
    assert pd.Timestamp(report["gaps"][0]["start"]) == day2[7].tz_localize("UTC")
    assert own["missing_bars"] != 1, "without a calendar the night looks like a run of missing bars"


def test_unknown_calendar_names_the_close_ones():
    with pytest.raises(ValueError, match="unknown exchange calendar 'NYSEE'.*did you mean"):
        quality_report(_hourly(), calendar="NYSEE")
