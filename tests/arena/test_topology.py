"""The whole arena on a real Ray instance: fan-out, ledgers, risk, store, leaderboard."""

from __future__ import annotations

import threading
import time

import pytest

from arena.config import parse_config
from arena.store import open_store
from arena.topology import run_arena

pytestmark = pytest.mark.ray


def _config(tmp_path, **over):
    raw = {
        "name": "t-arena",
        "data": {"source": "sample", "name": "us_equities_daily"},
        "capital": 10_000,
        "seed": 3,
        "execution": {"fill_price": "next_open", "commission_bps": 1.0, "slippage_bps": 2.0},
        "risk": {"max_position_weight": 0.5, "max_gross_leverage": 1.0, "max_drawdown": 0.5},
        "contenders": [
            {"name": "bench", "class": "buy_and_hold"},
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}},
            {"name": "rsi", "class": "rsi_mean_reversion"},
            {"name": "mom", "class": "momentum", "params": {"lookback": 63}},
        ],
        "store": f"duckdb://{tmp_path / 'arena.duckdb'}",
    }
    raw.update(over)
    return parse_config(raw)


_PROGRESS: list[tuple[int, int]] = []  # the finished run's progress calls


@pytest.fixture(scope="module")
def finished_run(ray_session, tmp_path_factory):
    cfg = _config(tmp_path_factory.mktemp("run"))
    return cfg, run_arena(cfg, progress=lambda done, total: _PROGRESS.append((done, total)))


def test_progress_counts_bars_decided_from_zero_to_the_total(finished_run):
    cfg, result = finished_run
    n = result.n_bars
    assert _PROGRESS[0] == (0, n), "the total is known before the first bar"
    assert _PROGRESS[-1] == (n, n)
    done = [d for d, _ in _PROGRESS]
    assert done == sorted(done), "never goes back"
    assert {t for _, t in _PROGRESS} == {n}


def test_leaderboard_has_every_contender_with_metrics(finished_run):
    cfg, result = finished_run
    assert result.status == "finished"
    names = {r["contender"] for r in result.leaderboard}
    assert names == {"bench", "sma", "rsi", "mom"}
    for row in result.leaderboard:
        for key in ("final_equity", "total_return", "sharpe", "sortino", "calmar", "max_drawdown", "trades", "dsr"):
            assert key in row
    assert [r["rank"] for r in result.leaderboard] == [1, 2, 3, 4]


def test_risk_limit_scales_the_benchmark(finished_run):
    """max_position_weight 0.5 is binding for nobody with 4 symbols at 0.25 each; the
    store holds one verdict per order and every order went through the guardian."""
    cfg, result = finished_run
    store = open_store(cfg.store, read_only=True)
    d = store.decisions(result.run_id, contender="bench")
    assert len(d) == 1
    why = store.decision(d[0]["decision_id"])
    assert len(why["verdicts"]) == len(why["weights"])
    assert {v["action"] for v in why["verdicts"]} == {"ALLOW"}
    assert why["fills"], "the benchmark's orders filled"


def test_store_records_run_provenance_and_equity(finished_run):
    cfg, result = finished_run
    store = open_store(cfg.store, read_only=True)
    run = store.get_run(result.run_id)
    assert run["data_sha256"] == result.data_sha256
    assert run["seed"] == 3 and run["status"] == "finished" and run["code_version"]
    eq = store.equity_curve(result.run_id, "sma")
    assert len(eq) == result.n_bars
    assert eq[-1]["equity"] == pytest.approx(
        next(r for r in result.leaderboard if r["contender"] == "sma")["final_equity"]
    )


