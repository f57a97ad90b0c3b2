"""Validation of bar data on load: every problem named by file, row and column.

:func:`validate_bars` raises :class:`BarValidationError` listing the first
:data:`MAX_PROBLEMS` problems (and how many more there are); nothing is
silently dropped or repaired. :func:`check_bars` does the same checks without
raising, for :mod:`arena.data.quality`.

Checks (the ``check`` code of each :class:`BarProblem`):

* ``missing_column``: a canonical column is absent (the frame cannot be checked
  further, so this is raised at once).
* ``timestamp_unparseable``: a timestamp is empty or cannot be parsed. Strings
  are parsed as ISO 8601 (``2020-01-31``, ``2020-01-31 14:30``,
  ``2020-01-31T14:30:00Z``, ``...+02:00``) unless a ``strftime`` format is
  given. Naive values are taken as UTC; values with an offset are converted.
* ``symbol_missing``: an empty symbol.
* ``not_a_number``: a price or volume cell holds text that is not a number.
* ``price_nan``: an ``open/high/low/close`` value is empty or NaN.
* ``price_not_positive``: a price is ``<= 0`` or infinite.
* ``high_below_low``: ``high < low``.
* ``open_outside_range`` / ``close_outside_range``: ``open`` or ``close``
  outside ``[low, high]`` (checked only where ``high >= low``).
* ``volume_nan``: volume empty or NaN. This is an error, not a zero: a bar
  without trades must say ``0``, so an unknown volume is never mistaken for
  an illiquid bar by the execution simulator's participation limit.
* ``volume_negative``: volume ``< 0`` or infinite.
* ``timestamp_duplicate``: the same ``(symbol, timestamp)`` as an earlier row, to the
  microsecond (the stores keep timestamps in microseconds, so two bars 100 ns apart are
  one bar there).
* ``timestamp_unsorted``: a timestamp earlier than the previous row of the
  same symbol (bars must be in ascending time order per symbol, as written).

Row numbers are the ones a user finds in the file: if the frame's index is
named ``"line"`` (CSV: the file line number, header = line 1) or ``"row"``
(Parquet: the 1-based data row), its values are reported; otherwise the
1-based position in the frame is reported as ``row``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arena.data._parsing import parse_numbers, parse_symbols, parse_timestamps
from arena.data.schema import COLUMNS, PRICE_COLUMNS, SYMBOL, TIMESTAMP, VOLUME, canonical_frame

__all__ = [
    "MAX_PROBLEMS",
    "ROW_LABELS",
    "BarCheck",
    "BarProblem",
    "BarValidationError",
    "Finding",
    "check_bars",
    "require_columns",
    "to_canonical",
    "validate_bars",
]

MAX_PROBLEMS = 20
"""How many problems a :class:`BarValidationError` message lists in full."""

ROW_LABELS: tuple[str, ...] = ("line", "row")
"""Index names that carry source row numbers (see module docstring)."""

_ISO_HINT = "ISO 8601, e.g. 2020-01-31 or 2020-01-31T14:30:00Z"


@dataclass(frozen=True, slots=True)
class BarProblem:
    """One problem in bar data.

    Attributes:
        check: the check code (see module docstring), e.g. ``"high_below_low"``.
        column: the canonical column concerned (``"high"``), or the missing
            column's name for ``missing_column``.
        message: what is wrong and what was expected.
        row: the row number as the user finds it in the source, or ``None``
            when the problem concerns no single row.
        row_label: ``"line"`` (CSV file line) or ``"row"`` (1-based data row).
        symbol: the row's symbol, when known.
    """

    check: str
    column: str
    message: str
    row: int | None = None
    row_label: str = "row"
    symbol: str | None = None

    def __str__(self) -> str:
        where = f"{self.row_label} {self.row}, " if self.row is not None else ""
        return f"{where}column '{self.column}': {self.message}"


class BarValidationError(ValueError):
    """Bar data failed validation.

    Attributes:
        origin: the file (or other origin) the bars came from.
        problems: the first ``MAX_PROBLEMS`` problems, in row order.
        total: how many problems were found in all.
    """

    def __init__(self, origin: str, problems: Sequence[BarProblem], total: int | None = None) -> None:
        self.origin = origin
        self.problems = list(problems)
        self.total = len(self.problems) if total is None else total
        lines = [f"{origin}: {self.total} problem(s) in bar data"]
        lines += [f"  {p}" for p in self.problems]
        if self.total > len(self.problems):
            lines.append(f"  ... and {self.total - len(self.problems)} more problem(s)")
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable, so the error crosses process (Ray actor) boundaries intact
        return (type(self), (self.origin, self.problems, self.total))


@dataclass(frozen=True, slots=True)
class Finding:
    """All rows failing one check (vectorised form of :class:`BarProblem`).

    Attributes:
        check: the check code.
        column: the canonical column concerned.
        mask: bool ``[n_rows]``, True where the row fails, by frame position.
        describe: position -> message for one failing row.
    """

    check: str
    column: str
    mask: np.ndarray
    describe: Callable[[int], str]


@dataclass(frozen=True, slots=True)
class BarCheck:
    """The outcome of :func:`check_bars`: parsed columns plus findings.

    Attributes:
        origin: the file (or other origin) the bars came from.
        parsed: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            by frame position (``RangeIndex``), with ``NaT`` / ``None`` /
            ``NaN`` where a cell could not be parsed; nothing is dropped.
        row_numbers: int64 ``[n_rows]``, the row numbers reported to users.
        row_label: ``"line"`` or ``"row"``.
        findings: one :class:`Finding` per check that failed somewhere.
    """

    origin: str
    parsed: pd.DataFrame
    row_numbers: np.ndarray
    row_label: str
    findings: tuple[Finding, ...]

    @property
    def total(self) -> int:
        """Number of problems (failing row × check pairs)."""
        return int(sum(int(f.mask.sum()) for f in self.findings))

    def problem_rows(self) -> np.ndarray:
        """Bool ``[n_rows]``: True where a row fails at least one check."""
        out = np.zeros(len(self.parsed), dtype=bool)
        for f in self.findings:
            out |= f.mask
        return out

    def problems(self, limit: int | None = MAX_PROBLEMS) -> list[BarProblem]:
        """The first ``limit`` problems in row order (all when ``limit`` is None)."""
        hits: list[tuple[int, int, Finding]] = []
        for order, f in enumerate(self.findings):
            positions = np.flatnonzero(f.mask)
            if limit is not None:
                positions = positions[:limit]
            hits.extend((int(p), order, f) for p in positions)
        hits.sort(key=lambda h: (h[0], h[1]))
        if limit is not None:
            hits = hits[:limit]
        symbols = self.parsed[SYMBOL]
        return [
            BarProblem(
                check=f.check,
                column=f.column,
                message=f.describe(pos),
                row=int(self.row_numbers[pos]),
                row_label=self.row_label,
                symbol=symbols.iat[pos] if isinstance(symbols.iat[pos], str) else None,
            )
            for pos, _, f in hits
        ]

    def raise_if_invalid(self, max_problems: int = MAX_PROBLEMS) -> None:
        """Raise :class:`BarValidationError` if any check failed."""
        if self.findings:
            raise BarValidationError(self.origin, self.problems(max_problems), self.total)


def require_columns(df: pd.DataFrame, origin: str) -> None:
    """Raise :class:`BarValidationError` naming every canonical column ``df`` lacks.

    Args:
        df: the frame to check.
        origin: file (or other origin) named in the error.

    Raises:
        BarValidationError: with one ``missing_column`` problem per column.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        have = ", ".join(repr(str(c)) for c in df.columns) or "none"
        problems = [
            BarProblem("missing_column", c, f"required column is missing (columns present: {have})")
            for c in missing
        ]
        raise BarValidationError(origin, problems)


