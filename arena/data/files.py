"""Bars from a user's CSV or Parquet file.

Column names are matched case-insensitively (surrounding spaces ignored):

* the bar time: exactly one of ``timestamp``, ``date``, ``datetime``, ``time``;
* ``symbol`` (optional when a symbol is given for the whole file);
* ``open``, ``high``, ``low``, ``close``, ``volume``.

Other columns (``Adj Close``, ``OpenInt``, ...) are ignored and listed in
:meth:`FileSource.describe`. Naive timestamps are taken as UTC, tz-aware ones
converted to UTC. Rows are reported by file line (CSV, header = line 1) or by
1-based data row (Parquet).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from arena.data.base import BarSource
from arena.data.schema import COLUMNS, SYMBOL, TIMESTAMP
from arena.data.validate import BarProblem, BarValidationError, to_canonical

__all__ = [
    "TIMESTAMP_ALIASES",
    "FileFormat",
    "FileSource",
    "RawBars",
    "detect_format",
    "match_columns",
    "read_bar_file",
    "read_header",
]

FileFormat = Literal["csv", "parquet"]

TIMESTAMP_ALIASES: tuple[str, ...] = ("timestamp", "date", "datetime", "time")
"""Accepted names of the bar-time column (case-insensitive)."""

_SUFFIXES: dict[str, FileFormat] = {
    ".csv": "csv",
    ".txt": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True, slots=True)
class RawBars:
    """A bar file read but not yet validated.

    Attributes:
        origin: the file path, as named in errors.
        file_format: ``"csv"`` or ``"parquet"``.
        frame: ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            holding the file's raw cells (strings for CSV); its index holds the
            source row numbers, named ``"line"`` (CSV) or ``"row"`` (Parquet).
        columns: canonical name -> the file's own column name (``"symbol"``
            maps to ``None`` when the symbol was given, not read).
        ignored_columns: the file's columns that were not used, in file order.
        symbol: the symbol given for the whole file, if any.
    """

    origin: str
    file_format: FileFormat
    frame: pd.DataFrame
    columns: dict[str, str | None]
    ignored_columns: tuple[str, ...]
    symbol: str | None


def detect_format(path: Path, file_format: str | None = None) -> FileFormat:
    """The format of a bar file: ``file_format`` if given, else from the suffix.

    Raises:
        ValueError: unknown ``file_format`` or unrecognised suffix (the
            message names the file and the accepted suffixes).
    """
    if file_format is not None:
        if file_format not in ("csv", "parquet"):
            raise ValueError(f"{path}: unknown file format {file_format!r}; expected 'csv' or 'parquet'")
        return file_format  # type: ignore[return-value]
    name = path.name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    raise ValueError(
        f"{path}: cannot tell the file format from its name; expected one of "
        f"{', '.join(sorted(_SUFFIXES))} (or give the format: source 'csv' or 'parquet')"
    )


def match_columns(
    names: Sequence[str], origin: str, *, symbol_given: bool
) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """Map a file's column names onto the canonical columns.

    Args:
        names: the file's column names, in file order.
        origin: the file, named in errors.
        symbol_given: True when a symbol is given for the whole file (then a
            ``symbol`` column is optional).

    Returns:
        ``(columns, ignored)``: canonical name -> file column name (``symbol``
        -> ``None`` when absent and given), and the unused file columns.

    Raises:
        BarValidationError: required columns are missing, or two columns
            match the same canonical name (``Close`` and ``close``; ``Date``
            and ``Time``).
    """
    by_key: dict[str, list[str]] = {}
    for name in names:
        by_key.setdefault(str(name).strip().lower(), []).append(str(name))
    problems: list[BarProblem] = []
    present = ", ".join(repr(str(n)) for n in names) or "none"
    columns: dict[str, str | None] = {}

    ts_hits = [n for alias in TIMESTAMP_ALIASES for n in by_key.get(alias, [])]
    if len(ts_hits) == 1:
        columns[TIMESTAMP] = ts_hits[0]
    elif not ts_hits:
        problems.append(
            BarProblem(
                "missing_column",
                TIMESTAMP,
                f"no bar-time column; expected one named {'/'.join(TIMESTAMP_ALIASES)} (columns present: {present})",
            )
        )
    else:
        problems.append(
            BarProblem(
                "ambiguous_column",
                TIMESTAMP,
                f"several bar-time columns {ts_hits}; expected exactly one of {'/'.join(TIMESTAMP_ALIASES)} "
                "(combine date and time into one column)",
            )
        )
    for col in COLUMNS[1:]:
        hits = by_key.get(col, [])
        if len(hits) == 1:
            columns[col] = hits[0]
        elif len(hits) > 1:
            problems.append(BarProblem("ambiguous_column", col, f"several columns match {col!r}: {hits}"))
        elif col == SYMBOL and symbol_given:
            columns[col] = None
        elif col == SYMBOL:
            problems.append(
                BarProblem(
                    "missing_column",
                    col,
                    f"no 'symbol' column (columns present: {present}); expected a symbol column, "
                    "or give the symbol for the whole file (FileSource(path, symbol='GOOG') or "
                    "'symbol: GOOG' in the data spec)",
                )
            )
        else:
            problems.append(
                BarProblem("missing_column", col, f"required column is missing (columns present: {present})")
            )
    if problems:
        raise BarValidationError(origin, problems)
    used = {v for v in columns.values() if v is not None}
    ignored = tuple(str(n) for n in names if str(n) not in used)
    return columns, ignored


def read_header(path: Path, file_format: FileFormat) -> list[str]:
    """The column names of a bar file, without reading its data.

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is empty or not valid Parquet.
    """
    if file_format == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{path}: not a readable Parquet file ({exc})") from exc
    with _open_text(path) as fh:
        for row in csv.reader(line for line in fh if line.strip()):
            return [c.strip() for c in row]
    raise ValueError(f"{path}: empty file; expected a header line and bars")


def read_bar_file(path: str | Path, symbol: str | None = None, file_format: str | None = None) -> RawBars:
    """Read a CSV or Parquet bar file without validating its values.

    Args:
        path: the file (``.csv``, ``.csv.gz``, ``.txt``, ``.parquet``, ``.pq``).
        symbol: the symbol of every bar, for files without a ``symbol`` column;
            for files with one, only the rows of this symbol are kept.
        file_format: ``"csv"`` or ``"parquet"``; ``None`` infers it from the suffix.

    Returns:
        The raw bars with canonical column names and source row numbers.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file (bad encoding, malformed CSV, bad Parquet).
        BarValidationError: required columns missing, or ``symbol`` matches no row.
    """
    p = Path(path)
    origin = str(p)
    if not p.is_file():
        raise FileNotFoundError(f"bar file not found: {p}")
    fmt = detect_format(p, file_format)
    if fmt == "csv":
        df, row_numbers, label = _read_csv(p)
    else:
        try:
            df = pq.read_table(p).to_pandas()
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(f"{p}: not a readable Parquet file ({exc})") from exc
        row_numbers, label = list(range(1, len(df) + 1)), "row"
    columns, ignored = match_columns(list(df.columns), origin, symbol_given=symbol is not None)
    frame = pd.DataFrame(
        {canon: (df[orig].to_numpy() if orig is not None else symbol) for canon, orig in columns.items()},
        columns=list(COLUMNS),
    )
    frame.index = pd.Index(row_numbers, dtype="int64", name=label)
    if symbol is not None and columns[SYMBOL] is not None:
        in_file = frame[SYMBOL].astype(str).str.strip()
        keep = (in_file == symbol).to_numpy()
        if not keep.any():
            found = sorted(set(in_file.dropna()))
            shown = ", ".join(found[:20]) + (f" (+{len(found) - 20} more)" if len(found) > 20 else "")
            message = f"no rows for symbol {symbol!r}; symbols in file: {shown}"
            raise BarValidationError(origin, [BarProblem("symbol_missing", SYMBOL, message)])
        frame = frame[keep]
    return RawBars(origin, fmt, frame, columns, ignored, symbol)


class FileSource(BarSource):
    """OHLCV bars from a user CSV or Parquet file (see module docstring for columns).

    Args:
        path: the file.
        symbol: symbol of every bar when the file has no ``symbol`` column;
            with a ``symbol`` column, selects that symbol's rows.
        file_format: ``"csv"`` or ``"parquet"``; ``None`` infers from the suffix.
        timestamp_format: ``strftime`` format of the time column
            (``"%d.%m.%Y %H:%M:%S.%f"``); ``None`` means ISO 8601.

    Example:
        >>> bars = FileSource("goog.csv", symbol="GOOG").load()  # doctest: +SKIP
    """

    kind: ClassVar[str] = "file"

    def __init__(
        self,
        path: str | Path,
        symbol: str | None = None,
        *,
        file_format: str | None = None,
        timestamp_format: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.symbol = symbol
        self.file_format = detect_format(self.path, file_format)
        self.timestamp_format = timestamp_format

    def read_raw(self) -> RawBars:
        """The file's bars before validation (see :func:`read_bar_file`)."""
        return read_bar_file(self.path, self.symbol, self.file_format)

    def load(self) -> pd.DataFrame:
        """Read, validate and canonicalise the file's bars.

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical.

        Raises:
            FileNotFoundError: no such file.
            ValueError: unreadable file.
            BarValidationError: bad columns or values, each named by line/row and column.
        """
        raw = self.read_raw()
        return to_canonical(raw.frame, raw.origin, timestamp_format=self.timestamp_format)

    def describe(self) -> dict[str, Any]:
        """Kind, path, format, symbol, column mapping and ignored columns (reads the header only).

        Raises:
            FileNotFoundError: no such file.
            BarValidationError: required columns missing.
        """
        if not self.path.is_file():
            raise FileNotFoundError(f"bar file not found: {self.path}")
        header = read_header(self.path, self.file_format)
        columns, ignored = match_columns(header, str(self.path), symbol_given=self.symbol is not None)
        return {
            "kind": self.kind,
            "path": str(self.path.resolve()),
            "format": self.file_format,
            "symbol": self.symbol,
            "timestamp_format": self.timestamp_format,
            "columns": columns,
            "ignored_columns": list(ignored),
        }


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[int], str]:
    """Read every cell as text; return (frame, row numbers, row label)."""
    try:
        with _open_text(path) as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc}); expected a UTF-8 CSV file") from exc
    if not text.strip():
        raise ValueError(f"{path}: empty file; expected a header line and bars")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], skip_blank_lines=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValueError(f"{path}: malformed CSV ({exc})") from exc
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    non_blank = [i for i, line in enumerate(lines, start=1) if line.strip()]
    if len(non_blank) - 1 == len(df):
        return df, non_blank[1:], "line"
    # Quoted cells spanning lines: file lines no longer map to rows; count data rows instead.
    return df, list(range(1, len(df) + 1)), "row"