def test_same_config_data_and_seed_give_identical_decisions_and_fills(finished_run, tmp_path):
    cfg, first = finished_run
    cfg2 = _config(tmp_path)
    second = run_arena(cfg2)

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in ("run_id", "decision_id", "verdict_id")} for r in rows]

    a, b = open_store(cfg.store, read_only=True), open_store(cfg2.store, read_only=True)
    for name in ("bench", "sma", "rsi", "mom"):
        da = a.decisions(first.run_id, contender=name, limit=1000)
        db = b.decisions(second.run_id, contender=name, limit=1000)
        assert strip(da) == strip(db)
        assert first.contenders[name]["fills"] == second.contenders[name]["fills"]
    wall_clock = {"run_id", "latency_p50_ms", "latency_p99_ms", "train_s"}  # measured times differ run to run
    lb = lambda res: [{k: v for k, v in r.items() if k not in wall_clock} for r in res.leaderboard]  # noqa: E731
    assert lb(first) == lb(second)  # the same p-values, StepM and MCS too (seeded bootstrap)
    assert first.leaderboard[0]["spa_pvalue"] is not None


def test_every_trial_on_the_same_bars_is_counted_across_runs(ray_session, tmp_path):
    store = f"duckdb://{tmp_path / 'trials.duckdb'}"
    data = {"source": "sample", "name": "us_equities_daily", "until": "2011-06-30"}

    def sweep(fast):
        return [{"name": "bench", "class": "buy_and_hold"},
                {"name": "sma", "class": "sma_crossover", "process": "grid", "sweep": {"fast": fast, "slow": [50]}}]

    first = run_arena(_config(tmp_path, data=data, store=store, contenders=sweep([5, 10])))
    second = run_arena(_config(tmp_path, data=data, store=store, contenders=sweep([10, 20]), rank_by="dsr_all"))
    assert {r["n_trials"] for r in first.leaderboard} == {3} and {r["n_trials_all"] for r in first.leaderboard} == {3}
    assert {r["n_trials"] for r in second.leaderboard} == {3}
    assert {r["n_trials_all"] for r in second.leaderboard} == {4}  # bench and fast=10 were tried before
    row = next(r for r in second.leaderboard if r["contender"] == "sma_fast10_slow50")
    assert row["dsr_all"] < row["dsr"]
    assert [r["rank_by"] for r in second.leaderboard] == ["dsr_all"] * 3
    assert row["latency_p50_ms"] > 0 and row["latency_p99_ms"] >= row["latency_p50_ms"]
    assert row["bars_missed"] == 0 and row["halts"] == 0
    with open_store(store, read_only=True) as st:
        register = st.run_trials(second.run_id)
        stored = {r["contender"]: r for r in st.leaderboard(second.run_id)}
    assert len(register) == 6 and len({r["trial_id"] for r in register}) == 4
    assert stored["sma_fast10_slow50"]["dsr_all"] == row["dsr_all"]
    assert stored["bench"]["benchmark"] == "bench" and stored["bench"]["calendar"]["yearly"]


def test_failing_contender_is_halted_and_the_run_goes_on(ray_session, tmp_path):
    cfg = _config(
        tmp_path,
        contenders=[
            {"name": "bench", "class": "buy_and_hold"},
            {"name": "broken", "class": "arena_test_contenders:FailsAtBar", "params": {"fail_at": 40}},
        ],
    )
    result = run_arena(cfg)
    assert result.status == "finished_with_failures"
    rows = {r["contender"]: r for r in result.leaderboard}
    assert rows["broken"]["status"] == "halted"
    assert "model blew up at bar 40" in rows["broken"]["halt_reason"]
    assert rows["bench"]["status"] == "ok"
    events = open_store(cfg.store, read_only=True).events(result.run_id, kind="CONTENDER_FAILED")
    assert [e["contender"] for e in events] == ["broken"]
    assert "model blew up" in events[0]["reason"]


