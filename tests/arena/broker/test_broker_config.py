"""The ``broker:`` section: strict, its mirrored contenders checked, no credentials in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from arena.config import ConfigError, parse_config
from arena.secrets import redact

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def _raw(**broker):
    return {
        "name": "b", "data": {"source": "synthetic"},
        "contenders": [{"name": "sma", "class": "sma_crossover"}, {"name": "bench", "class": "buy_and_hold"}],
        "broker": {"kind": "alpaca_paper", "mirror": {"sma": "ALPACA_SMA"}, **broker},
    }


def test_a_valid_broker_section_parses():
    cfg = parse_config(_raw(url="http://127.0.0.1:9999/"))
    assert cfg.broker.mirror == {"sma": "ALPACA_SMA"} and cfg.broker.url == "http://127.0.0.1:9999"
    assert cfg.broker.settle_s == 10.0 and redact(cfg.to_dict())["broker"]["mirror"] == {"sma": "ALPACA_SMA"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mirror": {"smaa": "ALPACA_SMA"}}, r"broker.mirror names \['smaa'\], which are not contenders.*'sma'\?"),
        ({"mirror": {"sma": "alpaca-sma"}}, r"broker.mirror: .*key prefix 'alpaca-sma' must be"),
        ({"url": "https://key:secret@paper-api.alpaca.markets"}, r"broker.url: .*must not carry credentials"),
        ({"kind": "ib"}, r"broker.kind"),
        ({"api_key": "x"}, r"broker.api_key: unknown key"),
        ({"mirror": {}}, r"broker.mirror"),
    ],
)
def test_bad_broker_sections_are_named(change, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(_raw(**change), "cfg.yaml")


def test_the_alpaca_paper_config_mirrors_a_contender_it_has():
    raw = yaml.safe_load((CONFIGS / "alpaca_paper.yaml").read_text())
    cfg = parse_config(raw, "configs/alpaca_paper.yaml")
    assert cfg.replay.mode == "live" and cfg.data.source == "alpaca" and cfg.data.timeframe == "1Min"
    import pandas as pd

    back = pd.Timestamp.now(tz="UTC") - pd.Timestamp(cfg.data.start)
    assert pd.Timedelta(days=4.99) < back < pd.Timedelta(days=5.01), "the relative start is fixed at load"
    assert cfg.broker.kind == "alpaca_paper" and set(cfg.broker.mirror) <= {c.name for c in cfg.contenders}
