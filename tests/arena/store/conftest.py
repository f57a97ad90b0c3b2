"""Fixtures for the store tests: a fresh DuckDB store file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arena.store import DuckDBStore


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "arena.duckdb"


@pytest.fixture
def store(store_path: Path) -> Iterator[DuckDBStore]:
    with DuckDBStore(store_path) as opened:
        yield opened
