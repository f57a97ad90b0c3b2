"""The Alpaca data spec and live mode in a config: the demo config is valid, bad combinations
are refused naming the key, and the demo market serves the bundled bars as minutes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from arena.config import ConfigError, load_config, parse_config
from arena.data.alpaca.demo import demo_bars

ROOT = Path(__file__).resolve().parents[4]
BASE = {"name": "x", "contenders": [{"name": "b", "class": "buy_and_hold"}]}
ALPACA = {"source": "alpaca", "symbols": ["AAPL"], "timeframe": "1Min", "start": "2024-01-03"}


def test_the_live_demo_config_is_valid():
    cfg = load_config(ROOT / "configs" / "live_demo.yaml")
    assert cfg.replay.mode == "live" and cfg.data.source == "alpaca" and cfg.replay.calendar is None
    assert cfg.data.data_url.startswith("http://127.0.0.1") and cfg.data.end is None


@pytest.mark.parametrize("data, replay, expected", [
    ({"source": "sample", "name": "us_equities_daily"}, {"mode": "live"}, "live needs data.source 'alpaca'"),
    ({**ALPACA, "timeframe": "1Day"}, {"mode": "live"}, "data.timeframe must be '1Min'"),
    ({**ALPACA, "feed": "otc"}, {}, "data.feed"),
    ({**ALPACA, "start": "2024-02-01", "end": "2024-01-01"}, {}, "start (2024-02-01) is after end"),
    ({**ALPACA, "api_key": "x"}, {}, "data.api_key: unknown key"),
])
def test_bad_alpaca_configs_name_the_key(data, replay, expected):
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, "data": data, "replay": replay})
    assert expected in str(err.value)


def test_the_demo_market_relabels_the_bundled_bars_as_minutes():
    frame = demo_bars("us_equities_daily", ["GOOGL", "MSFT"], "2024-01-03T14:30:00Z", 5)
    assert list(frame.timestamp.unique()) == list(pd.date_range("2024-01-03T14:30:00Z", periods=5, freq="1min"))
    assert sorted(set(frame.symbol)) == ["GOOGL", "MSFT"] and len(frame) == 10
    with pytest.raises(KeyError, match="has no \\['AAPL'\\]"):
        demo_bars("us_equities_daily", ["AAPL"], "2024-01-03T14:30:00Z", 5)
