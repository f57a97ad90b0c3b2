"""Fixtures for the market-data tests: tiny bar files written to tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write ``lines`` (header first) to ``tmp_path/name`` and return the path."""

    def write(lines: list[str] | tuple[str, ...], name: str = "bars.csv") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
