"""Alpaca market-data servers for the tests: :class:`arena.data.alpaca.sim.AlpacaMarketSim`
on loopback, loaded with the recorded Alpaca-format payloads under
``tests/arena/data/alpaca/payloads`` (see the README there)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arena.data.alpaca.sim import AlpacaMarketSim, bars_from_payload

PAYLOADS = Path(__file__).resolve().parent.parent / "arena" / "data" / "alpaca" / "payloads"
KEYS = {"APCA_API_KEY_ID": "PKTEST0000000000", "APCA_API_SECRET_KEY": "test-secret-0000000000000000"}
"""The key pair the test servers accept (set in the environment by the tests)."""


def load_payload(name: str) -> dict[str, Any]:
    """A recorded Alpaca bars answer, e.g. ``stock_bars_1min.json``."""
    return json.loads((PAYLOADS / name).read_text())


def market_sim(payload: str = "stock_bars_1min.json", **kwargs: Any) -> AlpacaMarketSim:
    """A started simulator serving ``payload`` with the test key pair (``timeframe``,
    ``asset_class``, ``released``, ``page_size`` as for :class:`AlpacaMarketSim`)."""
    kwargs.setdefault("timeframe", "1Hour" if payload.startswith("crypto") else "1Min")
    kwargs.setdefault("asset_class", "crypto" if payload.startswith("crypto") else "stock")
    return AlpacaMarketSim(
        bars_from_payload(load_payload(payload)),
        key_id=KEYS["APCA_API_KEY_ID"],
        secret_key=KEYS["APCA_API_SECRET_KEY"],
        **kwargs,
    ).start()