def test_kill_switch_trips_a_running_arena(ray_session, tmp_path):
    from arena.control import running_arenas, trip_kill_switch

    cfg = _config(
        tmp_path,
        contenders=[{"name": "flip", "class": "arena_test_contenders:FlipEveryBar"}],
        replay={"mode": "paced", "bar_interval_s": 0.002},
    )
    box = {}
    t = threading.Thread(target=lambda: box.update(result=run_arena(cfg, run_id="kill-test")))
    t.start()
    deadline = time.time() + 60
    while "kill-test" not in running_arenas() and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert trip_kill_switch("test drill", "kill-test") == ["kill-test"]
    t.join(timeout=120)
    result = box["result"]
    assert result.status == "killed"
    store = open_store(cfg.store, read_only=True)
    assert any(e["kind"] == "KILL_SWITCH_TRIPPED" for e in store.kill_switch_events("kill-test"))
    n = result.contenders["flip"]["n_decisions"]
    denied = [
        v
        for d in store.decisions("kill-test", limit=20, offset=n - 20)
        for v in store.decision(d["decision_id"])["verdicts"]
        if v["action"] == "DENY"
    ]
    assert denied and all("ARENA_KILL_SWITCH" in v["reasons"] for v in denied)
    # the guardian pushed the trip to the contender, which applied it once, and the
    # guardian re-derived every verdict the contender's replica gave
    assert len(result.contenders["flip"]["control_delays_ns"]) == 1
    assert result.guardian["controls_applied"] == {"flip": 1}
    assert result.guardian["mismatches"] == 0
    symbols = len(result.contenders["flip"]["symbols"])  # it orders every symbol on every bar
    assert result.guardian["audited_verdicts"] == symbols * n


def test_serve_answers_from_a_real_run(finished_run):
    from fastapi.testclient import TestClient

    from serve.api import create_app

    cfg, result = finished_run
    client = TestClient(create_app(cfg.store))
    lb = client.get(f"/runs/{result.run_id}/leaderboard")
    assert lb.status_code == 200
    body = lb.json()
    rows = body["leaderboard"] if isinstance(body, dict) else body
    assert {r["contender"] for r in rows} == {"bench", "sma", "rsi", "mom"}
    decisions = client.get(
        f"/runs/{result.run_id}/decisions", params={"contender": "sma", "symbol": "MSFT", "limit": 5}
    )
    assert decisions.status_code == 200
    items = decisions.json()["decisions"] if isinstance(decisions.json(), dict) else decisions.json()
    assert items and all("MSFT" in d["symbols"] for d in items)
    why = client.get(f"/decisions/{items[0]['decision_id']}/why")
    assert why.status_code == 200
    expl = why.json()["explanation"]
    assert expl and abs(expl[0]["contribution"]) >= abs(expl[-1]["contribution"])
    eq = client.get(f"/runs/{result.run_id}/contenders/sma/equity")
    assert eq.status_code == 200
    assert client.get(f"/runs/{result.run_id}/contenders/nobody/equity").status_code == 404
    assert client.get(f"/runs/{result.run_id}/decisions", params={"limit": 0}).status_code == 422


def test_contenders_sharing_a_process_trade_as_alone(ray_session, finished_run, tmp_path):
    """Three contenders in one actor process (config `process`) and one alone give the same
    fills, equity and leaderboard as four processes, and every one is recorded."""
    cfg, alone = finished_run
    raw_contenders = [
        {"name": "bench", "class": "buy_and_hold", "process": "light"},
        {"name": "sma", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}, "process": "light"},
        {"name": "rsi", "class": "rsi_mean_reversion", "process": "light"},
        {"name": "mom", "class": "momentum", "params": {"lookback": 63}},
    ]
    shared = run_arena(_config(tmp_path, contenders=raw_contenders))
    assert set(shared.contenders) == set(alone.contenders)
    for name in alone.contenders:
        assert shared.contenders[name]["fills"] == alone.contenders[name]["fills"], name
        assert (shared.contenders[name]["equity"] == alone.contenders[name]["equity"]).all(), name
    assert [(r["contender"], r["sharpe"]) for r in shared.leaderboard] == [
        (r["contender"], r["sharpe"]) for r in alone.leaderboard
    ]
    store = open_store(_config(tmp_path).store, read_only=True)
    for name in alone.contenders:
        assert len(store.equity_curve(shared.run_id, name)) == shared.n_bars, name
    assert shared.guardian["mismatches"] == 0 and shared.guardian["audited_verdicts"] > 0


