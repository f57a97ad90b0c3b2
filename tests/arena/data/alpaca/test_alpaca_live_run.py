"""A live arena end to end on real Ray: warm-up on the historical bars, then alpaca-py's bar
stream from a local server in Alpaca's wire formats, through the same contenders, ledgers,
guardian and store as a replay; the stream is dropped once on the way."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest
from alpaca_market_server import load_payload, market_sim

from arena.config import parse_config
from arena.store import open_store
from arena.topology import run_arena

pytestmark = pytest.mark.ray
WARM = 30


def test_a_live_run_trades_the_streamed_bars_once_each(ray_session, alpaca_keys, tmp_path):
    sim = market_sim(released=WARM)
    live_n = len(sim.timestamps) - WARM
    cfg = parse_config({
        "name": "live-test",
        "data": {"source": "alpaca", "symbols": ["AAPL", "MSFT"], "timeframe": "1Min",
                 "start": "2024-01-03T14:30:00Z", "data_url": sim.url, "stream_url": sim.stream_url,
                 "cache_dir": str(tmp_path / "cache")},
        "replay": {"mode": "live", "grace_s": 0.5, "heartbeat_s": 2.0, "calendar": None, "live_bars": live_n},
        "execution": {"sizing": "fractional"},
        "contenders": [{"name": "bench", "class": "buy_and_hold"},
                       {"name": "sma", "class": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "store": f"duckdb://{tmp_path / 'arena.duckdb'}",
        "artifacts": None,
    })

    def play() -> None:  # once the feed has subscribed; the stream is dropped a third of the way
        t0 = time.monotonic()
        while sim.subscribed_streams == 0 and time.monotonic() - t0 < 120:
            time.sleep(0.02)
        for i in range(live_n):
            if i == 20:
                sim.drop_streams()
            sim.publish_next()
            time.sleep(0.03)

    player = threading.Thread(target=play, daemon=True)
    player.start()
    try:
        result = run_arena(cfg)
    finally:
        sim.stop()
    assert result.status == "finished" and result.n_bars == len(sim.timestamps)
    store = open_store(cfg.store, read_only=True)
    payload = load_payload("stock_bars_1min.json")["bars"]
    for symbol, bars in payload.items():
        rows = store.bars(result.run_id, symbol)
        assert [r["ts"] for r in rows] == sorted({r["ts"] for r in rows})  # each bar once
        assert [pd.Timestamp(r["ts"]).value for r in rows] == [pd.Timestamp(b["t"]).value for b in bars]
        assert [r["close"] for r in rows] == [b["c"] for b in bars]
    warm_end = pd.Timestamp(int(sim.timestamps[WARM - 1]), tz="UTC")
    fills = store.fills(result.run_id)
    assert fills and min(pd.Timestamp(f["ts"]) for f in fills) > warm_end  # the warm-up is observed, not traded
    assert len(store.equity_curve(result.run_id, "bench")) == result.n_bars
    assert store.get_run(result.run_id)["data_source"]["cache_file"].endswith(".parquet")
