"""What a contender sees of the market: the new bars and a past-only history.

Both are numpy views over the arena's replay buffer, marked read-only, and the
buffer itself only ever holds bars up to the current one: a contender cannot
look ahead, by construction (the idea of backtesting.py's ``I()``).
"""

from __future__ import annotations

from typing import NamedTuple

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported only when a contender asks for it (fast actor start-up)
    import pandas as pd

__all__ = ["Bar", "Bars", "History"]

_FIELDS = ("open", "high", "low", "close", "volume")


class Bar(NamedTuple):
    """One OHLCV bar of one symbol (prices in quote currency, volume in units)."""

    symbol: str
    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _readonly(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


class History:
    """Past-only OHLCV history, including the current bar.

    Attributes are read-only numpy views of shape ``[n, S]`` (``n`` bars seen so
    far, ``S`` symbols in ``symbols`` order; NaN where a symbol had no bar) and
    ``timestamps`` int64 ns UTC of shape ``[n]``.

    Example:
        >>> close = history.close            # float64 [n, S]
        >>> sma_10 = close[-10:].mean(axis=0)  # one value per symbol
    """

    __slots__ = ("_buf", "_n", "symbols")

    def __init__(self, buffers: dict[str, np.ndarray], n: int, symbols: tuple[str, ...]) -> None:
        self._buf = buffers
        self._n = n
        self.symbols = symbols

    def __len__(self) -> int:
        return self._n

    def _get(self, field: str) -> np.ndarray:
        a = self._buf[field][: self._n]
        return _readonly(a) if a.flags.writeable else a

    @property
    def timestamps(self) -> np.ndarray:
        """int64 ns UTC, shape [n]."""
        return self._get("ts_ns")

    @property
    def open(self) -> np.ndarray:
        """float64 [n, S], quote currency."""
        return self._get("open")

    @property
    def high(self) -> np.ndarray:
        """float64 [n, S], quote currency."""
        return self._get("high")

    @property
    def low(self) -> np.ndarray:
        """float64 [n, S], quote currency."""
        return self._get("low")

    @property
    def close(self) -> np.ndarray:
        """float64 [n, S], quote currency."""
        return self._get("close")

    @property
    def volume(self) -> np.ndarray:
        """float64 [n, S], units."""
        return self._get("volume")

    def column(self, symbol: str, field: str = "close") -> np.ndarray:
        """One symbol's series, float64 [n].

        Raises:
            KeyError: if ``symbol`` is not in this history or ``field`` is not OHLCV.
        """
        if field not in _FIELDS:
            raise KeyError(f"unknown field {field!r}; expected one of {_FIELDS}")
        try:
            j = self.symbols.index(symbol)
        except ValueError:
            raise KeyError(f"unknown symbol {symbol!r}; this history has {list(self.symbols)}") from None
        return self._get(field)[:, j]

    def frame(self) -> "pd.DataFrame":
        """The history as ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
        (long form, UTC timestamps; rows where a symbol had no bar are left out).
        Slow compared with the array views: meant for model fitting, not per-bar use."""
        import pandas as pd

        n, s = self._n, len(self.symbols)
        ts = np.repeat(self._buf["ts_ns"][:n], s)
        data = {"timestamp": pd.to_datetime(ts, utc=True), "symbol": np.tile(np.array(self.symbols, dtype=object), n)}
        for f in _FIELDS:
            data[f] = self._buf[f][:n].reshape(-1)
        df = pd.DataFrame(data)
        return df[df["close"].notna()].reset_index(drop=True)


class Bars:
    """The bars of one timestamp, for every symbol the contender trades (read-only).

    Attributes:
        ts_ns: bar timestamp, ns since the epoch, UTC.
        index: bar number in the replay (0-based, counting every timestamp).
        symbols: the contender's symbols (order of the arrays).
        open, high, low, close, volume: float64 [S]; NaN where a symbol has no bar.
        history: past-only history up to and including this bar.

    Built by the arena with :meth:`of_history` (the row arrays are read from the
    history's last row when first asked for), or from explicit arrays in tests.
    """

    __slots__ = ("_row", "history", "index", "symbols", "ts_ns")

    ts_ns: int
    index: int
    symbols: tuple[str, ...]
    history: History
    _row: tuple[np.ndarray, ...] | None  # open, high, low, close, volume; None until first read

    def __init__(
        self,
        ts_ns: int,
        index: int,
        symbols: tuple[str, ...],
        open: np.ndarray,  # noqa: A002 - the field's name
        high: np.ndarray,
        low: np.ndarray,
        close: np.ndarray,
        volume: np.ndarray,
        history: History,
    ) -> None:
        for name, value in (("ts_ns", ts_ns), ("index", index), ("symbols", symbols), ("history", history),
                            ("_row", (open, high, low, close, volume))):
            object.__setattr__(self, name, value)

    @classmethod
    def of_history(cls, ts_ns: int, index: int, symbols: tuple[str, ...], history: History) -> Bars:
        """The bars of ``history``'s last row (no arrays are sliced until one is read)."""
        self = object.__new__(cls)
        _set = object.__setattr__
        _set(self, "ts_ns", ts_ns)
        _set(self, "index", index)
        _set(self, "symbols", symbols)
        _set(self, "history", history)
        _set(self, "_row", None)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Bars is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Bars is read-only: cannot delete {name!r}")

    def __repr__(self) -> str:
        return f"Bars(ts_ns={self.ts_ns}, index={self.index}, symbols={self.symbols})"

    def _field(self, k: int) -> np.ndarray:
        row: tuple[np.ndarray, ...] | None = self._row
        if row is None:
            h = self.history
            last = len(h) - 1
            row = tuple(h._get(f)[last] for f in _FIELDS)
            object.__setattr__(self, "_row", row)
        return row[k]

    @property
    def open(self) -> np.ndarray:
        """float64 [S], quote currency; NaN where a symbol has no bar."""
        return self._field(0)

    @property
    def high(self) -> np.ndarray:
        """float64 [S], quote currency."""
        return self._field(1)

    @property
    def low(self) -> np.ndarray:
        """float64 [S], quote currency."""
        return self._field(2)

    @property
    def close(self) -> np.ndarray:
        """float64 [S], quote currency."""
        return self._field(3)

    @property
    def volume(self) -> np.ndarray:
        """float64 [S], units."""
        return self._field(4)

    @property
    def timestamp(self) -> "pd.Timestamp":
        """The bar timestamp as a UTC pandas Timestamp."""
        import pandas as pd

        return pd.Timestamp(self.ts_ns, tz="UTC")

    def __getitem__(self, symbol: str) -> Bar:
        """One symbol's bar. Raises KeyError for a symbol the contender does not trade."""
        try:
            j = self.symbols.index(symbol)
        except ValueError:
            raise KeyError(f"unknown symbol {symbol!r}; these bars have {list(self.symbols)}") from None
        return Bar(
            symbol,
            self.ts_ns,
            float(self.open[j]),
            float(self.high[j]),
            float(self.low[j]),
            float(self.close[j]),
            float(self.volume[j]),
        )
