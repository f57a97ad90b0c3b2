"""A live arena end to end on real Ray: warm-up on the historical bars, then alpaca-py's bar
stream from a local server in Alpaca's wire formats, through the same contenders, ledgers,
guardian and store as a replay; the stream is dropped once on the way."""

from __future__ import annotations

import threading
import time

import numpy as np
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


def _live_cfg(sim, tmp_path, live_bars: int, name: str):
    return parse_config({
        "name": name,
        "data": {"source": "alpaca", "symbols": ["AAPL", "MSFT"], "timeframe": "1Min",
                 "start": "2024-01-03T14:30:00Z", "data_url": sim.url, "stream_url": sim.stream_url,
                 "cache_dir": str(tmp_path / f"cache-{name}")},
        "replay": {"mode": "live", "grace_s": 0.5, "heartbeat_s": 2.0, "calendar": None, "live_bars": live_bars},
        "execution": {"sizing": "fractional"},
        "contenders": [{"name": "bench", "class": "buy_and_hold"},
                       {"name": "sma", "class": "sma_crossover", "params": {"fast": 3, "slow": 8}},
                       {"name": "flip", "class": "arena_test_contenders:FlipEveryBar", "params": {"weight": 0.6}}],
        "store": f"duckdb://{tmp_path / 'arena.duckdb'}",
        "artifacts": None,
    })


def _player(sim, n: int, interval_s: float = 0.03) -> threading.Thread:
    def play() -> None:
        t0 = time.monotonic()
        while sim.subscribed_streams == 0 and time.monotonic() - t0 < 120:
            time.sleep(0.02)
        for _ in range(n):
            sim.publish_next()
            time.sleep(interval_s)

    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    return thread


def test_a_stopped_live_run_resumes_with_the_bars_since_backfilled(ray_session, alpaca_keys, tmp_path):
    """Stopped after some live bars while the market goes on, then resumed: the bars published
    meanwhile are backfilled, and the run ends with the ledgers of an uninterrupted live run
    over the same bars, every bar and every equity row once."""
    clean_sim = market_sim(released=WARM)
    live_n = len(clean_sim.timestamps) - WARM
    _player(clean_sim, live_n)
    try:
        clean = run_arena(_live_cfg(clean_sim, tmp_path, live_n, "live-clean"))
    finally:
        clean_sim.stop()

    sim = market_sim(released=WARM)
    player = _player(sim, live_n, 0.05)
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= WARM + 15:
            stop.set()

    try:
        stopped = run_arena(_live_cfg(sim, tmp_path, live_n, "live-stop"), stop=stop, progress=progress)
        assert stopped.status == "stopped" and WARM + 15 <= stopped.n_bars < len(sim.timestamps)
        time.sleep(0.5)  # the market goes on while the arena is stopped
        assert sim.released > stopped.n_bars, "bars were published while it was stopped"
        rest = len(sim.timestamps) - stopped.n_bars
        resumed = run_arena(_live_cfg(sim, tmp_path, rest, "live-stop"), resume=stopped.run_id)
        player.join(30)
    finally:
        sim.stop()
    assert resumed.status == "finished" and resumed.n_bars == len(sim.timestamps) == clean.n_bars
    for name in ("bench", "sma", "flip"):
        a, b = clean.contenders[name], resumed.contenders[name]
        np.testing.assert_array_equal(a["ts_ns"], b["ts_ns"])
        np.testing.assert_array_equal(a["equity"], b["equity"])
        assert a["fills"] == b["fills"]
    store = open_store(_live_cfg(sim, tmp_path, 1, "live-stop").store, read_only=True)
    assert store.get_run(resumed.run_id)["status"] == "finished"
    for symbol in ("AAPL", "MSFT"):
        ts = [r["ts"] for r in store.bars(resumed.run_id, symbol)]
        assert ts == sorted(set(ts)) and ts == [r["ts"] for r in store.bars(clean.run_id, symbol)]
    assert len(store.equity_curve(resumed.run_id, "flip")) == resumed.n_bars
