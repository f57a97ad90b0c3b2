"""Expected bars of an exchange calendar, for counting gaps against the exchange's own sessions.

The calendars are those of the maintained `exchange_calendars` package (``XNYS``
for the New York Stock Exchange, ``XNAS`` for Nasdaq, ``XLON`` for London,
``24/7`` for crypto, ...; ``exchange_calendars.get_calendar_names()`` lists all
of them). Holidays, early closes and weekends come from it, not from the data.

Convention: bars are stamped at their open (as the bundled data and the
canonical schema are). A daily bar expects one bar per session, at any time of
day (the session's date is the bar's UTC date); an intraday bar of step
``s`` (a divisor of a day) expects every point of the data's own grid
(``first + k * s``) whose minute is a trading minute of the calendar.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

_DAY_NS = 86_400 * 10**9
_MINUTE_NS = 60 * 10**9

__all__ = ["CalendarGrid", "calendar_grid", "check_calendar_name"]


@dataclass(frozen=True)
class CalendarGrid:
    """What an exchange calendar expects of one symbol's bars.

    Attributes:
        expected: sorted int64 ns timestamps of the bars the calendar expects.
        off_calendar: int64 ns timestamps of the symbol's bars that fall outside
            every session (a bar on a holiday, a weekend or overnight).
        closed: int64 ns grid points on weekdays the exchange was closed
            (holidays): market closures, not gaps.
    """

    expected: np.ndarray
    off_calendar: np.ndarray
    closed: np.ndarray


def check_calendar_name(name: str) -> str:
    """Return ``name`` if ``exchange_calendars`` knows it.

    Raises:
        ValueError: unknown calendar, naming the closest known names.
    """
    import exchange_calendars as xcals

    names = xcals.get_calendar_names(include_aliases=True)
    if name not in names:
        hint = difflib.get_close_matches(name.upper(), names, n=3)
        raise ValueError(
            f"unknown exchange calendar {name!r}; expected a name of exchange_calendars such as XNYS, XNAS, "
            f"XLON or 24/7" + (f" (did you mean {', '.join(hint)}?)" if hint else "")
        )
    return name


def calendar_grid(ts: np.ndarray, step_ns: int, name: str) -> CalendarGrid:
    """Bars the exchange calendar ``name`` expects between a symbol's first and last bar.

    Args:
        ts: sorted distinct int64 ns UTC timestamps of one symbol's bars (at least 2).
        step_ns: the bar interval in ns (a day, or a divisor of a day).
        name: an ``exchange_calendars`` calendar name (``XNYS``, ``24/7``, ...).

    Returns:
        The expected grid, the bars off the calendar and the holiday grid points.

    Raises:
        ValueError: unknown calendar; a step that is neither a day nor divides one;
            data outside the calendar's range (before its first session).
    """
    check_calendar_name(name)
    if step_ns != _DAY_NS and _DAY_NS % step_ns != 0:
        raise ValueError(f"bar interval of {step_ns} ns is neither a day nor a divisor of one; "
                         "an exchange calendar cannot say which bars to expect")
    first_day = int(ts[0]) // _DAY_NS * _DAY_NS
    last_day = int(ts[-1]) // _DAY_NS * _DAY_NS
    cal = _calendar(name, first_day, last_day)
    sessions = cal.sessions_in_range(_day(first_day), _day(last_day)).as_unit("ns").asi8
    weekdays = pd.bdate_range(_day(first_day), _day(last_day)).as_unit("ns").asi8
    holidays = np.setdiff1d(weekdays, sessions)
    if step_ns == _DAY_NS:
        days = ts // _DAY_NS * _DAY_NS
        mine = np.isin(sessions, days)
        # one bar per session, stamped at the time of day the symbol uses on that date (or its first bar's)
        tod = int(ts[0]) - first_day
        by_day = dict(zip(days.tolist(), ts.tolist(), strict=True))
        expected = np.array([by_day[d] if m else d + tod for d, m in zip(sessions.tolist(), mine.tolist(),
                                                                           strict=True)], dtype=np.int64)
        off = ts[~np.isin(days, sessions)]
        return CalendarGrid(np.sort(expected), off, holidays + tod)
    minutes = cal.minutes_in_range(_day(first_day), _day(last_day) + pd.Timedelta(days=1)).as_unit("ns").asi8
    grid = ts[0] + step_ns * np.arange(int((ts[-1] - ts[0]) // step_ns) + 1, dtype=np.int64)
    trading = np.isin(grid // _MINUTE_NS * _MINUTE_NS, minutes)
    on_trading = np.isin(ts // _MINUTE_NS * _MINUTE_NS, minutes)
    grid_days = grid // _DAY_NS * _DAY_NS
    return CalendarGrid(grid[trading], ts[~on_trading], grid[~trading & np.isin(grid_days, holidays)])


def _day(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, unit="ns")


@lru_cache(maxsize=8)
def _calendar_cached(name: str, start: str, end: str):  # type: ignore[no-untyped-def]
    import exchange_calendars as xcals

    return xcals.get_calendar(name, start=start, end=end)


def _calendar(name: str, first_day_ns: int, last_day_ns: int):  # type: ignore[no-untyped-def]
    """The calendar covering the data's whole span and a year either side (cached by year), so that
    ranges from the data's first to last UTC day stay within its bounds; names the range it cannot cover."""
    start = f"{_day(first_day_ns).year - 1}-01-01"
    end = f"{_day(last_day_ns).year + 1}-12-31"
    try:
        return _calendar_cached(name, start, end)
    except (ValueError, LookupError) as exc:  # exchange_calendars' own bounds errors
        raise ValueError(f"exchange calendar {name!r} cannot cover {start} to {end}: {exc}") from exc
