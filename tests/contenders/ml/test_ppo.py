"""The ``ppo`` contender: trades and explains in the arena's bar loop, deterministically, past-only."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from arena.data import SampleSource, to_panel
from arena.data.panel import Panel
from arena.local import replay_local
from contenders import ParamError, resolve
from contenders.market import History
from contenders.ml.base import InferenceBatch
from contenders.ml.features import compute_features, feature_names
from contenders.ml.ppo import PPOContender
from ledger import ExecutionConfig

FIELDS = ("open", "high", "low", "close", "volume")
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
    return to_panel(SampleSource("us_equities_daily").load()).slice(0, N_BARS)


def replay(contender: PPOContender, panel: Panel):
    runner, result = replay_local(contender, panel, execution=EXECUTION, warmup_bars=WARMUP)
    return result, runner.drain_records()


@pytest.fixture(scope="module")
def run(panel):
    contender = tiny()
    result, records = replay(contender, panel)
    return contender, result, records


def history_of(panel: Panel, n: int) -> History:
    buf = {f: np.array(getattr(panel, f)) for f in FIELDS}
    buf["ts_ns"] = np.array(panel.timestamps)
    return History(buf, n, panel.symbols)


def batch_at(panel: Panel, bar: int) -> InferenceBatch:
    feats = compute_features(panel.close, panel.high, panel.low, panel.volume, start=bar, end=bar + 1)[0]
    return InferenceBatch(X=feats[:, None, :].astype(np.float32), symbols=panel.symbols, bar_idx=bar,
                          ts_ns=int(panel.timestamps[bar]), feature_names=feature_names(len(panel.symbols)),
                          history=history_of(panel, bar + 1))


def test_ppo_is_registered():
    assert resolve("ppo") is PPOContender


def test_trades_and_explains_every_decision(run):
    contender, result, records = run
    assert result["status"] == "ok", result["halt_reason"]
    assert len(result["fills"]) > 0
    assert [c.bar_idx for c in contender.checkpoints] == [WARMUP - 1, 259, 319]
    decisions = records["decisions"]
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
    shifted = {f: np.array(getattr(panel, f)) for f in FIELDS}
    for f in ("open", "high", "low", "close"):
        shifted[f][data.cutoff_bar + 1 :] *= 1.3
    shifted["volume"][data.cutoff_bar + 1 :] *= 0.5
    other = Panel(np.array(panel.timestamps), panel.symbols, *(shifted[f] for f in FIELDS))
    other_data = tiny().training_set(history_of(other, bar + 1), bar)
    third = trained(tiny(), other_data)
    assert all(torch.equal(first[k], third[k]) for k in first)

    fourth = trained(tiny(seed=6), tiny(seed=6).training_set(history_of(panel, bar + 1), bar))
    assert not all(torch.equal(first[k], fourth[k]) for k in first)


def test_no_decision_at_or_before_t_depends_on_later_bars(run, panel):
    _, result, records = run
    arrays = {f: np.array(getattr(panel, f)) for f in FIELDS}
    rng = np.random.default_rng(0)
    factor = rng.uniform(0.8, 1.2, size=(N_BARS - T_CHANGE - 1, len(panel.symbols)))
    for f in ("open", "high", "low", "close"):
        arrays[f][T_CHANGE + 1 :] *= factor
    arrays["volume"][T_CHANGE + 1 :] *= factor[::-1]
    changed = Panel(np.array(panel.timestamps), panel.symbols, *(arrays[f] for f in FIELDS))
    result2, records2 = replay(tiny(), changed)

    def upto_t(recs):
        return [(d["bar_index"], d["weights_json"], d["explanation_json"]) for d in recs["decisions"]
                if d["bar_index"] <= T_CHANGE]

    early = upto_t(records)
    assert len(early) > T_CHANGE - WARMUP - 5  # it decided on (almost) every bar
    assert early == upto_t(records2)
    assert np.array_equal(result["equity"][: T_CHANGE + 1], result2["equity"][: T_CHANGE + 1])
    assert not np.array_equal(result["equity"][T_CHANGE + 1 :], result2["equity"][T_CHANGE + 1 :])


def test_parameters_are_validated():
    with pytest.raises(ParamError, match="allow_short"):
        tiny(long_only=False)
    with pytest.raises(ParamError, match="batch_size"):
        tiny(batch_size=256, n_steps=128)
    assert tiny(long_only=False, allow_short=True).long_only is False
