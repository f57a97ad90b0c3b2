"""Contract test: every registered contender survives a short synthetic replay.

It runs each one through the real runner (ledger + risk rules, no Ray) and
checks the contract of docs/writing-a-contender.md.
"""

from __future__ import annotations

import importlib.util

import pytest

from arena.data import SyntheticSource, to_panel
from arena.local import replay_local, replay_local_arena
from contenders import available, resolve
from contenders.registry import ML_REQUIREMENTS


@pytest.fixture(scope="module")
def panel():
    frame = SyntheticSource(symbols=("AAA", "BBB", "CCC"), n_bars=400, seed=3).load()
    return to_panel(frame)


# Small settings for the learned contenders, so the contract runs in seconds (their own
# tests exercise the defaults); every other parameter keeps its default.
FAST_PARAMS: dict[str, dict] = {
    "lightgbm": {"n_estimators": 20, "min_train_samples": 100, "retrain_every_bars": 100},
    "lstm_attention": {"epochs": 2, "hidden_size": 8, "lookback_bars": 5, "min_train_samples": 100,
                       "retrain_every_bars": 150, "ig_steps": 4},
    "tft": {"epochs": 1, "hidden_size": 4, "hidden_continuous_size": 4, "attention_head_size": 1,
            "lookback_bars": 5, "min_train_samples": 100,
            "retrain_every_bars": 200},
    "ppo": {"total_timesteps": 256, "n_steps": 64, "batch_size": 32, "n_epochs": 1, "hidden_size": 8,
            "min_train_samples": 100, "retrain_every_bars": 200, "episode_bars": 32, "ig_steps": 4},
    "meta_ensemble": {"min_train_samples": 50, "retrain_every_bars": 50},
}


@pytest.mark.parametrize("name", sorted(available()))
def test_registered_contender_honours_the_contract(name, panel):
    if any(importlib.util.find_spec(m) is None for m in ML_REQUIREMENTS.get(name, ())):
        pytest.skip(f"{name} needs the ml extra (a core environment: make compat)")
    cls = resolve(name)
    contender = cls(seed=1, **FAST_PARAMS.get(name, {}))
    if getattr(contender, "consumes_signals", False):  # a meta-model needs the others' signals
        others = {"sma": resolve("sma_crossover")(), "mom": resolve("momentum")(lookback=63, rebalance_bars=5)}
        out = replay_local_arena({**others, name: contender}, panel, warmup_bars={name: 150})
        runner, result = out[name]
    else:
        runner, result = replay_local(contender, panel)
    records = runner.drain_records()
    assert result["status"] == "ok", result["halt_reason"]
    assert len(result["equity"]) == len(panel)
    decisions = records.get("decisions", [])
    assert decisions, f"{name} never decided on 400 bars"
    for d in decisions:
        assert d["explanation_json"], f"{name}: decision {d['decision_id']} has no explanation"
        for e in d["explanation_json"]:
            assert set(e) == {"feature", "value", "contribution", "method", "symbol"}
    assert all(isinstance(d["weights_json"], dict) for d in decisions)


def test_contract_test_catches_a_contender_that_returns_garbage(panel):
    class Broken(resolve("buy_and_hold")):
        def on_bars(self, bars, portfolio):
            return {"AAA": 1.0}

    runner, result = replay_local(Broken(), panel)
    assert result["status"] == "halted"
    assert "must return Decision or None" in result["halt_reason"]
