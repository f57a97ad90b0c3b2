"""Predictions in the runner: decision rows, the [T, S] arrays finish() returns,
explanations ordered by size, and the contender's artifacts folder (no Ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arena.data import SampleSource, to_panel
from arena.local import replay_local
from arena.metrics import forward_log_returns, prediction_quality
from arena.risk import RiskGuardian, RiskLimits
from arena.runner import ContenderRunner, RunnerSettings, chunk_of
from contenders.base import Contender, Contribution, Decision
from ledger import ExecutionConfig


@pytest.fixture(scope="module")
def panel():
    """Real daily bars of GOOGL, IXIC, MSFT, SPX: the first 120 timestamps."""
    return to_panel(SampleSource("us_equities_daily").load()).slice(0, 120)


class Oracle(Contender):
    """Predicts the realized forward log return (it is handed the future closes), says
    why, and trades only every ``trade_every`` bars."""

    horizon_bars: int = 3
    trade_every: int = 0

    def __init__(self, future_close=None, **params):
        super().__init__(**params)
        self.future = future_close

    def on_bars(self, bars, portfolio):
        t = bars.index
        if t + self.horizon_bars >= len(self.future):
            return None
        r = np.log(self.future[t + self.horizon_bars] / self.future[t])
        preds = {s: float(v) for s, v in zip(bars.symbols, r)}
        expl = [Contribution("small", 0.0, 0.1, "shap", bars.symbols[0]),
                Contribution("big", 0.0, -2.0, "shap", bars.symbols[1]),
                Contribution("mid", 0.0, 0.5, "shap", bars.symbols[2]),
                Contribution("mid_too", 0.0, -0.5, "shap", bars.symbols[3])]
        weights = {bars.symbols[0]: 0.2} if self.trade_every and t % self.trade_every == 0 else {}
        return Decision(weights=weights, predictions=preds, explanation=expl)


def test_prediction_only_decisions_are_recorded_without_verdicts(panel) -> None:
    c = Oracle(future_close=panel.close)
    runner, res = replay_local(c, panel)
    recs = runner.drain_records()
    decisions = recs["decisions"]
    assert len(decisions) == len(panel) - 3, "one row per bar that predicted"
    assert "risk_verdicts" not in recs and "orders" not in recs and res["n_decisions"] == 0
    d = decisions[10]
    assert d["weights_json"] == {} and d["predictions_json"] == pytest.approx(
        dict(zip(panel.symbols, np.log(panel.close[13] / panel.close[10])))
    )


def test_finish_returns_predictions_close_and_horizon(panel) -> None:
    c = Oracle(future_close=panel.close, horizon_bars=5)
    _, res = replay_local(c, panel)
    assert res["symbols"] == list(panel.symbols) and res["prediction_horizon_bars"] == 5
    np.testing.assert_array_equal(res["close"], panel.close)
    expected = forward_log_returns(panel.close, 5)
    np.testing.assert_allclose(res["predictions"], expected, rtol=1e-12)  # NaN where it did not predict
    q = prediction_quality(res["predictions"], res["close"], res["prediction_horizon_bars"])
    assert q["ic"] == pytest.approx(1.0, abs=1e-12), "an oracle scored at its own horizon"


def test_explanations_are_recorded_largest_contribution_first(panel) -> None:
    runner, _ = replay_local(Oracle(future_close=panel.close), panel.slice(0, 10))
    expl = runner.drain_records()["decisions"][0]["explanation_json"]
    assert [e["feature"] for e in expl] == ["big", "mid", "mid_too", "small"], "by |contribution|, ties stable"


def test_decisions_with_weights_keep_their_predictions_and_are_vetted(panel) -> None:
    c = Oracle(future_close=panel.close, trade_every=10)
    runner, res = replay_local(c, panel)
    recs = runner.drain_records()
    traded = [d for d in recs["decisions"] if d["weights_json"]]
    assert [d["bar_index"] for d in traded] == list(range(0, len(panel) - 3, 10))
    assert all(d["predictions_json"] for d in traded)
    assert {v["decision_id"] for v in recs["risk_verdicts"]} == {d["decision_id"] for d in traded}
    assert res["n_decisions"] == len(traded)


def test_a_prediction_only_bar_with_drift_is_one_decision(panel) -> None:
    c = Oracle(future_close=panel.close, trade_every=1000)  # trades on bar 0 only
    runner, _ = replay_local(c, panel, execution=ExecutionConfig(sizing="fractional"), rebalance_drift=0.005)
    decisions = runner.drain_records()["decisions"]
    ids = [d["decision_id"] for d in decisions]
    assert len(ids) == len(set(ids)), "one decision per bar"
    drift = [d for d in decisions if any(e["feature"] == "weight_drift" for e in d["explanation_json"])
             and d["bar_index"] < len(panel) - 3]  # the oracle is silent on the last 3 bars
    assert drift, "a 20 % target drifts by more than half a point on real prices"
    assert all(d["predictions_json"] and d["weights_json"] for d in drift)
    assert all({"big", "weight_drift"} <= {e["feature"] for e in d["explanation_json"]} for d in drift)


def test_a_prediction_for_a_symbol_it_does_not_trade_halts_it(panel) -> None:
    class Typo(Contender):
        def on_bars(self, bars, portfolio):
            return Decision(predictions={"MSTF": 0.01})

    runner, res = replay_local(Typo(), panel.slice(0, 5))
    assert res["status"] == "halted" and "'MSTF', which this contender does not trade" in res["halt_reason"]


def test_artifacts_dir_is_created_and_set_before_fit(panel, tmp_path: Path) -> None:
    class Fits(Contender):
        def fit(self, history):
            self.seen = self.artifacts_dir
            (self.artifacts_dir / "model.txt").write_text("weights")

        def on_bars(self, bars, portfolio):
            return None

    folder = tmp_path / "run-1" / "fits"
    settings = RunnerSettings(run_id="run-1", name="fits", symbols=panel.symbols, capital_usd=10_000.0,
                              execution=ExecutionConfig(), warmup_bars=20, artifacts_dir=str(folder))
    c = Fits()
    runner = ContenderRunner(c, settings, RiskGuardian(RiskLimits()))
    runner.on_chunk(chunk_of(panel))
    assert c.seen == folder and (folder / "model.txt").read_text() == "weights"
    assert runner.finish()["status"] == "ok"