def test_a_signal_consumer_cannot_share_a_process(tmp_path):
    from arena.config import ConfigError

    contenders = [
        {"name": "sma", "class": "sma_crossover", "process": "p"},
        {"name": "meta", "class": "meta_ensemble", "process": "p"},
    ]
    with pytest.raises(ConfigError, match=r"contenders\[1\]\.process: 'meta' consumes the others' signals"):
        _config(tmp_path, contenders=contenders)


def test_a_drawdown_halt_flattens_on_ray_and_the_guardian_agrees(ray_session, tmp_path):
    """Buy-and-hold through the 2020 crash under a 15 % limit: halted, positions closed at the next
    open, the loss stops there; the guardian re-vetted the flattening orders with no mismatch."""
    cfg = _config(
        tmp_path,
        risk={"max_position_weight": 1.0, "max_gross_leverage": 1.0, "max_drawdown": 0.15},
        contenders=[{"name": "bench", "class": "buy_and_hold"}],
    )
    result = run_arena(cfg)
    assert result.status == "finished_with_failures"
    row = result.leaderboard[0]
    assert row["status"] == "halted" and "MAX_DRAWDOWN" in row["halt_reason"]
    assert row["max_drawdown"] < 0.19, "stopped within a bar of the limit (the next open's gap), not 19 %"
    store = open_store(cfg.store, read_only=True)
    flattened = store.events(result.run_id, kind="CONTENDER_FLATTENED")
    assert len(flattened) == 1 and flattened[0]["contender"] == "bench"
    assert result.guardian["mismatches"] == 0
    sells = [f for f in result.contenders["bench"]["fills"] if f["side"] == "SELL"]
    assert len(sells) == 4, "every one of the four symbols sold"


def test_a_contender_whose_process_dies_is_listed_as_failed(ray_session, tmp_path):
    cfg = _config(
        tmp_path,
        contenders=[
            {"name": "bench", "class": "buy_and_hold"},
            {"name": "dies", "class": "arena_test_contenders:ExitsAtBar", "params": {"exit_at": 60}},
        ],
    )
    result = run_arena(cfg)
    assert result.status == "finished_with_failures"
    rows = {r["contender"]: r for r in result.leaderboard}
    assert set(rows) == {"bench", "dies"}, "every contender is on the leaderboard"
    assert rows["dies"]["status"] == "failed" and rows["dies"]["halt_reason"]
    assert rows["dies"]["rank"] == 2 and rows["bench"]["status"] == "ok"
    stored = {r["contender"]: r for r in open_store(cfg.store, read_only=True).leaderboard(result.run_id)}
    assert stored["dies"]["status"] == "failed"
    assert open_store(cfg.store, read_only=True).get_run(result.run_id)["status"] == "finished_with_failures"


def test_a_gpu_request_on_a_machine_without_one_runs_on_the_cpu(ray_session, tmp_path, caplog):
    """No GPU here: the request would wait forever; on a Ray that cannot grow it falls back."""
    cfg = _config(tmp_path, contenders=[{"name": "sma", "class": "sma_crossover", "resources": {"num_gpus": 1}}])
    from arena.topology import fit_gpus

    assert fit_gpus(cfg, 0.0, fixed=True) == {"sma": 0.0}
    assert fit_gpus(cfg, 0.0, fixed=False) == {"sma": 1}, "a cluster that may add a GPU node keeps the request"
    assert fit_gpus(cfg, 2.0, fixed=True) == {"sma": 1}


def test_actors_the_cluster_cannot_place_fail_the_start_naming_the_request(ray_session, tmp_path):
    cfg = _config(
        tmp_path,
        contenders=[{"name": "big", "class": "sma_crossover", "resources": {"num_cpus": 64}}],
        ray={"startup_timeout_s": 3},
    )
    with pytest.raises(RuntimeError, match=r"did not all start within ray.startup_timeout_s = 3 s.*big: 64 CPU"):
        run_arena(cfg)
    runs = open_store(cfg.store, read_only=True).list_runs()
    assert [r["status"] for r in runs] == ["failed"]
