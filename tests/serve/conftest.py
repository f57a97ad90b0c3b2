"""Fixtures for the API tests: a store holding the sample run, and a TestClient over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_sample_run import SampleRun, write_sample_run

from arena.store import DuckDBStore
from serve.api import create_app


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, SampleRun]:
    """URL of a closed DuckDB store holding the sample run, and the run's ids."""
    path: Path = tmp_path_factory.mktemp("api") / "arena.duckdb"
    with DuckDBStore(path) as store:
        sample = write_sample_run(store)
    return f"duckdb://{path}", sample


@pytest.fixture
def client(sample_store: tuple[str, SampleRun]) -> Iterator[TestClient]:
    with TestClient(create_app(sample_store[0])) as test_client:
        yield test_client


@pytest.fixture
def sample(sample_store: tuple[str, SampleRun]) -> SampleRun:
    return sample_store[1]
