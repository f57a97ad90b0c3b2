"""The one interface every bar source implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pandas as pd

__all__ = ["BarSource"]


class BarSource(ABC):
    """A source of historical OHLCV bars.

    Implementations: :class:`arena.data.SampleSource` (bundled real data),
    :class:`arena.data.FileSource` (a user CSV/Parquet file),
    :class:`arena.data.SyntheticSource` (seeded GBM bars). A later vendor
    source (e.g. Alpaca) implements the same two methods and registers a
    factory with :func:`arena.data.register_source_kind`.

    Attributes:
        kind: the ``source`` value that names this kind in a data spec.
    """

    kind: ClassVar[str]

    @abstractmethod
    def load(self) -> pd.DataFrame:
        """Load and validate the bars.

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``
            in canonical form (see :mod:`arena.data.schema`): timestamps
            ``datetime64[ns, UTC]``, prices in quote currency, volume in
            units, sorted by ``(timestamp, symbol)``.

        Raises:
            arena.data.BarValidationError: the bars fail validation.
            OSError: the underlying data cannot be read.
        """

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """JSON-ready description of the source (kind, origin, parameters).

        Returns:
            A dict with at least ``"kind"``; the rest depends on the source.
        """
