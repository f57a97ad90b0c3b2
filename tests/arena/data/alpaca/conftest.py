"""Fixtures of the Alpaca tests: the test key pair in the environment, a local server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "support"))

from alpaca_market_server import KEYS, market_sim  # noqa: E402

from arena.data.alpaca.sim import AlpacaMarketSim  # noqa: E402


@pytest.fixture
def alpaca_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The key pair the test servers accept, set as APCA_API_KEY_ID / APCA_API_SECRET_KEY."""
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    return KEYS


@pytest.fixture
def stock_sim(alpaca_keys: dict[str, str]) -> Iterator[AlpacaMarketSim]:
    """A local server of the recorded stock minute bars, all released, 50 bars a page."""
    sim = market_sim("stock_bars_1min.json", page_size=50)
    yield sim
    sim.stop()