def check_bars(df: pd.DataFrame, origin: str, *, timestamp_format: str | None = None) -> BarCheck:
    """Parse and check bar data without raising on bad values.

    Args:
        df: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``;
            cells may be strings (as read from CSV) or typed values; extra
            columns are ignored. The index names the source rows (see module
            docstring).
        origin: file (or other origin) named in problems.
        timestamp_format: ``strftime`` format of string timestamps
            (``"%d.%m.%Y %H:%M"``); ``None`` means ISO 8601.

    Returns:
        The parsed columns and every failing check.

    Raises:
        BarValidationError: a canonical column is missing.
    """
    require_columns(df, origin)
    n = len(df)
    if df.index.name in ROW_LABELS and pd.api.types.is_integer_dtype(df.index.dtype):
        row_numbers, row_label = df.index.to_numpy(dtype=np.int64), str(df.index.name)
    else:
        row_numbers, row_label = np.arange(1, n + 1, dtype=np.int64), "row"
    raw = df.reset_index(drop=True)

    findings: list[Finding] = []

    def add(check: str, column: str, mask: np.ndarray, describe: Callable[[int], str]) -> None:
        if mask.any():
            findings.append(Finding(check, column, mask, describe))

    ts, ts_missing, ts_bad = parse_timestamps(raw[TIMESTAMP], timestamp_format)
    expected = f"expected format '{timestamp_format}'" if timestamp_format else f"expected {_ISO_HINT}"
    add("timestamp_unparseable", TIMESTAMP, ts_missing, lambda i: f"missing timestamp; {expected}")
    add(
        "timestamp_unparseable",
        TIMESTAMP,
        ts_bad,
        lambda i: f"unparseable timestamp {_cell(raw[TIMESTAMP].iat[i])}; {expected}",
    )

    symbols = parse_symbols(raw[SYMBOL])
    sym_missing = symbols.isna().to_numpy()
    add("symbol_missing", SYMBOL, sym_missing, lambda i: "missing symbol; expected a non-empty name")

    # (the ignores on lambdas with default arguments: mypy cannot infer their types)
    values: dict[str, np.ndarray] = {}
    for col in (*PRICE_COLUMNS, VOLUME):
        vals, not_number = parse_numbers(raw[col])
        values[col] = vals
        add("not_a_number", col, not_number, lambda i, c=col: f"{_cell(raw[c].iat[i])} is not a number")  # type: ignore[misc]
        nan = np.isnan(vals) & ~not_number
        if col == VOLUME:
            add("volume_nan", col, nan, lambda i: "volume is missing or NaN; expected a number >= 0")
            bad = ~np.isnan(vals) & ((vals < 0) | np.isinf(vals))
            add("volume_negative", col, bad, lambda i: f"volume {_num(values[VOLUME][i])}; expected >= 0")
        else:
            add("price_nan", col, nan, lambda i, c=col: f"{c} is missing or NaN; expected a price > 0")  # type: ignore[misc]
            bad = ~np.isnan(vals) & ((vals <= 0) | np.isinf(vals))
            add("price_not_positive", col, bad, lambda i, c=col: f"{c} {_num(values[c][i])}; expected a price > 0")  # type: ignore[misc, arg-type]

    ok = {c: np.isfinite(values[c]) & (values[c] > 0) for c in PRICE_COLUMNS}
    o, h, lo, c = (values[k] for k in PRICE_COLUMNS)
    hl_ok = ok["high"] & ok["low"]
    add(
        "high_below_low",
        "high",
        hl_ok & (h < lo),
        lambda i: f"high {_num(h[i])} < low {_num(lo[i])}; expected high >= low",
    )
    in_range = hl_ok & (h >= lo)
    for name, v in (("open", o), ("close", c)):
        outside = in_range & ok[name] & ((v < lo) | (v > h))
        add(
            f"{name}_outside_range",
            name,
            outside,
            lambda i, v=v, name=name: f"{name} {_num(v[i])} outside [low {_num(lo[i])}, high {_num(h[i])}]; "  # type: ignore[misc, arg-type]
            f"expected low <= {name} <= high",
        )

    dup, unsorted, first_pos, prev_pos = _order_checks(ts, ts_missing | ts_bad, symbols, sym_missing)
    ts_iso = _iso_formatter(ts)
    add(
        "timestamp_duplicate",
        TIMESTAMP,
        dup,
        lambda i: f"duplicate bar {ts_iso(i)} for symbol {symbols.iat[i]!r} "
        f"(same as {row_label} {row_numbers[first_pos[i]]}, to the microsecond the stores keep); "
        "expected one bar per symbol and timestamp",
    )
    add(
        "timestamp_unsorted",
        TIMESTAMP,
        unsorted,
        lambda i: f"{ts_iso(i)} is earlier than the previous bar of symbol {symbols.iat[i]!r} "
        f"({ts_iso(prev_pos[i])} at {row_label} {row_numbers[prev_pos[i]]}); "
        "expected timestamps in ascending order per symbol",
    )

    parsed = pd.DataFrame({TIMESTAMP: ts, SYMBOL: symbols, **values})
    return BarCheck(origin, parsed, row_numbers, row_label, tuple(findings))


