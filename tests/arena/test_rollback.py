"""Checkpoint rollback by the rolling-Sharpe rule: the guardian's signal, its
cooldown, and the runner restoring the contender's previous checkpoint (no Ray)."""

from __future__ import annotations

import numpy as np
import pytest

from arena.data import SampleSource, to_panel
from arena.local import replay_local
from arena.risk import (
    Action,
    PortfolioState,
    RiskGuardian,
    RiskLimits,
    RollingSharpeFloor,
    SharpeRollback,
    default_rules,
)
from contenders.base import Contender, Contribution, Decision
from ledger.types import OrderRequest

LOSING = tuple(np.random.default_rng(7).normal(-0.003, 0.01, 20).tolist())
BUY = OrderRequest("A", target_weight=0.8)


def _state(bar: int, *, can_rollback: bool = True, returns: tuple[float, ...] = LOSING) -> PortfolioState:
    return PortfolioState(
        "alpha", 1_700_000_000_000_000_000 + bar * 86_400_000_000_000, 10_000.0, 10_000.0, 10_000.0, 10_000.0,
        prices={"A": 100.0}, recent_returns=returns, can_rollback=can_rollback, bar_index=bar,
    )


def _guardian(scale: float = 0.5) -> RiskGuardian:
    limits = RiskLimits(sharpe_floor=0.0, sharpe_window_bars=20, sharpe_scale=scale, sharpe_rollback=True)
    return RiskGuardian(limits)


def test_default_rules_add_the_rollback_after_the_sharpe_floor() -> None:
    codes = [r.code for r in default_rules(RiskLimits(sharpe_floor=0.0, sharpe_rollback=True))]
    assert codes[codes.index("SHARPE_FLOOR") + 1] == "SHARPE_ROLLBACK"
    assert "SHARPE_ROLLBACK" not in [r.code for r in default_rules(RiskLimits(sharpe_floor=0.0))]


def test_rollback_needs_a_sharpe_floor() -> None:
    with pytest.raises(ValueError, match="sharpe_rollback needs a sharpe_floor"):
        RiskLimits(sharpe_rollback=True)


def test_under_the_floor_a_contender_with_a_checkpoint_is_told_to_roll_back() -> None:
    v = _guardian().vet(_state(100), [BUY])[0]
    assert v.action is Action.SCALE and v.reasons == ("SHARPE_FLOOR", "SHARPE_ROLLBACK")
    assert v.details["rollback"] is True and v.details["rolling_sharpe"] < 0.0
    assert v.approved is not None and v.approved.target_weight == pytest.approx(0.4), "scaled as well"


def test_no_rollback_without_a_checkpoint_or_above_the_floor() -> None:
    g = _guardian()
    v = g.vet(_state(100, can_rollback=False), [BUY])[0]
    assert v.reasons == ("SHARPE_FLOOR",) and "rollback" not in v.details
    winning = tuple(-r for r in LOSING)
    assert g.vet(_state(101, returns=winning), [BUY])[0].action is Action.ALLOW
    assert g.vet(_state(102), [BUY])[0].details["rollback"] is True, "no cooldown started by the misses"


def test_rollback_has_a_cooldown_of_one_window_per_contender() -> None:
    g = _guardian()
    bars_told = [b for b in range(100, 160) if g.vet(_state(b), [BUY])[0].details.get("rollback")]
    assert bars_told == [100, 120, 140]
    other = PortfolioState("beta", 0, 10_000.0, 10_000.0, 10_000.0, 10_000.0, prices={"A": 100.0},
                           recent_returns=LOSING, can_rollback=True, bar_index=101)
    assert g.vet(other, [BUY])[0].details.get("rollback") is True, "the cooldown is per contender"


def test_reductions_carry_no_rollback_and_a_state_without_bar_index_never_signals() -> None:
    g = _guardian()
    held = PortfolioState("alpha", 0, 10_000.0, 2_000.0, 10_000.0, 10_000.0, positions={"A": 80.0},
                          prices={"A": 100.0}, recent_returns=LOSING, can_rollback=True, bar_index=5)
    assert g.vet(held, [OrderRequest("A", target_weight=0.2)])[0].action is Action.ALLOW
    no_bar = PortfolioState("alpha", 0, 10_000.0, 10_000.0, 10_000.0, 10_000.0, prices={"A": 100.0},
                            recent_returns=LOSING, can_rollback=True)
    assert g.vet(no_bar, [BUY])[0].reasons == ("SHARPE_FLOOR",)


