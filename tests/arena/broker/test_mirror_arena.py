"""One small arena run on Ray with a mirrored contender: its approved orders reach the local
paper server once each, and every internal fill is reconciled with the paper fill."""

from __future__ import annotations

import pytest

from arena.config import parse_config
from arena.store import open_store
from arena.topology import run_arena

pytestmark = pytest.mark.ray


def test_a_mirrored_contender_is_reconciled_in_a_replay(ray_session, trading_server, tmp_path, monkeypatch):
    monkeypatch.setenv("ALPACA_SMA_API_KEY_ID", "PKTEST")
    monkeypatch.setenv("ALPACA_SMA_API_SECRET_KEY", "SECRET")
    trading_server.fill_prices["SYN"] = 101.0
    store = f"duckdb://{tmp_path / 'arena.duckdb'}"
    cfg = parse_config({
        "name": "mirror-e2e",
        "data": {"source": "synthetic", "symbols": ["SYN"], "n_bars": 120, "seed": 5},
        "contenders": [
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 3, "slow": 8}},
            {"name": "bench", "class": "buy_and_hold"},
        ],
        "broker": {"kind": "alpaca_paper", "mirror": {"sma": "ALPACA_SMA"}, "url": trading_server.url,
                   "stream_url": trading_server.stream_url, "poll_every_s": 0.05, "settle_s": 5.0},
        "store": store,
    })
    result = run_arena(cfg)
    summary = result.broker["sma"]
    with open_store(store, read_only=True) as s:
        fills = s.fills(result.run_id, "sma")
        rows = s.reconciliation(result.run_id)
        board = {r["contender"]: r for r in s.leaderboard(result.run_id)}
    assert fills and summary["submitted"] == summary["orders"] == len(trading_server.orders)
    assert len({o["client_order_id"] for o in trading_server.orders.values()}) == len(trading_server.orders)
    assert {r["contender"] for r in rows} == {"sma"}  # bench is not mirrored
    final = {}
    for r in rows:
        final[r["client_order_id"]] = r
    internal = {}
    for f in fills:
        internal[f["client_order_id"]] = internal.get(f["client_order_id"], 0.0) + f["quantity"]
    for coid, qty in internal.items():  # every internal fill is reconciled, units for units
        assert final[coid]["internal_quantity"] == pytest.approx(qty)
        assert final[coid]["paper_price"] == pytest.approx(101.0)
        assert final[coid]["divergence_bps"] == pytest.approx(
            abs(101.0 - final[coid]["internal_price"]) / final[coid]["internal_price"] * 1e4)
    assert rows[-1]["running_divergence_bps"] == pytest.approx(summary["divergence_bps"])
    assert board["sma"]["paper_divergence_bps"] == pytest.approx(summary["divergence_bps"])
    assert board["bench"]["paper_divergence_bps"] is None


def test_missing_keys_are_named_before_ray_starts(tmp_path, monkeypatch):
    from arena.topology import check_inputs

    monkeypatch.delenv("ALPACA_X_API_KEY_ID", raising=False)
    monkeypatch.setenv("ALPACA_X_API_SECRET_KEY", "s")
    cfg = parse_config({
        "name": "keys", "data": {"source": "synthetic"}, "store": f"duckdb://{tmp_path / 'a.duckdb'}",
        "contenders": [{"name": "sma", "class": "sma_crossover"}],
        "broker": {"kind": "alpaca_paper", "mirror": {"sma": "ALPACA_X"}},
    })
    with pytest.raises(ValueError, match=r"ALPACA_X_API_KEY_ID \(for contender 'sma'\)") as info:
        check_inputs(cfg)
    assert "ALPACA_X_API_SECRET_KEY" not in str(info.value)