def validate_bars(
    df: pd.DataFrame,
    origin: str,
    *,
    timestamp_format: str | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> None:
    """Validate bar data; raise listing every problem found (the first ``max_problems`` in full).

    Args:
        df: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            (strings or typed values; extra columns ignored; index may carry
            source row numbers, see module docstring).
        origin: the file (or other origin) named in the error, e.g. a path.
        timestamp_format: ``strftime`` format of string timestamps; ``None``
            means ISO 8601.
        max_problems: how many problems the message lists in full.

    Raises:
        BarValidationError: naming origin, row, column and expectation of
            each problem (see module docstring for the checks).

    Example:
        >>> import pandas as pd
        >>> bad = pd.DataFrame({"timestamp": ["2020-01-01"], "symbol": ["X"], "open": [1.0],
        ...                     "high": [0.5], "low": [1.0], "close": [1.0], "volume": [0.0]})
        >>> validate_bars(bad, "bars.csv")
        Traceback (most recent call last):
        ...
        arena.data.validate.BarValidationError: bars.csv: 1 problem(s) in bar data
          row 1, column 'high': high 0.5 < low 1.0; expected high >= low
    """
    check_bars(df, origin, timestamp_format=timestamp_format).raise_if_invalid(max_problems)


def to_canonical(df: pd.DataFrame, origin: str, *, timestamp_format: str | None = None) -> pd.DataFrame:
    """Validate bar data and return it in canonical form (see :mod:`arena.data.schema`).

    Args:
        df: as for :func:`validate_bars`.
        origin: the file (or other origin) named in errors.
        timestamp_format: as for :func:`validate_bars`.

    Returns:
        ``DataFrame[timestamp, symbol, open, high, low, close, volume]``,
        sorted by ``(timestamp, symbol)``.

    Raises:
        BarValidationError: the data failed validation.
    """
    check = check_bars(df, origin, timestamp_format=timestamp_format)
    check.raise_if_invalid()
    if len(check.parsed) == 0:
        raise BarValidationError(origin, [BarProblem("no_bars", TIMESTAMP, "no bars; expected at least one row")])
    return canonical_frame(check.parsed)


def _order_checks(
    ts: pd.Series, ts_invalid: np.ndarray, symbols: pd.Series, sym_missing: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Duplicate and unsorted timestamps per symbol, in file order.

    Returns:
        (dup mask, unsorted mask, position of the first row with the same key,
        position of the previous row of the same symbol), each ``[n_rows]``.
    """
    n = len(ts)
    dup = np.zeros(n, dtype=bool)
    unsorted = np.zeros(n, dtype=bool)
    first_pos = np.arange(n)
    prev_pos = np.arange(n)
    pos = np.flatnonzero(~ts_invalid & ~sym_missing)
    if len(pos) < 2:
        return dup, unsorted, first_pos, prev_pos
    ts_ns = ts.to_numpy(dtype="datetime64[ns]")[pos].view(np.int64)
    codes, _ = pd.factorize(symbols.to_numpy()[pos])
    keys = pd.DataFrame({"s": codes, "t": ts_ns // 1000, "p": pos})  # µs: the stores' precision
    is_dup = keys.duplicated(["s", "t"], keep="first").to_numpy()
    dup[pos[is_dup]] = True
    first_pos[pos] = keys.groupby(["s", "t"])["p"].transform("first").to_numpy()
    order = np.argsort(codes, kind="stable")
    c_o, t_o, p_o = codes[order], ts_ns[order], pos[order]
    earlier = (c_o[1:] == c_o[:-1]) & (t_o[1:] < t_o[:-1])
    later_pos = p_o[1:][earlier]
    prev_pos[later_pos] = p_o[:-1][earlier]
    unsorted[later_pos] = True
    unsorted &= ~dup
    return dup, unsorted, first_pos, prev_pos


def _num(x: float) -> str:
    return repr(float(x))


def _cell(v: object) -> str:
    return repr(v.item() if isinstance(v, np.generic) else v)


def _iso_formatter(ts: pd.Series) -> Callable[[int], str]:
    values = ts.to_numpy(dtype="datetime64[ns]")

    def fmt(i: int) -> str:
        return pd.Timestamp(values[i]).isoformat() + "Z"

    return fmt