def test_a_rollback_signal_without_a_cut_is_an_allow_with_the_reason() -> None:
    g = RiskGuardian(RiskLimits(), [RollingSharpeFloor(0.0, 20, 1.0), SharpeRollback(0.0, 20)])
    v = g.vet(_state(100), [BUY])[0]
    assert (v.action, v.reasons, v.approved) == (Action.ALLOW, ("SHARPE_ROLLBACK",), BUY)


def test_the_cooldown_survives_a_snapshot() -> None:
    g = _guardian()
    g.vet(_state(100), [BUY])
    restored = RiskGuardian.restore(g.snapshot())
    assert restored.snapshot() == g.snapshot() and restored.snapshot()["marks"] == {"alpha": {"SHARPE_ROLLBACK": 100}}
    assert "rollback" not in restored.vet(_state(110), [BUY])[0].details
    assert restored.vet(_state(120), [BUY])[0].details["rollback"] is True


class Checkpointed(Contender):
    """A tiny learned-style contender: a new checkpoint every ``retrain_every_bars`` bars,
    all in on every bar, and ``rollback()`` restoring the previous checkpoint."""

    retrain_every_bars: int = 10

    def __init__(self, **params):
        super().__init__(**params)
        self.checkpoints: list[str] = []
        self.active = ""
        self.rolled_back_at: list[int] = []
        self._bar = 0

    @property
    def can_rollback(self) -> bool:
        return len(self.checkpoints) >= 2

    def rollback(self) -> str | None:
        self.rolled_back_at.append(self._bar)
        if len(self.checkpoints) < 2:
            return None
        self.checkpoints.pop()
        self.active = self.checkpoints[-1]
        return self.active

    def on_bars(self, bars, portfolio):
        self._bar = bars.index
        if bars.index % self.retrain_every_bars == 0:
            self.checkpoints.append(f"ckpt-{len(self.checkpoints):04d}")
            self.active = self.checkpoints[-1]
        return Decision(weights={bars.symbols[0]: 1.0}, explanation=[Contribution("model", 1.0, 1.0, "rule")])


@pytest.fixture(scope="module")
def msft():
    frame = SampleSource("us_equities_daily").load()
    return to_panel(frame[frame["symbol"] == "MSFT"]).slice(0, 200)


def test_runner_rolls_the_contender_back_and_records_it(msft) -> None:
    # a floor no real strategy reaches: every full window is "below the floor"
    limits = RiskLimits(sharpe_floor=50.0, sharpe_window_bars=30, sharpe_rollback=True)
    c = Checkpointed()
    runner, res = replay_local(c, msft, limits=limits)
    recs = runner.drain_records()
    events = [e for e in recs["events"] if e["kind"] == "CONTENDER_ROLLED_BACK"]
    assert c.rolled_back_at and [e["ts"] for e in events] == [int(msft.timestamps[b]) for b in c.rolled_back_at]
    assert np.all(np.diff(c.rolled_back_at) >= 30), "at most once per window"
    assert c.rolled_back_at[0] >= 30, "not before the window is full"
    first = events[0]
    assert first["details_json"]["checkpoint"] == first["reason"].split("restored checkpoint ")[1]
    flagged = [v for v in recs["risk_verdicts"] if v["details_json"].get("rollback")]
    assert [v["details_json"]["rollback_checkpoint"] for v in flagged] == [e["details_json"]["checkpoint"]
                                                                          for e in events]
    assert all("SHARPE_ROLLBACK" in v["reasons_json"] for v in flagged)
    assert res["status"] == "ok"


def test_a_contender_without_checkpoints_is_never_rolled_back(msft) -> None:
    limits = RiskLimits(sharpe_floor=50.0, sharpe_window_bars=30, sharpe_rollback=True)
    c = Checkpointed(retrain_every_bars=10_000)  # one checkpoint only: can_rollback stays False
    runner, _ = replay_local(c, msft, limits=limits)
    recs = runner.drain_records()
    assert c.rolled_back_at == [] and not [e for e in recs.get("events", []) if e["kind"] == "CONTENDER_ROLLED_BACK"]
    assert any("SHARPE_FLOOR" in v["reasons_json"] for v in recs["risk_verdicts"])
