"""One contender's bar loop without Ray: decisions, vetting, fills, hooks, halts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arena.data import SampleSource, SyntheticSource, to_panel
from arena.risk import RiskGuardian, RiskLimits
from arena.local import replay_local
from contenders import Contender, Contribution, Decision
from contenders.base import ChunkPreparer
from contenders.builtin.sma_crossover import SmaCrossover
from ledger import ExecutionConfig


@pytest.fixture(scope="module")
def msft():
    frame = SampleSource("us_equities_daily").load()
    return to_panel(frame[frame["symbol"] == "MSFT"])


class OnceAllIn(Contender):
    """All in on bar `at`, then silent; records its hooks."""

    at: int = 5

    def __init__(self, **p):
        super().__init__(**p)
        self.fills, self.denied, self.fitted = [], [], []

    def fit(self, history):
        self.fitted.append(len(history))

    def on_bars(self, bars, portfolio):
        if bars.index == self.at:
            return Decision(weights={bars.symbols[0]: 1.0}, explanation=[Contribution("once", 1.0, 1.0)])
        return None

    def on_fill(self, fill):
        self.fills.append(fill)

    def on_denied(self, verdict):
        self.denied.append(verdict)


def test_all_in_target_uses_the_cash_at_the_price_paid(msft):
    c = OnceAllIn()
    runner, res = replay_local(c, msft, capital_usd=10_000, execution=ExecutionConfig(slippage_bps=5))
    fill = c.fills[0]
    assert fill.ts_ns == msft.timestamps[6], "filled at the next bar"
    assert fill.price == pytest.approx(msft.open[6, 0] * (1 + 5e-4))
    assert 0 <= 10_000 - fill.quantity * fill.price < fill.price  # whole shares, the rest is cash
    assert fill.quantity == np.floor(10_000 / fill.price)


def test_returning_none_keeps_positions_as_prices_move(msft):
    runner, res = replay_local(OnceAllIn(), msft)
    assert len(res["fills"]) == 1
    held = res["equity"][10:] - res["cash"][10:]
    assert np.ptp(held) > 0, "the position's value drifts with the price; no silent rebalancing"
    assert np.ptp(res["cash"][10:]) == 0


def test_drift_threshold_leaves_a_target_that_has_not_drifted(msft):
    c = OnceAllIn()
    runner, _ = replay_local(c, msft, execution=ExecutionConfig(sizing="fractional"), rebalance_drift=0.02)
    recs = runner.drain_records()
    drift = [d for d in recs["decisions"] if any(e["feature"] == "weight_drift" for e in d["explanation_json"])]
    # fractional all-in stays at weight 1.0 whatever the price, so no drift rebalancing is needed
    assert drift == []


def test_drift_rebalance_happens_for_a_partial_weight():
    frame = SyntheticSource(symbols=("A",), n_bars=300, seed=4, volatility_per_bar=0.03).load()
    panel = to_panel(frame)

    class Half(OnceAllIn):
        def on_bars(self, bars, portfolio):
            if bars.index == self.at:
                return Decision(weights={"A": 0.5}, explanation=[Contribution("half", 0.5, 0.5)])
            return None

    runner, _ = replay_local(Half(), panel, execution=ExecutionConfig(sizing="fractional"), rebalance_drift=0.05)
    recs = runner.drain_records()
    drift = [d for d in recs["decisions"] if d["explanation_json"][0]["feature"] == "weight_drift"]
    assert drift, "a 3%-vol path drifts more than 5 points from a 50% target"
    assert all(d["weights_json"] == {"A": 0.5} for d in drift)


def test_warmup_bars_fit_once_and_are_not_traded(msft):
    c = OnceAllIn(at=3)
    replay_local(c, msft.slice(0, 100), warmup_bars=50)
    assert c.fitted == [50]
    assert c.fills == [], "bar 3 falls in the warm-up: no decision"


def test_risk_scale_is_recorded_and_applied(msft):
    c = OnceAllIn()
    runner, res = replay_local(c, msft, limits=RiskLimits(max_position_weight=0.3))
    recs = runner.drain_records()
    v = recs["risk_verdicts"][0]
    assert v["action"] == "SCALE" and "MAX_POSITION_WEIGHT" in v["reasons_json"]
    assert v["approved_json"]["target_weight"] == pytest.approx(0.3)
    fill = c.fills[0]
    assert fill.quantity * fill.price <= 0.3 * 10_000


def test_denied_orders_reach_on_denied_and_never_the_ledger(msft):
    class Short(OnceAllIn):
        def on_bars(self, bars, portfolio):
            if bars.index == 5:
                return Decision(weights={"MSFT": 0.5}, explanation=[Contribution("x", 1, 1)])
            return None

    c = Short()
    runner, res = replay_local(c, msft, limits=RiskLimits(max_drawdown=0.5))
    assert not c.denied  # sanity: an allowed order
    from arena.risk import RiskGuardian

    guardian = RiskGuardian(RiskLimits())
    guardian.trip_kill_switch("drill")
    c2 = Short()
    runner, _ = replay_local(c2, msft.slice(0, 20), guardian=guardian)
    assert [v.reasons for v in c2.denied] == [("ARENA_KILL_SWITCH",)]
    assert c2.fills == [] and runner.drain_records().get("orders") is None


def test_a_raising_contender_is_halted_and_still_marked_to_market(msft):
    class Boom(OnceAllIn):
        def on_bars(self, bars, portfolio):
            if bars.index == 30:
                raise ZeroDivisionError("bad feature")
            return super().on_bars(bars, portfolio)

    runner, res = replay_local(Boom(), msft)
    assert res["status"] == "halted" and res["halt_reason"] == "ZeroDivisionError: bad feature"
    assert len(res["equity"]) == len(msft)
    assert res["equity"][-1] != res["equity"][31], "positions are kept and marked after the halt"
    events = runner.drain_records()["events"]
    assert events[0]["kind"] == "CONTENDER_FAILED" and "bad feature" in events[0]["details_json"]["traceback"]


class PreparedMomentum(Contender, ChunkPreparer):
    """Computes a 5-bar return for every bar of a chunk in prepare_chunk, then decides per bar."""

    def __init__(self, **p):
        super().__init__(**p)
        self.prepared: dict[int, float] = {}
        self.calls: list[tuple[int, int]] = []

    def prepare_chunk(self, history, first_bar):
        self.calls.append((first_bar, len(history)))
        close = history.close[:, 0]
        for t in range(max(first_bar, 5), len(history)):
            self.prepared[t] = float(close[t] / close[t - 5] - 1.0)  # bars <= t only

    def on_bars(self, bars, portfolio):
        assert len(bars.history) == bars.index + 1  # still past-only, bar by bar
        r = self.prepared.get(bars.index)
        if r is None:
            return None
        return Decision(weights={bars.symbols[0]: 1.0 if r > 0 else 0.0}, explanation=[Contribution("r5", r, r)])


class PlainMomentum(Contender):
    def on_bars(self, bars, portfolio):
        if bars.index < 5:
            return None
        close = bars.history.close[:, 0]
        r = float(close[-1] / close[-6] - 1.0)
        return Decision(weights={bars.symbols[0]: 1.0 if r > 0 else 0.0}, explanation=[Contribution("r5", r, r)])


def test_chunk_preparer_sees_each_chunk_once_and_decides_as_bar_by_bar(msft):
    prepared = PreparedMomentum()
    _, a = replay_local(prepared, msft, chunk_bars=100)
    _, b = replay_local(PlainMomentum(), msft, chunk_bars=100)
    assert prepared.calls == [(lo, min(lo + 100, len(msft))) for lo in range(0, len(msft), 100)]
    assert a["fills"] == b["fills"]
    np.testing.assert_array_equal(a["equity"], b["equity"])


class SmaBarByBar(SmaCrossover):
    """The built-in SMA crossover without its chunk mask: on_bars on every bar."""

    def prepare_chunk(self, history, first_bar):
        return None


@pytest.mark.parametrize("warmup", [0, 40])
def test_bars_without_a_decision_in_one_step_are_the_bar_by_bar_ones(warmup):
    """The SMA's chunk mask lets the runner mark quiet bars in one NumPy step: decisions,
    verdicts, order events, fills, equity, cash, gross exposure and the latch events are
    those of on_bars on every bar — on minute bars over several days, a symbol that
    starts later (NaN bars), a drawdown halt and daily-loss suspensions on the way."""
    frame = SyntheticSource(["A", "B", "C"], n_bars=6_000, seed=5, freq="1min").load()
    late = (frame["symbol"] == "C") & (frame["timestamp"] < frame["timestamp"].iloc[0] + pd.Timedelta(hours=20))
    panel = to_panel(frame[~late])
    limits = RiskLimits(max_position_weight=0.6, max_drawdown=0.08, daily_loss_limit=0.015)
    results = {}
    for cls in (SmaCrossover, SmaBarByBar):
        guardian = RiskGuardian(limits)
        runner, res = replay_local(cls(fast=5, slow=20), panel, guardian=guardian, warmup_bars=warmup,
                                   chunk_bars=700)
        results[cls] = (runner.drain_records(), res, guardian.events())
    (rec_a, res_a, ev_a), (rec_b, res_b, ev_b) = results[SmaCrossover], results[SmaBarByBar]
    assert res_a["n_decisions"] == res_b["n_decisions"] > 50
    for table in ("decisions", "risk_verdicts", "orders", "fills", "events"):
        assert rec_a.get(table, []) == rec_b.get(table, []), table
    for key in ("equity", "cash", "gross_exposure"):
        np.testing.assert_array_equal(res_a[key], res_b[key], err_msg=key)
    assert res_a["fills"] == res_b["fills"]
    kinds = [e["kind"] for e in ev_a]
    assert kinds == [e["kind"] for e in ev_b] and "CONTENDER_SUSPENDED" in kinds and "CONTENDER_HALTED" in kinds


def test_a_chunk_mask_of_the_wrong_length_halts_the_contender(msft):
    class Bad(SmaCrossover):
        def prepare_chunk(self, history, first_bar):
            return np.zeros(3, dtype=bool)

    runner, res = replay_local(Bad(), msft, chunk_bars=100)
    assert res["status"] == "halted" and "one bool per bar of the chunk (100)" in res["halt_reason"]


@pytest.mark.parametrize("name,params", [("buy_and_hold", {}), ("momentum", {"lookback": 30, "rebalance_bars": 7,
                                                                           "target_volatility": 0.15})])
def test_built_in_chunk_masks_give_the_bar_by_bar_run(name, params):
    """Buy-and-hold (quiet once it has bought) and momentum (quiet between rebalances) run
    as with on_bars on every bar, a drawdown halt included."""
    from contenders.registry import resolve

    cls = resolve(name)
    bar_by_bar = type(f"{cls.__name__}BarByBar", (cls,), {"prepare_chunk": lambda self, history, first_bar: None})
    frame = SyntheticSource(["A", "B"], n_bars=3_000, seed=9, freq="1h").load()
    panel = to_panel(frame)
    out = []
    for c in (cls(**params), bar_by_bar(**params)):
        runner, res = replay_local(c, panel, limits=RiskLimits(max_drawdown=0.1), chunk_bars=333)
        out.append((runner.drain_records(), res))
    (rec_a, res_a), (rec_b, res_b) = out
    for table in ("decisions", "risk_verdicts", "orders", "fills"):
        assert rec_a.get(table, []) == rec_b.get(table, []), table
    np.testing.assert_array_equal(res_a["equity"], res_b["equity"])
    np.testing.assert_array_equal(res_a["gross_exposure"], res_b["gross_exposure"])


class SleepsAtBar(Contender):
    """Decides all-in at bar 2, then, at bar 10, does not answer for ``sleep_s`` seconds."""

    sleep_s: float = 30.0

    def on_bars(self, bars, portfolio):
        if bars.index == 10:
            import time

            time.sleep(self.sleep_s)
        if bars.index == 2:
            return Decision(weights={bars.symbols[0]: 1.0}, explanation=[Contribution("in", 1.0, 1.0)])
        return None


def test_a_contender_that_does_not_answer_is_halted_at_its_decision_timeout(msft):
    import time

    t0 = time.perf_counter()
    _, res = replay_local(SleepsAtBar(), msft, decision_timeout_s=0.5)
    assert time.perf_counter() - t0 < 10, "the bar loop went on without waiting for it"
    assert res["status"] == "halted"
    assert res["halt_reason"] == "DecisionTimeout: on_bars did not answer within decision_timeout_s = 0.5 s at bar 10"
    assert len(res["equity"]) == len(msft), "its ledger is still marked to market to the end"
    assert len(res["fills"]) == 1


def test_without_a_decision_timeout_no_thread_is_used(msft):
    import threading

    before = threading.active_count()
    runner, _ = replay_local(SleepsAtBar(sleep_s=0.0), msft)
    assert runner._pool is None and threading.active_count() == before


def test_operational_figures_time_each_decision_and_count_bars_after_a_halt(msft):
    import time

    from arena.scoring import operational_figures

    class SlowFit(OnceAllIn):
        def fit(self, history):
            time.sleep(0.02)
            super().fit(history)

        def on_bars(self, bars, portfolio):
            if bars.index == 80:
                raise ValueError("stop")
            return Decision(weights={bars.symbols[0]: 0.5})

    _, res = replay_local(SlowFit(), msft.slice(0, 100), warmup_bars=10)
    assert len(res["decision_ns"]) == res["n_decisions"] == 80 - 10 and min(res["decision_ns"]) > 0
    assert res["bars_missed"] == 100 - 81  # bars 81..99 after the halt at bar 80
    assert res["timings_s"]["fit"] >= 0.02
    ops = operational_figures(res, res["status"])
    assert ops["halts"] == 1 and ops["bars_missed"] == 19 and ops["train_s"] >= 0.02
    assert 0 < ops["latency_p50_ms"] <= ops["latency_p99_ms"]
    _, plain = replay_local(SmaCrossover(), msft.slice(0, 100))
    assert operational_figures(plain, plain["status"])["train_s"] is None
