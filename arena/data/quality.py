"""Data-quality report of bar data: gaps, duplicates, spikes, validation problems, a score.

Unlike :func:`arena.data.validate_bars`, :func:`quality_report` never raises on
bad values: it counts them. It still raises for frames that lack a canonical
column, and :func:`quality_report_for_file` for files it cannot read.

Methods (also written into each report under ``"method"``):

* **Bar interval**: per symbol, the most common positive step between its
  sorted distinct timestamps (ties: the shorter).
* **Expected bars / gaps**: points of a regular grid from the symbol's first to
  last bar at that interval, keeping only *weekly slots* (weekday + time of
  day, UTC) in which the symbol has a bar in at least half of the weeks the
  grid passes through that slot. Daily equities thus expect business days (Mon–Fri), FX
  expects its Sunday-evening-to-Friday week, crypto every hour. In a frame
  with two or more symbols, grid points where *no* symbol has a bar are
  market closures (holidays), not gaps; in a one-symbol frame a holiday
  cannot be told from a gap and counts as a missing bar. A *gap* is a run of
  consecutive expected bars that are missing. Not computed for intervals
  longer than 7 days. Limitation: in data spanning under two weeks, a slot
  missing in its only week looks closed, so such a gap is not counted.
* **Expected bars against an exchange calendar** (``calendar="XNYS"``, ``24/7``,
  ...; :mod:`arena.data.calendars`): the exchange's sessions decide instead of
  the data: daily bars expect one bar per session, intraday bars every grid
  point in a trading minute; holidays are market closures, and bars outside
  every session are counted as ``off_calendar_bars``.
* **Spikes**: close-to-close log return ``r_t`` whose distance from the median
  of the previous ``window`` returns exceeds ``k`` robust standard
  deviations, ``|r_t - median| > k * 1.4826 * MAD`` (MAD: median absolute
  deviation of those returns; 1.4826 makes it consistent with the standard
  deviation under normality, Rousseeuw & Croux 1993). Defaults ``k = 8``,
  ``window = 50`` returns, tested once 20 returns are available; windows with
  MAD = 0 (flat prices) are not tested.
* **Score** (0–100): ``100 * (1 - min(1, (problem_rows + missing_bars + spikes)
  / (rows + missing_bars)))``, where ``problem_rows`` are rows failing at
  least one validation check; capped at 50 when any validation problem
  exists (such a file would not load).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arena.data.calendars import calendar_grid, check_calendar_name
from arena.data.files import read_bar_file
from arena.data.holes import data_holes
from arena.data.schema import SYMBOL, TIMESTAMP
from arena.data.validate import MAX_PROBLEMS, check_bars

__all__ = [
    "LISTED",
    "MAD_TO_SIGMA",
    "METHOD",
    "METHOD_CALENDAR",
    "SPIKE_K",
    "SPIKE_MIN_RETURNS",
    "SPIKE_WINDOW",
    "format_interval",
    "quality_report",
    "quality_report_for_file",
    "render_quality_report",
]

SPIKE_K = 8.0
SPIKE_WINDOW = 50
SPIKE_MIN_RETURNS = 20
MAD_TO_SIGMA = 1.4826
LISTED = 20
"""How many gaps / spikes / problems a report lists in full (all are counted)."""

_DAY_NS = 86_400 * 10**9
_WEEK_NS = 7 * _DAY_NS
_NO_SYMBOL = "<missing symbol>"

METHOD = {
    "bar_frequency": "per symbol, the most common positive step between its sorted distinct timestamps",
    "expected_bars": (
        "grid from first to last bar at the bar interval, keeping weekly slots (weekday + time of day, UTC) "
        "that hold a bar in at least half of the weeks the grid passes them (daily equities: business days "
        "Mon-Fri); "
        "with >= 2 symbols, grid points where no symbol has a bar are market closures, not gaps; "
        "with 1 symbol, holidays count as missing bars; not computed for intervals > 7 days"
    ),
    "spikes": "|r_t - median| > k * 1.4826 * MAD over the previous `window` close-to-close log returns",
    "score": (
        "100 * (1 - min(1, (problem_rows + missing_bars + spikes) / (rows + missing_bars))), "
        "capped at 50 if any validation problem"
    ),
}


METHOD_CALENDAR = (
    "the sessions of the exchange calendar {calendar} (exchange_calendars): daily bars one per session, "
    "intraday bars every grid point in a trading minute; holidays are market closures"
)


def quality_report(
    df: pd.DataFrame,
    origin: str = "<frame>",
    *,
    timestamp_format: str | None = None,
    spike_k: float = SPIKE_K,
    spike_window: int = SPIKE_WINDOW,
    calendar: str | None = None,
) -> dict[str, Any]:
    """Report the quality of bar data, counting problems instead of raising.

    Args:
        df: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``,
            raw or canonical (index may carry source row numbers, see
            :mod:`arena.data.validate`).
        origin: the file (or other origin) named in the report.
        timestamp_format: ``strftime`` format of string timestamps; ``None``: ISO 8601.
        spike_k: spike threshold in robust standard deviations.
        spike_window: returns in the trailing window of the robust sigma.
        calendar: an ``exchange_calendars`` name (``XNYS``, ``XLON``, ``24/7``, ...)
            whose sessions decide the expected bars; ``None``: the data's own
            weekly pattern (see the module's methods).

    Returns:
        JSON-ready dict: ``origin``, ``rows``, ``n_symbols``, ``score``,
        ``valid``, ``problems_total``, ``problem_counts`` (by check),
        ``problems`` (first 20, each ``{check, column, row, row_label, symbol,
        message}``), ``missing_bars``, ``market_closed_bars``, ``spikes``,
        ``duplicates``, ``method`` (how everything was counted) and
        ``per_symbol`` (symbol -> ``{rows, first, last, bar_frequency,
        expected_bars, missing_bars, gap_count, gaps, off_grid_bars,
        off_calendar_bars, duplicates, spikes, spike_bars, problems}``).

    Raises:
        arena.data.BarValidationError: a canonical column is missing.
        ValueError: unknown calendar, or data the calendar cannot cover.
    """
    if calendar is not None:
        check_calendar_name(calendar)
    check = check_bars(df, origin, timestamp_format=timestamp_format)
    parsed = check.parsed
    n = len(parsed)
    ts_ns = parsed[TIMESTAMP].to_numpy(dtype="datetime64[ns]").view(np.int64)
    ts_ok = ~parsed[TIMESTAMP].isna().to_numpy()
    symbols = parsed[SYMBOL].fillna(_NO_SYMBOL).to_numpy(dtype=object)
    close = parsed["close"].to_numpy(dtype=np.float64)
    bad_rows = check.problem_rows()
    counts_by_check: dict[str, int] = {}
    per_check_symbol: dict[str, dict[str, int]] = {}
    for f in check.findings:
        counts_by_check[f.check] = counts_by_check.get(f.check, 0) + int(f.mask.sum())
        for sym, cnt in zip(*np.unique(symbols[f.mask].astype(str), return_counts=True), strict=True):
            per_check_symbol.setdefault(str(sym), {})
            per_check_symbol[str(sym)][f.check] = per_check_symbol[str(sym)].get(f.check, 0) + int(cnt)

    union_ts = np.unique(ts_ns[ts_ok])
    multi = len({s for s in symbols if s != _NO_SYMBOL}) >= 2
    per_symbol: dict[str, Any] = {}
    closed_all: set[int] = set()
    for sym in sorted({str(s) for s in symbols}):
        rows = symbols == sym
        mine = np.unique(ts_ns[rows & ts_ok])
        entry: dict[str, Any] = {
            "rows": int(rows.sum()),
            "first": _iso(mine[0]) if len(mine) else None,
            "last": _iso(mine[-1]) if len(mine) else None,
        }
        entry.update(_gaps(mine, union_ts if multi else None, closed_all, calendar))
        entry["duplicates"] = per_check_symbol.get(sym, {}).get("timestamp_duplicate", 0)
        price_ok = rows & ts_ok & np.isfinite(close) & (close > 0)
        entry.update(_spikes(ts_ns[price_ok], close[price_ok], spike_k, spike_window))
        entry["problems"] = dict(sorted(per_check_symbol.get(sym, {}).items()))
        per_symbol[sym] = entry

    problem_rows = int(bad_rows.sum())
    missing = int(sum(e["missing_bars"] or 0 for e in per_symbol.values()))
    spikes = int(sum(e["spikes"] for e in per_symbol.values()))
    denom = n + missing
    score = 0.0 if denom == 0 else 100.0 * (1.0 - min(1.0, (problem_rows + missing + spikes) / denom))
    if check.findings:
        score = min(score, 50.0)
    return {
        "origin": origin,
        "rows": n,
        "n_symbols": len(per_symbol),
        "score": round(score, 1),
        "valid": not check.findings and n > 0,
        "problems_total": check.total,
        "problem_rows": problem_rows,
        "problem_counts": dict(sorted(counts_by_check.items())),
        "problems": [
            {"check": p.check, "column": p.column, "row": p.row, "row_label": p.row_label,
             "symbol": p.symbol, "message": p.message}
            for p in check.problems(MAX_PROBLEMS)
        ],
        "missing_bars": missing,
        "market_closed_bars": len(closed_all),
        "spikes": spikes,
        "duplicates": counts_by_check.get("timestamp_duplicate", 0),
        "method": {**METHOD, "spike_k": spike_k, "spike_window": spike_window,
                   **({"expected_bars": METHOD_CALENDAR.format(calendar=calendar), "calendar": calendar}
                      if calendar else {})},
        "per_symbol": per_symbol,
    }


def quality_report_for_file(
    path: str | Path,
    symbol: str | None = None,
    *,
    file_format: str | None = None,
    timestamp_format: str | None = None,
    calendar: str | None = None,
) -> dict[str, Any]:
    """Quality report of a user's CSV or Parquet bar file, without raising on bad values.

    Args:
        path: the file (see :class:`arena.data.FileSource` for accepted columns).
        symbol: symbol of every bar when the file has no ``symbol`` column.
        file_format: ``"csv"`` or ``"parquet"``; ``None`` infers from the suffix.
        timestamp_format: ``strftime`` format of the time column; ``None``: ISO 8601.
        calendar: exchange calendar of the expected bars (see :func:`quality_report`).

    Returns:
        As :func:`quality_report`, plus ``columns`` (canonical -> file column)
        and ``ignored_columns``. Problems name file lines (CSV) or rows (Parquet).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file.
        arena.data.BarValidationError: required columns missing.
    """
    raw = read_bar_file(path, symbol, file_format)
    report = quality_report(raw.frame, raw.origin, timestamp_format=timestamp_format, calendar=calendar)
    report["columns"] = dict(raw.columns)
    report["ignored_columns"] = list(raw.ignored_columns)
    return report


def render_quality_report(report: dict[str, Any]) -> str:
    """Plain-text rendering of a :func:`quality_report` dict (for the CLI and logs)."""
    lines = [
        f"Quality of {report['origin']}: score {report['score']}/100 "
        f"({'valid' if report['valid'] else 'INVALID: would not load'})",
        f"  rows {report['rows']}, symbols {report['n_symbols']}, problems {report['problems_total']}, "
        f"missing bars {report['missing_bars']}, market closures {report['market_closed_bars']}, "
        f"duplicates {report['duplicates']}, spikes {report['spikes']}"
        + (f", bars off the {report['method']['calendar']} calendar "
           f"{sum(e['off_calendar_bars'] for e in report['per_symbol'].values())}"
           if report["method"].get("calendar") else ""),
    ]
    lines.append(
        f"  {'symbol':<16} {'rows':>8} {'first':<26} {'last':<26} {'freq':>6} {'missing':>8} {'gaps':>5} "
        f"{'dups':>5} {'spikes':>6}"
    )
    for sym, e in report["per_symbol"].items():
        missing = "n/a" if e["missing_bars"] is None else str(e["missing_bars"])
        lines.append(
            f"  {sym:<16} {e['rows']:>8} {str(e['first']):<26} {str(e['last']):<26} {str(e['bar_frequency']):>6} "
            f"{missing:>8} {e['gap_count']:>5} {e['duplicates']:>5} {e['spikes']:>6}"
        )
    for sym, e in report["per_symbol"].items():
        for h in e.get("holes", []):
            lines.append(f"  hole in {sym}: no bar from {h['start']} to {h['end']} ({h['days']:g} days); "
                         "its bars count as missing, and the annualization leaves it out")
    if report["problems"]:
        lines.append(f"  first {len(report['problems'])} of {report['problems_total']} problem(s):")
        for p in report["problems"]:
            where = f"{p['row_label']} {p['row']}, " if p["row"] is not None else ""
            lines.append(f"    {where}column '{p['column']}': {p['message']}")
    lines.append(f"  expected bars: {report['method']['expected_bars']}")
    lines.append(f"  score: {report['method']['score']}")
    return "\n".join(lines)


def format_interval(step_ns: int) -> str:
    """A bar interval in ns as a short label: ``"1d"``, ``"1h"``, ``"5min"``, ``"30s"``, ``"250ms"``."""
    for unit_ns, label in ((_DAY_NS, "d"), (3_600 * 10**9, "h"), (60 * 10**9, "min"), (10**9, "s"), (10**6, "ms")):
        if step_ns % unit_ns == 0:
            return f"{step_ns // unit_ns}{label}"
    return f"{step_ns}ns"


def _gaps(
    ts: np.ndarray, union_ts: np.ndarray | None, closed_all: set[int], calendar: str | None = None
) -> dict[str, Any]:
    """Gap statistics of one symbol's sorted distinct timestamps (ns)."""
    out: dict[str, Any] = {"bar_frequency": None, "expected_bars": None, "missing_bars": None,
                           "gap_count": 0, "gaps": [], "off_grid_bars": 0, "off_calendar_bars": 0, "holes": []}
    if len(ts) < 2:
        return out
    steps, counts = np.unique(np.diff(ts), return_counts=True)
    step = int(steps[np.argmax(counts)])  # np.unique sorts, so ties go to the shorter step
    out["bar_frequency"] = format_interval(step)
    if step > _WEEK_NS:
        return out
    offset = ts - ts[0]
    on_grid = offset % step == 0
    out["off_grid_bars"] = int((~on_grid).sum())
    grid = ts[0] + step * np.arange(int((ts[-1] - ts[0]) // step) + 1, dtype=np.int64)
    holes = data_holes(ts)
    out["holes"] = [{"start": _iso(a), "end": _iso(b), "days": round((b - a) / 86_400e9, 1)} for a, b in holes]
    if calendar is not None:
        expected = calendar_grid(ts, step, calendar)
        grid = expected.expected
        out["off_calendar_bars"] = int(len(expected.off_calendar))
        closed_all.update(int(x) for x in expected.closed)
        union_ts = None  # the calendar, not the other symbols, says when the market was closed
    elif _WEEK_NS % step == 0:
        grid_slot = grid % _WEEK_NS
        in_hole = np.zeros(len(grid), dtype=bool)  # a hole's weeks do not decide the calendar
        for a, b in holes:
            in_hole |= (grid > a) & (grid < b)
        slots, possible = np.unique(grid_slot[~in_hole], return_counts=True)
        seen = np.searchsorted(slots, ts[on_grid] % _WEEK_NS)
        observed = np.bincount(seen, minlength=len(slots))
        grid = grid[np.isin(grid_slot, slots[observed * 2 >= possible])]  # a hole's bars count as missing
    if union_ts is not None:
        closed = ~np.isin(grid, union_ts)
        closed_all.update(int(x) for x in grid[closed])
        grid = grid[~closed]
    missing_mask = ~np.isin(grid, ts)
    out["expected_bars"] = int(len(grid))
    out["missing_bars"] = int(missing_mask.sum())
    if missing_mask.any():
        idx = np.flatnonzero(missing_mask)
        breaks = np.flatnonzero(np.diff(idx) != 1)
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [len(idx) - 1]))
        out["gap_count"] = int(len(starts))
        out["gaps"] = [
            {"start": _iso(grid[idx[a]]), "end": _iso(grid[idx[b]]), "missing_bars": int(b - a + 1)}
            for a, b in zip(starts[:LISTED], ends[:LISTED], strict=True)
        ]
    return out


def _spikes(ts: np.ndarray, close: np.ndarray, k: float, window: int) -> dict[str, Any]:
    """Robust (median/MAD) spike detection on one symbol's close-to-close log returns."""
    order = np.argsort(ts, kind="stable")
    ts, close = ts[order], close[order]
    keep = np.concatenate(([True], np.diff(ts) != 0))  # first of duplicate timestamps
    ts, close = ts[keep], close[keep]
    r = np.diff(np.log(close))
    flagged: list[tuple[int, float, float]] = []
    for i in range(SPIKE_MIN_RETURNS, min(window, len(r))):  # warm-up: all previous returns
        _test(r, i, r[:i], k, flagged)
    if len(r) > window:
        windows = np.lib.stride_tricks.sliding_window_view(r[:-1], window)[: len(r) - window]
        med = np.median(windows, axis=1)
        sigma = MAD_TO_SIGMA * np.median(np.abs(windows - med[:, None]), axis=1)
        target = r[window:]
        hit = (sigma > 0) & (np.abs(target - med) > k * sigma)
        flagged.extend((int(j + window), float(target[j]), float(sigma[j])) for j in np.flatnonzero(hit))
    return {
        "spikes": len(flagged),
        "spike_bars": [
            {"timestamp": _iso(ts[i + 1]), "log_return": round(lr, 6), "robust_sigma": round(s, 6)}
            for i, lr, s in flagged[:LISTED]
        ],
    }


def _test(r: np.ndarray, i: int, win: np.ndarray, k: float, flagged: list[tuple[int, float, float]]) -> None:
    med = float(np.median(win))
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(win - med)))
    if sigma > 0 and abs(r[i] - med) > k * sigma:
        flagged.append((i, float(r[i]), sigma))


def _iso(ns: int | np.integer) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()
