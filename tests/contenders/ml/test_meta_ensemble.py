"""The stacking meta-ensemble: signals routed bar by bar (in process and through Ray),
walk-forward non-negative stacking weights, conviction-vector explanations, no look-ahead."""

from __future__ import annotations

from typing import Any

import pytest

from arena.config import parse_config
from arena.data.panel import Panel
from arena.local import replay_local_arena
from contenders import resolve
from contenders.ml.meta_ensemble import MetaEnsemble
from ml_support import assert_no_look_ahead, daily_panel, perturb_after

WARMUP = {"sma": 250, "mom": 250, "gbm": 250, "meta": 330}


@pytest.fixture(scope="module")
def panel() -> Panel:
    return daily_panel(600)


def _models() -> dict[str, Any]:
    return {
        "sma": resolve("sma_crossover")(fast=10, slow=30),
        "mom": resolve("momentum")(lookback=63, rebalance_bars=5),
        "gbm": resolve("lightgbm")(seed=5, n_estimators=40, retrain_every_bars=100, min_train_samples=150),
        "meta": MetaEnsemble(retrain_every_bars=50, min_train_samples=100),
    }


def _decisions(out: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return out[name][0].drain_records().get("decisions", [])


def test_meta_stacks_the_others_signals_with_a_conviction_vector(panel: Panel) -> None:
    models = _models()
    out = replay_local_arena(models, panel, warmup_bars=WARMUP)
    assert all(res["status"] == "ok" for _, res in out.values()), {k: r["halt_reason"] for k, (_, r) in out.items()}
    meta: MetaEnsemble = models["meta"]
    assert meta.versions, "the meta-model never trained"
    for v in meta.versions:
        assert set(v["weights"]) == {"sma", "mom", "gbm"}
        assert all(w >= 0 for w in v["weights"].values())
    rows = _decisions(out, "meta")
    assert rows and min(r["bar_index"] for r in rows) >= WARMUP["meta"]
    for r in rows:
        expl = r["explanation_json"]
        assert r["predictions_json"]
        methods = {e["method"] for e in expl}
        assert "stacking" in methods
        features = {e["feature"] for e in expl}
        assert "conviction" in features and {"sma", "mom", "gbm"} <= features
    # reasons the input models gave travel with their own method, prefixed by the model name
    assert any(e["feature"].startswith("gbm:") and e["method"] == "shap" for r in rows for e in r["explanation_json"])


def test_meta_no_look_ahead_and_deterministic(panel: Panel) -> None:
    t = 470
    a = _decisions(replay_local_arena(_models(), panel, warmup_bars=WARMUP), "meta")
    b = _decisions(replay_local_arena(_models(), panel, warmup_bars=WARMUP), "meta")
    changed = perturb_after(panel, t, seed=3, volume_noise="none")
    c = _decisions(replay_local_arena(_models(), changed, warmup_bars=WARMUP), "meta")
    assert a == b
    assert_no_look_ahead(a, c, t)


def test_meta_without_signals_never_decides(panel: Panel) -> None:
    out = replay_local_arena({"meta": MetaEnsemble()}, panel)
    assert out["meta"][1]["status"] == "ok"
    assert _decisions(out, "meta") == []


def test_meta_params_are_checked() -> None:
    with pytest.raises(ValueError, match="embargo_bars"):
        MetaEnsemble(horizon_bars=5, embargo_bars=2)


@pytest.mark.ray
def test_the_arena_routes_signals_to_the_meta_model_through_ray_deterministically(ray_session, tmp_path) -> None:
    from arena.store import open_store
    from arena.topology import run_arena

    store = f"duckdb://{tmp_path}/arena.duckdb"
    cfg = parse_config(
        {
            "name": "meta-routing",
            "data": {"source": "sample", "name": "us_equities_daily", "until": "2011-06-30"},
            "seed": 3,
            "replay": {"chunk_bars": 64},
            "artifacts": str(tmp_path / "artifacts"),
            "contenders": [
                {"name": "sma", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}, "warmup_bars": 250},
                {"name": "mom", "class": "momentum", "params": {"lookback": 63, "rebalance_bars": 5},
                 "warmup_bars": 250},
                {"name": "gbm", "class": "lightgbm", "warmup_bars": 250,
                 "params": {"n_estimators": 40, "retrain_every_bars": 100, "min_train_samples": 150}},
                {"name": "meta", "class": "meta_ensemble", "warmup_bars": 330,
                 "params": {"retrain_every_bars": 50, "min_train_samples": 100}},
            ],
            "store": store,
        }
    )
    result = run_arena(cfg)
    board = {row["contender"]: row for row in result.leaderboard}
    assert set(board) == {"sma", "mom", "gbm", "meta"} and board["meta"]["status"] == "ok"
    assert board["gbm"]["ic"] is not None and board["meta"]["ic"] is not None
    assert board["sma"]["ic"] is None  # rule contenders do not predict returns
    with open_store(store, read_only=True) as st:
        rows = st.decisions(result.run_id, contender="meta", limit=10_000)
        assert rows
        why = st.decision(rows[-1]["decision_id"])
    assert {"conviction", "sma", "mom", "gbm"} <= {e["feature"] for e in why["explanation"]}
    # every retrain of a learned contender left a checkpoint in the run's artifacts
    ckpts = sorted((tmp_path / "artifacts" / result.run_id / "gbm").glob("ckpt-*.pkl"))
    assert ckpts and (tmp_path / "artifacts" / result.run_id / "gbm" / "checkpoints.json").exists()

    # determinism across runs on Ray: the same config and seed give the same decisions, bit for bit
    again = run_arena(cfg)

    def decisions(run_id: str) -> list[dict]:
        with open_store(store, read_only=True) as st:
            rows = st.decisions(run_id, limit=100_000)
        return [{k: v for k, v in r.items() if k not in ("decision_id", "run_id")} for r in rows]

    first, second = decisions(result.run_id), decisions(again.run_id)
    assert len(first) > 100 and first == second
