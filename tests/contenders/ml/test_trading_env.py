"""LedgerTradingEnv: gymnasium API, seeding, and accounting identical to the ledger and to the arena runner."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from arena.data import SampleSource, to_panel
from arena.local import replay_local
from arena.risk import RiskLimits
from contenders.base import Contender
from contenders.ml.features import compute_features
from contenders.ml.trading_env import LedgerTradingEnv
from ledger import ExecutionConfig, Ledger, OrderRequest
from ledger.types import Decision

FIELDS = ("open", "high", "low", "close", "volume")
EXECUTION = ExecutionConfig(commission_bps=1.0, slippage_bps=2.0)
START = 63  # first bar with complete features


@pytest.fixture(scope="module")
def panel():
    return to_panel(SampleSource("us_equities_daily").load()).slice(0, 140)


@pytest.fixture(scope="module")
def features(panel):
    return compute_features(panel.close, panel.high, panel.low, panel.volume)


def make_env(panel, features, **kw):
    kw = {"start_bar": START, "episode_bars": 32, **kw}
    return LedgerTradingEnv(panel.symbols, panel.timestamps, {f: getattr(panel, f) for f in FIELDS}, features,
                            EXECUTION, **kw)


def test_check_env_passes(panel, features):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Box observation space (minimum|maximum) value is.*infinity")
        warnings.filterwarnings("ignore", message=".*Not able to test alternative render modes.*")
        check_env(make_env(panel, features), skip_render_check=True)
        check_env(make_env(panel, features, long_only=True), skip_render_check=True)


def test_reset_is_seeded_and_starts_flat(panel, features):
    env = make_env(panel, features)
    starts = []
    for seed in range(6):
        obs, info = env.reset(seed=seed)
        again, info2 = env.reset(seed=seed)
        assert info["bar"] == info2["bar"] and np.array_equal(obs, again)
        assert START <= info["bar"] <= len(panel) - 1 - 32
        assert info["equity_usd"] == 10_000.0
        assert np.all(obs[-len(panel.symbols):] == 0.0)  # flat book
        starts.append(info["bar"])
    assert len(set(starts)) > 1


def test_equity_matches_a_ledger_given_the_same_target_weight_orders(panel, features):
    env = make_env(panel, features, max_weight=0.4, random_start=False, episode_bars=60)
    rng = np.random.default_rng(7)
    actions = rng.uniform(-1.0, 1.0, size=(60, len(panel.symbols))).astype(np.float32)
    actions[10:15] = 0.0  # flat for a while: closing orders

    led = Ledger(panel.symbols, 10_000.0, EXECUTION)
    row = lambda t: [getattr(panel, f)[t] for f in FIELDS]  # noqa: E731
    led.on_bar(int(panel.timestamps[START]), *row(START))
    obs, info = env.reset(seed=0)
    assert info["bar"] == START
    for k, a in enumerate(actions):
        t = START + k
        held = led.weights()
        target = np.clip(a, -1.0, 1.0) * 0.4
        for i, sym in enumerate(panel.symbols):
            if target[i] != held[i]:
                led.submit(OrderRequest(sym, target_weight=float(target[i])), int(panel.timestamps[t]))
        before = led.equity
        led.on_bar(int(panel.timestamps[t + 1]), *row(t + 1))
        obs, reward, terminated, truncated, info = env.step(a)
        assert info["equity_usd"] == led.equity
        assert reward == pytest.approx(math.log(led.equity / before), abs=1e-15)
        assert np.allclose(obs[-len(panel.symbols):], led.weights())
        assert np.array_equal(obs[:-len(panel.symbols)], features[t + 1].reshape(-1).astype(np.float32))
        assert not terminated and truncated == (k == 59)
    assert env.ledger.fees_paid > 0.0 and env.ledger.closed_trades()  # costs were charged, trades closed


class _Scripted(Contender):
    """Replays a fixed weight schedule: bar index → target weights."""

    def __init__(self, schedule: dict[int, dict[str, float]]) -> None:
        super().__init__()
        self.schedule = schedule

    def on_bars(self, bars, portfolio):
        w = self.schedule.get(bars.index)
        return Decision(weights=w) if w else None


def test_env_equity_curve_equals_the_arena_runner(panel, features):
    """The same long-only target weights give the same equity in the env and in the arena's bar loop."""
    syms = panel.symbols
    rng = np.random.default_rng(3)
    actions = rng.uniform(0.0, 1.0, size=(40, len(syms))).astype(np.float32)
    env = make_env(panel, features, max_weight=0.25, long_only=True, random_start=False, episode_bars=40)
    env.reset(seed=0)
    env_equity = [env.step(a)[4]["equity_usd"] for a in actions]

    schedule = {START + k: {s: float(w) for s, w in zip(syms, env.target_weights(a))} for k, a in enumerate(actions)}
    limits = RiskLimits(max_gross_leverage=10.0, require_cash=False)
    _, result = replay_local(_Scripted(schedule), panel, execution=EXECUTION, limits=limits)
    assert result["status"] == "ok", result["halt_reason"]
    assert np.array_equal(result["equity"][START + 1 : START + 41], np.array(env_equity))


def test_turnover_penalty_is_subtracted_from_the_log_return(panel, features):
    plain = make_env(panel, features, random_start=False)
    penal = make_env(panel, features, random_start=False, turnover_penalty=0.01)
    plain.reset(seed=0)
    penal.reset(seed=0)
    for a in ([1.0, 0.5, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.2, 0.2, 0.2, 0.2]):
        a = np.array(a, dtype=np.float32)
        _, r0, *_, info0 = plain.step(a)
        _, r1, *_, info1 = penal.step(a)
        assert info0["turnover"] > 0.0
        assert r1 == pytest.approx(r0 - 0.01 * info0["turnover"], abs=1e-15)


def test_bad_inputs_are_named(panel, features):
    with pytest.raises(ValueError, match=r"symbol 'GOOGL' at bar 62"):
        make_env(panel, features, start_bar=62)
    with pytest.raises(ValueError, match=r"bars\['close'\] has shape"):
        LedgerTradingEnv(panel.symbols, panel.timestamps, {**{f: getattr(panel, f) for f in FIELDS},
                                                            "close": panel.close[:-1]}, features, EXECUTION)
    with pytest.raises(ValueError, match="max_weight"):
        make_env(panel, features, max_weight=1.5)
    env = make_env(panel, features)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(len(panel.symbols), dtype=np.float32))
