"""Contract test: every registered contender survives a short synthetic replay.

It runs each one through the real runner (ledger + risk rules, no Ray) and
checks the contract of docs/writing-a-contender.md.
"""

from __future__ import annotations

import pytest

from arena.data import SyntheticSource, to_panel
from arena.local import replay_local
from contenders import Decision, available, resolve


@pytest.fixture(scope="module")
def panel():
    frame = SyntheticSource(symbols=("AAA", "BBB", "CCC"), n_bars=400, seed=3).load()
    return to_panel(frame)


@pytest.mark.parametrize("name", sorted(available()))
def test_registered_contender_honours_the_contract(name, panel):
    cls = resolve(name)
    contender = cls(seed=1)
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


def test_decision_type_is_the_shared_one():
    assert Decision(weights={"A": 0.5}).weights == {"A": 0.5}
