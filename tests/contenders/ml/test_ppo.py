"""The ``ppo`` contender: trades and explains in the arena's bar loop, deterministically, past-only."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from arena.data.panel import Panel
from contenders import ParamError, resolve
from contenders.ml.base import InferenceBatch
from contenders.ml.features import compute_features, feature_names
from contenders.ml.ppo import PPOContender
from ledger import ExecutionConfig
from ml_support import assert_no_look_ahead, daily_panel, history_of, replay_decisions, rescale_after

EXECUTION = ExecutionConfig(commission_bps=1.0, slippage_bps=2.0)
TINY = {
    "total_timesteps": 256, "n_steps": 128, "batch_size": 64, "n_epochs": 2, "hidden_size": 16, "episode_bars": 64,
    "retrain_every_bars": 60, "ig_steps": 4, "min_train_samples": 200, "commission_bps": 1.0, "slippage_bps": 2.0,
}
WARMUP = 200
N_BARS = 330
T_CHANGE = 270  # the no-look-ahead test changes every bar after this one


def tiny(seed: int = 5, **kw) -> PPOContender:
    return resolve("ppo")(seed=seed, **{**TINY, **kw})


@pytest.fixture(scope="module")
def panel() -> Panel:
    return daily_panel(N_BARS)


def replay(contender: PPOContender, panel: Panel) -> tuple[list[dict], dict]:
    return replay_decisions(contender, panel, execution=EXECUTION, warmup_bars=WARMUP)


@pytest.fixture(scope="module")
def run(panel):
    contender = tiny()
    decisions, result = replay(contender, panel)
    return contender, result, decisions


def batch_at(panel: Panel, bar: int) -> InferenceBatch:
    feats = compute_features(panel.close, panel.high, panel.low, panel.volume, start=bar, end=bar + 1)[0]
    return InferenceBatch(X=feats[:, None, :].astype(np.float32), symbols=panel.symbols, bar_idx=bar,
                          ts_ns=int(panel.timestamps[bar]), feature_names=feature_names(len(panel.symbols)),
                          history=history_of(panel, bar + 1))


def test_ppo_is_registered():
    assert resolve("ppo") is PPOContender


def test_trades_and_explains_every_decision(run):
    contender, result, decisions = run
    assert result["status"] == "ok", result["halt_reason"]
    assert len(result["fills"]) > 0
    assert [c.bar_idx for c in contender.checkpoints] == [WARMUP - 1, 259, 319]
    assert decisions
    for d in decisions:
        methods = {e["method"] for e in d["explanation_json"]}
        assert methods == {"policy", "integrated_gradients"}, d["decision_id"]
        feats = {(e["symbol"], e["feature"]) for e in d["explanation_json"]}
        assert {("MSFT", "action_mean"), ("MSFT", "action_std"), ("MSFT", "ret_5"), ("", "value_estimate")} <= feats
        assert all(0.0 <= w <= contender.max_weight for w in d["weights_json"].values())


def test_integrated_gradients_sum_to_the_action_mean_change(run, panel):
    contender, *_ = run
    obs, _, _ = contender.observation(batch_at(panel, N_BARS - 1))
    mean, std, value, attr = contender.explain_observation(obs)
    base_mean, *_ = contender.explain_observation(np.zeros_like(obs))
    assert np.all(std > 0) and np.isfinite(value)
    assert np.allclose(attr.sum(axis=1), mean - base_mean, atol=2e-3)


def test_checkpoint_round_trip_gives_identical_decisions(run, panel):
    contender, *_ = run
    state = pickle.loads(pickle.dumps(contender.model_state()))
    assert all(v.device.type == "cpu" for v in state["state_dict"].values())
    restored = tiny(seed=99)
    restored.load_model_state(state)
    batch = batch_at(panel, N_BARS - 1)
    a, b = contender.predict(batch), restored.predict(batch)
    assert np.array_equal(a.target_weights, b.target_weights)
    assert a.explanation == b.explanation or all(
        x.feature == y.feature and np.allclose([x.value, x.contribution], [y.value, y.contribution], equal_nan=True)
        for x, y in zip(a.explanation, b.explanation, strict=True)
    )
    with pytest.raises(ValueError, match="hidden_size"):
        tiny(hidden_size=8).load_model_state(state)


def test_training_is_deterministic_on_cpu_and_uses_only_bars_up_to_the_cutoff(panel):
    bar = 230
    contender = tiny()
    data = contender.training_set(history_of(panel, bar + 1), bar)
    assert data.cutoff_bar == bar - contender.embargo_bars

    def trained(c: PPOContender, d) -> dict[str, torch.Tensor]:
        c.train(d)
        return c.model_state()["state_dict"]

    first = trained(contender, data)
    second = trained(tiny(), data)
    assert all(torch.equal(first[k], second[k]) for k in first)

    # bars after the cut-off changed (the current bar included): the same policy
    other = rescale_after(panel, data.cutoff_bar, price_factor=1.3, volume_factor=0.5)
    other_data = tiny().training_set(history_of(other, bar + 1), bar)
    third = trained(tiny(), other_data)
    assert all(torch.equal(first[k], third[k]) for k in first)

    fourth = trained(tiny(seed=6), tiny(seed=6).training_set(history_of(panel, bar + 1), bar))
    assert not all(torch.equal(first[k], fourth[k]) for k in first)


def test_no_decision_at_or_before_t_depends_on_later_bars(run, panel):
    _, result, decisions = run
    rng = np.random.default_rng(0)
    factor = rng.uniform(0.8, 1.2, size=(N_BARS - T_CHANGE - 1, len(panel.symbols)))
    changed = rescale_after(panel, T_CHANGE, price_factor=factor, volume_factor=factor[::-1])
    decisions2, result2 = replay(tiny(), changed)
    # it decided on (almost) every bar up to T_CHANGE, identically; later decisions changed
    assert_no_look_ahead(decisions, decisions2, T_CHANGE, min_before=T_CHANGE - WARMUP - 4)
    assert np.array_equal(result["equity"][: T_CHANGE + 1], result2["equity"][: T_CHANGE + 1])
    assert not np.array_equal(result["equity"][T_CHANGE + 1 :], result2["equity"][T_CHANGE + 1 :])


def test_parameters_are_validated():
    with pytest.raises(ParamError, match="allow_short"):
        tiny(long_only=False)
    with pytest.raises(ParamError, match="batch_size"):
        tiny(batch_size=256, n_steps=128)
    assert tiny(long_only=False, allow_short=True).long_only is False
