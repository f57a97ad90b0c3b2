"""On-disk cache of Alpaca downloads: one Parquet file per request.

The file ``<folder>/<asset_class>-<timeframe>-<key>.parquet`` (``key`` =
:meth:`BarsRequest.key`) holds the canonical bars and, in its Parquet key-value metadata
under ``model_arena.alpaca``, the request (JSON, no credentials), the row count and the
bars' content hash (:func:`arena.data.schema.data_sha256`). A read checks all three, so a
rerun is offline and gives the very bars the first run had, or fails naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from arena.data.alpaca.request import BarsRequest
from arena.data.schema import COLUMNS, canonical_frame, data_sha256

__all__ = ["META_KEY", "BarCache", "CacheIntegrityError"]

META_KEY = b"model_arena.alpaca"


class CacheIntegrityError(ValueError):
    """A cache file does not hold what its metadata says (names the file and the mismatch)."""


class BarCache:
    """The Parquet files of Alpaca downloads under ``folder``.

    Args:
        folder: the cache folder (created on the first write); relative paths are taken
            from the working directory.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path_for(self, request: BarsRequest) -> Path:
        """The file that holds (or will hold) the bars of ``request``."""
        return self.folder / f"{request.asset_class}-{request.timeframe}-{request.key()}.parquet"

    def read(self, request: BarsRequest) -> pd.DataFrame | None:
        """The cached bars of ``request``, or None when not cached.

        Returns:
            ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical.

        Raises:
            CacheIntegrityError: the file is unreadable, has no metadata, or its request,
                row count or sha256 differ from what it holds (delete it to download again).
        """
        path = self.path_for(request)
        if not path.is_file():
            return None
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CacheIntegrityError(
                f"{path}: not a readable Parquet file ({exc}); delete it to download again"
            ) from None
        meta = self.metadata(path, table.schema)
        if meta["request"] != request.to_json():
            raise CacheIntegrityError(f"{path}: records request {meta['request']}, expected {request.to_json()}")
        frame = canonical_frame(table.to_pandas())
        if len(frame) != meta["rows"]:
            raise CacheIntegrityError(f"{path}: holds {len(frame)} rows, its metadata says {meta['rows']}")
        sha = data_sha256(frame)
        if sha != meta["sha256"]:
            raise CacheIntegrityError(
                f"{path}: bars hash to sha256 {sha}, its metadata says {meta['sha256']}; delete it to download again"
            )
        return frame

    def write(self, request: BarsRequest, frame: pd.DataFrame) -> Path:
        """Store ``frame`` (canonical bars of ``request``) atomically; returns the file."""
        path = self.path_for(request)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = canonical_frame(frame)
        meta = {"request": request.to_json(), "rows": len(frame), "sha256": data_sha256(frame)}
        table = pa.Table.from_pandas(frame[list(COLUMNS)], preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()})
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path

    @staticmethod
    def metadata(path: Path, schema: pa.Schema | None = None) -> dict[str, Any]:
        """The ``model_arena.alpaca`` metadata of a cache file: ``request``, ``rows``, ``sha256``.

        Raises:
            CacheIntegrityError: the file has none, or it is not valid JSON.
        """
        schema = schema if schema is not None else pq.read_schema(path)
        raw = (schema.metadata or {}).get(META_KEY)
        try:
            meta = json.loads(raw) if raw is not None else None
        except ValueError:
            meta = None
        if not isinstance(meta, dict) or not {"request", "rows", "sha256"} <= set(meta):
            raise CacheIntegrityError(
                f"{path}: no model_arena.alpaca metadata (request, rows, sha256); not a cache file"
            )
        return meta
