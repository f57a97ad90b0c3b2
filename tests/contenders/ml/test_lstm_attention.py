"""The ``lstm_attention`` contender on real bundled bars (no Ray): training, determinism,
explanations (Integrated Gradients completeness, attention), checkpoints, no look-ahead."""

from __future__ import annotations

import pickle
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

from arena.data.panel import Panel
from contenders import ParamError, resolve
from contenders.ml.lstm_attention import LSTMAttention
from ml_support import (
    assert_no_look_ahead,
    assert_predictions_no_look_ahead,
    daily_panel,
    perturb_after,
    recording,
    replay_decisions,
)

N_BARS, WARMUP_BARS, CUTOFF_BAR = 340, 220, 290  # CUTOFF_BAR: after one retrain (bar 270), before the next (320)
SMALL = {"epochs": 3, "hidden_size": 16, "attention_size": 8, "retrain_every_bars": 50, "ig_steps": 16}


_Recording = recording(LSTMAttention)


def _replay(panel: Panel, seed: int = 1) -> tuple[Any, list[dict], dict]:
    model = _Recording(seed=seed, **SMALL)
    decisions, result = replay_decisions(model, panel, warmup_bars=WARMUP_BARS)
    return model, decisions, result


@pytest.fixture(scope="module")
def panel() -> Panel:
    return daily_panel(N_BARS)


@pytest.fixture(scope="module")
def run(panel):
    return _replay(panel)


def test_registered_as_lstm_attention():
    assert resolve("lstm_attention") is LSTMAttention


def test_trains_walk_forward_and_trades_real_bars(run, panel):
    model, decisions, result = run
    assert [c.bar_idx for c in model.checkpoints] == [WARMUP_BARS - 1, 269, 319]
    for ck in model.checkpoints:
        assert np.isfinite(ck.metrics["val_loss"]) and ck.metrics["n_fit"] > 0 and ck.metrics["n_val"] > 0
    assert len(model.predictions) == N_BARS - WARMUP_BARS
    preds = np.concatenate(list(model.predictions.values()))
    assert np.isfinite(preds).all() and preds.std() > 0
    assert decisions and any(d["weights_json"] for d in decisions)
    assert result["fills"], "the contender never traded"


def test_every_decision_explained_by_ig_and_attention(run):
    model, decisions, _ = run
    n_features, lookback = model.batches[0].X.shape[2], model.lookback_bars
    for d in decisions:
        by_symbol: dict[tuple[str, str], list[dict]] = {}
        for e in d["explanation_json"]:
            by_symbol.setdefault((e["symbol"], e["method"]), []).append(e)
        assert by_symbol, f"decision {d['decision_id']} has no explanation"
        symbols = {s for s, _ in by_symbol}
        for sym in symbols:
            ig = by_symbol[(sym, "integrated_gradients")]
            att = by_symbol[(sym, "attention")]
            assert len(ig) == 1 + n_features and "base_value" in {e["feature"] for e in ig}
            assert sorted(e["feature"] for e in att) == sorted(f"t-{k}" for k in range(lookback))
            weights = np.array([e["contribution"] for e in att])
            assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0, abs=1e-5)
            pred = model.predictions[d["bar_index"]][model.batches[0].symbols.index(sym)]
            assert sum(e["contribution"] for e in ig) == pytest.approx(pred, abs=1e-5)


def test_integrated_gradients_completeness(run):
    model, _, _ = run
    X = np.concatenate([b.X for b in model.batches[-5:]])
    pred, alpha, attr = model.explain_windows(X)
    gap = pred - model.baseline_prediction()
    assert np.abs(gap).max() > 1e-5, "degenerate model: every window predicts the baseline"
    np.testing.assert_allclose(attr.sum(axis=1), gap, rtol=0, atol=1e-6 + 1e-3 * np.abs(gap).max())
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, atol=1e-5)


def test_same_seed_gives_identical_decisions(run, panel):
    model, decisions, result = run
    again, decisions2, result2 = _replay(panel, seed=1)
    assert decisions2 == decisions
    assert again.predictions.keys() == model.predictions.keys()
    for bar, pred in model.predictions.items():
        np.testing.assert_array_equal(again.predictions[bar], pred)
    np.testing.assert_array_equal(result2["equity"], result["equity"])


def test_another_seed_trains_another_model(run):
    model, _, _ = run
    data, X = model.training_sets[0], model.batches[-1].X
    other = LSTMAttention(seed=2, **SMALL)
    other.train(replace(data, seed=data.seed + 1))
    same = LSTMAttention(seed=1, **SMALL)
    same.train(data)
    first = LSTMAttention(seed=1, **SMALL)
    first.load_model_state(model.checkpoints[0].state)
    np.testing.assert_array_equal(same.explain_windows(X)[0], first.explain_windows(X)[0])
    assert not np.array_equal(other.explain_windows(X)[0], first.explain_windows(X)[0])


def test_checkpoint_round_trip(run):
    model, _, _ = run
    state = pickle.loads(pickle.dumps(model.model_state()))
    assert all(t.device.type == "cpu" for t in state["state_dict"].values())
    restored = LSTMAttention(seed=99, **SMALL)
    restored.load_model_state(state)
    batch = model.batches[-1]
    for a, b in zip(restored.explain_windows(batch.X), model.explain_windows(batch.X)):
        np.testing.assert_array_equal(a, b)
    assert restored.predict(batch).explanation == model.predict(batch).explanation


def test_no_look_ahead(run, panel):
    model, decisions, _ = run
    changed, decisions2, _ = _replay(perturb_after(panel, CUTOFF_BAR, seed=5, volume_noise="lognormal"), seed=1)
    assert list(range(WARMUP_BARS, CUTOFF_BAR + 1)) == sorted(b for b in model.predictions if b <= CUTOFF_BAR)
    # the future did change what came after: the retrain at bar 319 saw the altered bars
    assert_predictions_no_look_ahead(model.predictions, changed.predictions, CUTOFF_BAR)
    assert_no_look_ahead(decisions, decisions2, CUTOFF_BAR)


def test_bad_input_is_refused_with_its_location(run):
    model, _, _ = run
    data = model.training_sets[0]
    X = data.X.copy()
    X[7, 3, 0] = np.nan
    with pytest.raises(ValueError, match=f"bar_idx={int(data.bar_idx[7])}"):
        LSTMAttention(**SMALL).train(replace(data, X=X))
    with pytest.raises(ValueError, match=r"expected X \[N, 20, F\]"):
        LSTMAttention(**SMALL).train(replace(data, X=data.X[:, -5:]))
    with pytest.raises(RuntimeError, match="no trained model"):
        LSTMAttention(**SMALL).predict(model.batches[-1])
    with pytest.raises(ValueError, match="lacks"):
        LSTMAttention(**SMALL).load_model_state({"state_dict": {}})
    with pytest.raises(ParamError, match="lookback_bars"):
        LSTMAttention(lookback_bars=1)
    with pytest.raises(ParamError, match="validation_fraction"):
        LSTMAttention(validation_fraction=0.9)


def test_runs_on_the_device_it_is_given(run):
    model, _, _ = run
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(model._net.parameters()).device.type == expected
