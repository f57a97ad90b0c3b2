"""Fixtures of the paper-mirror tests: the local Alpaca trading server (tests/support)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "support"))

from alpaca_trading_server import AlpacaTradingServer  # noqa: E402


@pytest.fixture
def trading_server():
    """A fresh local Alpaca trading server on loopback (keys PKTEST / SECRET), stopped after the test."""
    server = AlpacaTradingServer().start()
    yield server
    server.stop()
