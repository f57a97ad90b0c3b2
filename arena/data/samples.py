"""Bundled real historical bars, shipped inside the package.

Each data set ``<name>`` is a Parquet file ``samples/<name>.parquet`` in the
canonical schema (see :mod:`arena.data.schema`) with a manifest
``samples/<name>.json`` recording where the bars come from (package, version,
file, licence), what was done to them, and two hashes: ``parquet_sha256`` (of
the file's bytes) and ``data_sha256`` (of its content, see
:func:`arena.data.data_sha256`). ``scripts/build_samples.py`` rebuilds them.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pyarrow.parquet as pq

from arena.data.base import BarSource
from arena.data.schema import SYMBOL, TIMESTAMP, data_sha256
from arena.data.validate import to_canonical

__all__ = [
    "MANIFEST_KEYS",
    "SampleIntegrityError",
    "SampleSource",
    "file_sha256",
    "list_samples",
    "sample_names",
    "samples_dir",
]

MANIFEST_KEYS: tuple[str, ...] = (
    "name",
    "description",
    "bar_frequency",
    "timestamp_convention",
    "rows",
    "symbols",
    "first_timestamp",
    "last_timestamp",
    "columns",
    "sources",
    "notes",
    "parquet_file",
    "parquet_sha256",
    "data_sha256",
)
"""Keys every manifest carries, in the order the build script writes them."""


class SampleIntegrityError(ValueError):
    """A bundled data set does not match its manifest (corrupt or hand-edited file)."""


def samples_dir() -> Path:
    """The folder holding the bundled Parquet files and manifests."""
    return Path(str(resources.files("arena.data").joinpath("samples")))


def list_samples(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """The manifests of all bundled data sets, sorted by name.

    Args:
        directory: folder of Parquet files and manifests; ``None``: the
            package's own :func:`samples_dir`.

    Returns:
        One dict per data set with (at least) the keys of :data:`MANIFEST_KEYS`.

    Raises:
        SampleIntegrityError: a manifest lacks a key.
    """
    folder = Path(directory) if directory is not None else samples_dir()
    return [_read_manifest(p) for p in sorted(folder.glob("*.json"))]


def sample_names(directory: str | Path | None = None) -> list[str]:
    """Names of the bundled data sets, sorted (``["crypto_hourly", ...]``)."""
    folder = Path(directory) if directory is not None else samples_dir()
    return [p.stem for p in sorted(folder.glob("*.json"))]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, 64 lowercase hex characters."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SampleSource(BarSource):
    """A bundled data set of real bars, by name.

    Args:
        name: a data set name from :func:`list_samples`, e.g. ``"us_equities_daily"``.
        directory: folder holding ``<name>.parquet`` and ``<name>.json``;
            ``None``: the bundle shipped in the package.

    Raises:
        KeyError: unknown name (the message lists the available names).

    Example:
        >>> bars = SampleSource("us_equities_daily").load()
        >>> sorted(bars["symbol"].unique())
        ['GOOGL', 'IXIC', 'MSFT', 'SPX']
    """

    kind: ClassVar[str] = "sample"

    def __init__(self, name: str, *, directory: str | Path | None = None) -> None:
        folder = Path(directory) if directory is not None else samples_dir()
        names = sample_names(folder)
        if name not in names:
            raise KeyError(f"unknown sample data set {name!r}; available: {', '.join(names) or 'none'}")
        self.name = name
        self.manifest = _read_manifest(folder / f"{name}.json")
        self.path = folder / self.manifest["parquet_file"]

    def load(self) -> pd.DataFrame:
        """Load the data set, checking it against its manifest.

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical.

        Raises:
            SampleIntegrityError: the Parquet file's sha256, row count, symbols
                or content hash differ from the manifest.
            arena.data.BarValidationError: the bars fail validation.
        """
        actual = file_sha256(self.path)
        if actual != self.manifest["parquet_sha256"]:
            raise SampleIntegrityError(
                f"{self.path}: sha256 {actual} does not match the manifest's parquet_sha256 "
                f"{self.manifest['parquet_sha256']}; rebuild with scripts/build_samples.py"
            )
        raw = pq.read_table(self.path).to_pandas()
        raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
        df = to_canonical(raw, str(self.path))
        checks = {
            "rows": (len(df), self.manifest["rows"]),
            "symbols": (sorted(df[SYMBOL].unique()), self.manifest["symbols"]),
            "first_timestamp": (df[TIMESTAMP].iloc[0].isoformat(), self.manifest["first_timestamp"]),
            "last_timestamp": (df[TIMESTAMP].iloc[-1].isoformat(), self.manifest["last_timestamp"]),
            "data_sha256": (data_sha256(df), self.manifest["data_sha256"]),
        }
        wrong = [f"{k}: file has {got!r}, manifest says {want!r}" for k, (got, want) in checks.items() if got != want]
        if wrong:
            raise SampleIntegrityError(f"{self.path} does not match its manifest: " + "; ".join(wrong))
        return df

    def describe(self) -> dict[str, Any]:
        """``{"kind": "sample", **manifest}``."""
        return {"kind": self.kind, **self.manifest}


def _read_manifest(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        manifest = json.load(fh)
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise SampleIntegrityError(f"{path}: manifest lacks key(s) {missing}")
    return manifest
