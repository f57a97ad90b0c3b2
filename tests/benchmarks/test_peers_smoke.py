"""Smoke test of ``benchmarks.peers`` (the arena against backtesting.py): its quick form runs
end to end on small sets, every path gives positive figures and the same trades as
backtesting.py, and the trade comparison does catch a difference. No timing assertions."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("backtesting")

from benchmarks import peers  # noqa: E402

PATHS = ("backtesting_py", "in_process", "ray_excl_startup", "ray_incl_startup")


@pytest.mark.ray
def test_quick_peers_run_gives_positive_figures_and_the_same_trades(ray_session) -> None:
    doc = peers.run(peers.default_sets(quick=True), repeats=1)
    assert set(doc["sets"]) == {ds.name for ds in peers.default_sets(quick=True)}
    for name, s in doc["sets"].items():
        assert s["same_trades"] is True, (name, s.get("first_difference"))
        assert s["trades"] > 5, name
        assert s["bars"] == s["timestamps"] * s["symbols"] > 0
        for path in PATHS:
            fig = s[path]
            assert fig["bars_per_s"] > 0 and fig["seconds_median"] > 0, (name, path)
            assert len(fig["seconds_all"]) == 1
            if path != "backtesting_py":
                assert fig["ratio"] > 0 and math.isfinite(fig["ratio"]), (name, path)
    assert doc["same_trades"] is True
    assert doc["targets"] == {"ray_excl_startup_ratio": 2.0, "in_process_ratio": 3.0}


def test_compare_trades_reports_the_first_difference() -> None:
    a = [peers.Trade("X", 1, 2, 10.0, 100.0, 101.0), peers.Trade("X", 3, -1, 9.0, 102.0, math.nan)]
    assert peers.compare_trades(a, list(a)) is None
    assert peers.compare_trades(a, [a[0]._replace(entry_price=100.0 * (1 + 1e-12)), a[1]]) is None
    assert "trade 0" in peers.compare_trades(a, [a[0]._replace(entry_price=100.0 * (1 + 1e-6)), a[1]])
    assert "trade 0" in peers.compare_trades(a, [a[0]._replace(exit_ts_ns=5), a[1]])
    assert "trade 1" in peers.compare_trades(a, [a[0], a[1]._replace(quantity=8.0)])
    assert peers.compare_trades(a, [a[0], a[1]._replace(quantity=8.0)], quantities=False) is None
    assert "2 trades" in peers.compare_trades(a, a[:1])
