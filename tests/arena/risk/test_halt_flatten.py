"""A drawdown halt closes the halted contender's positions (``risk.on_halt: flatten``, the
default) or keeps them (``freeze``): bought and held MSFT through the 2020 crash on the
bundled daily bars, under a 20 % drawdown limit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from arena.data import SampleSource, to_panel
from arena.data.panel import Panel
from arena.local import replay_local
from arena.risk import RiskLimits
from contenders.builtin.buy_and_hold import BuyAndHold
from ledger import ExecutionConfig

LIMIT = 0.2


@pytest.fixture(scope="module")
def msft():
    frame = SampleSource("us_equities_daily").load()
    return to_panel(frame[frame["symbol"] == "MSFT"])


def _run(panel, on_halt):
    runner, res = replay_local(BuyAndHold(), panel, limits=RiskLimits(max_drawdown=LIMIT, on_halt=on_halt))
    return runner.drain_records(), res


def _drawdown(equity):
    return 1.0 - equity / np.maximum.accumulate(equity)


def test_flatten_closes_every_position_at_the_next_fill_after_the_halt(msft):
    recs, res = _run(msft, "flatten")
    dd = _drawdown(res["equity"])
    halt = int(np.argmax(dd >= LIMIT - 1e-12))
    assert dd[halt] >= LIMIT - 1e-12, "the crash takes buy-and-hold past the limit"
    flat = [d for d in recs["decisions"] if d["decision_id"].endswith("/flatten")]
    assert [d["bar_index"] for d in flat] == [halt], "decided on the bar the limit was crossed"
    assert flat[0]["weights_json"] == {"MSFT": 0.0}
    assert flat[0]["explanation_json"][0]["feature"] == "MAX_DRAWDOWN"
    sells = [f for f in res["fills"] if f["side"] == "SELL"]
    assert len(sells) == 1 and sells[0]["ts"] == int(msft.timestamps[halt + 1]), "filled at the next open"
    assert res["equity"][halt + 1] == res["cash"][halt + 1], "nothing held from then on"
    assert np.ptp(res["equity"][halt + 1:]) == 0.0
    # the loss stops within a bar of the limit: the overnight gap to the next open is the only further move
    gap = 1.0 - msft.open[halt + 1, 0] / msft.close[halt, 0]
    assert dd.max() <= LIMIT + max(gap, 0.0) + 0.02
    kinds = [e["kind"] for e in recs["events"]]
    assert "CONTENDER_FLATTENED" in kinds
    verdicts = [v for v in recs["risk_verdicts"] if v["decision_id"] == flat[0]["decision_id"]]
    assert [v["action"] for v in verdicts] == ["ALLOW"], "a reduction passes the halted contender's rules"


def test_freeze_keeps_the_positions_and_only_denies_increases(msft):
    recs, res = _run(msft, "freeze")
    assert not [d for d in recs["decisions"] if d["decision_id"].endswith("/flatten")]
    assert all(f["side"] == "BUY" for f in res["fills"])
    assert _drawdown(res["equity"]).max() > LIMIT + 0.05, "the crash goes on in the frozen position"


def test_on_halt_must_be_flatten_or_freeze():
    with pytest.raises(ValueError, match="on_halt must be one of flatten, freeze, got 'sell'"):
        RiskLimits(on_halt="sell")


@st.composite
def price_paths(draw: st.DrawFn):
    """Random daily OHLC paths of two symbols (open = previous close × a gap)."""
    t = draw(st.integers(30, 120))
    rets = np.array(draw(st.lists(st.floats(-0.08, 0.06), min_size=2 * t, max_size=2 * t))).reshape(t, 2)
    gaps = np.array(draw(st.lists(st.floats(-0.03, 0.03), min_size=2 * t, max_size=2 * t))).reshape(t, 2)
    close = 100.0 * np.exp(np.cumsum(rets, axis=0))
    open_ = np.vstack([close[:1], close[:-1]]) * np.exp(gaps)
    high, low = np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999
    ts = np.datetime64("2024-01-01", "ns").astype(np.int64) + np.arange(t, dtype=np.int64) * 86_400 * 10**9
    panel = Panel(ts, ("A", "B"), open_, high, low, close, np.full((t, 2), 1e6))
    return panel, draw(st.floats(0.05, 0.4))


@settings(max_examples=60, deadline=None)
@given(price_paths())
def test_once_halted_the_loss_stops_within_a_bar_of_the_limit(case):
    """Over random paths: when the drawdown limit is crossed on bar h, nothing is held from bar
    h + 1 on (the flattening fills at its open), so the drawdown exceeds the limit by at most
    bar h's own move and the gap to h + 1's open."""
    panel, limit = case
    _, res = replay_local(BuyAndHold(), panel, limits=RiskLimits(max_drawdown=limit),
                          execution=ExecutionConfig(sizing="fractional"))
    dd = _drawdown(res["equity"])
    hit = np.flatnonzero(dd >= limit - 1e-12)
    event("halted" if len(hit) else "never reached the limit")
    if not len(hit):
        return
    h = int(hit[0])
    if h + 1 < len(panel):
        assert abs(res["equity"][h + 1] - res["cash"][h + 1]) < 1e-6 * res["equity"][h + 1], "flat after the open"
        assert np.ptp(res["equity"][h + 1:]) < 1e-6 * res["equity"][h + 1]
    bar_move = np.abs(panel.close[h] / panel.close[max(h - 1, 0)] - 1.0).max()
    gap = np.abs(panel.open[min(h + 1, len(panel) - 1)] / panel.close[h] - 1.0).max()
    assert dd.max() <= limit + bar_move + gap + 1e-9
