"""Batched prediction per chunk and explanations on demand, for every learned contender:

* the chunked path (``prepare_chunk``: one ``predict`` call per chunk segment between retrains)
  decides exactly as the bar-by-bar path, through retrains and mid-chunk rollbacks;
* decisions that trade are explained at decision time, the others on demand, and the
  on-demand explanation (checkpoint + recorded inputs) equals the eager one line for line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arena.audit_rows import by_size, num
from arena.data.panel import Panel
from arena.local import replay_local
from arena.risk import RiskLimits
from contenders import resolve
from contenders.ml.base import LearnedContender
from contenders.ml.deferred import DEFERRED_METHOD, explain_recorded, is_deferred, read_records
from ledger import ExecutionConfig
from ml_support import daily_panel

N_BARS, WARMUP, CHUNK = 330, 200, 48  # chunks of 48 bars: retrains (every 50) and rollbacks fall inside chunks
SETTINGS: dict[str, dict[str, Any]] = {
    "lightgbm": {"n_estimators": 40, "retrain_every_bars": 50},
    "lstm_attention": {"epochs": 2, "hidden_size": 8, "attention_size": 4, "retrain_every_bars": 50, "ig_steps": 8,
                       "lookback_bars": 10},
    "tft": {"lookback_bars": 8, "hidden_size": 8, "hidden_continuous_size": 4, "attention_head_size": 1, "epochs": 1,
            "batch_size": 128, "retrain_every_bars": 50, "rebalance_band": 0.15},
    "ppo": {"total_timesteps": 256, "n_steps": 128, "batch_size": 64, "n_epochs": 2, "hidden_size": 16,
            "episode_bars": 64, "retrain_every_bars": 50, "ig_steps": 4, "commission_bps": 1.0, "slippage_bps": 2.0,
            "rebalance_band": 0.03},
}
METHODS = {
    "lightgbm": {"shap"},
    "lstm_attention": {"integrated_gradients", "attention"},
    "tft": {"quantile", "variable_selection", "attention"},
    "ppo": {"policy", "integrated_gradients"},
}
EXECUTION = ExecutionConfig(commission_bps=1.0, slippage_bps=2.0)
# a Sharpe floor no contender reaches: rolled back at the first trading decision of each 20-bar window
ROLLBACK = RiskLimits(sharpe_floor=5.0, sharpe_window_bars=20, sharpe_rollback=True)


def _per_bar(cls: type[LearnedContender]) -> type[LearnedContender]:
    """``cls`` with ``prepare_chunk`` doing nothing: every bar is predicted on its own (today's path)."""

    class PerBar(cls):  # type: ignore[valid-type,misc]
        def prepare_chunk(self, history: Any, first_bar: int) -> None:
            return None

    return PerBar


def _run(name: str, folder: Path, *, per_bar: bool = False, **extra: Any) -> tuple[LearnedContender, dict[str, Any]]:
    cls = resolve(name)
    model = (_per_bar(cls) if per_bar else cls)(seed=3, **SETTINGS[name], **extra)
    model.artifacts_dir = folder
    runner, result = replay_local(
        model, _panel(), execution=EXECUTION, limits=ROLLBACK, warmup_bars=WARMUP, chunk_bars=CHUNK
    )
    assert result["status"] == "ok", result["halt_reason"]
    return model, runner.drain_records()


_PANEL: list[Panel] = []


def _panel() -> Panel:
    if not _PANEL:
        _PANEL.append(daily_panel(N_BARS))
    return _PANEL[0]


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def runs(request, tmp_path_factory) -> dict[str, Any]:
    """The three replays of one contender: bar by bar, chunked on demand, chunked eager."""
    name = request.param
    root = tmp_path_factory.mktemp(name)
    per_bar = _run(name, root / "per_bar", per_bar=True)
    chunked = _run(name, root / "chunked")
    eager = _run(name, root / "eager", explanations="eager")
    return {"name": name, "root": root, "per_bar": per_bar, "chunked": chunked, "eager": eager}


def _rows(explanation: Any) -> list[dict[str, Any]]:
    """Explanation lines as the decisions table holds them (sorted by |contribution|)."""
    return [
        {"feature": e.feature, "value": num(e.value), "contribution": num(e.contribution), "method": e.method,
         "symbol": e.symbol}
        for e in sorted(explanation, key=by_size)
    ]


def _assert_same_decisions(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    """Same bars, same symbols traded, same weights: bit for bit where the batched forward pass
    gives the same bits (LightGBM, the LSTM, PPO's per-bar path); for the TFT the vectorized
    float32 kernels round a row differently in a batch of another size (about 1e-8 relative),
    so its weights agree to 1e-6 relative."""
    assert [d["bar_index"] for d in a] == [d["bar_index"] for d in b]
    for x, y in zip(a, b, strict=True):
        assert x["weights_json"].keys() == y["weights_json"].keys(), f"bar {x['bar_index']}"
        for sym, w in x["weights_json"].items():
            assert y["weights_json"][sym] == pytest.approx(w, rel=1e-6, abs=1e-12), f"bar {x['bar_index']} {sym}"
        assert (x["predictions_json"] is None) == (y["predictions_json"] is None)
        if x["predictions_json"]:
            assert x["predictions_json"].keys() == y["predictions_json"].keys()
            for sym, p in x["predictions_json"].items():
                assert y["predictions_json"][sym] == pytest.approx(p, abs=1e-6), f"bar {x['bar_index']} {sym}"
        assert x["confidence"] == pytest.approx(y["confidence"], rel=1e-6, abs=1e-12)


def test_chunked_decides_as_bar_by_bar_through_retrains_and_rollbacks(runs) -> None:
    (m_bar, rec_bar), (m_chunk, rec_chunk) = runs["per_bar"], runs["chunked"]
    _assert_same_decisions(rec_bar["decisions"], rec_chunk["decisions"])
    rollbacks = [e for e in rec_chunk.get("events", []) if e["kind"] == "CONTENDER_ROLLED_BACK"]
    assert rollbacks, "the test needs mid-chunk rollbacks to prove anything"
    assert rollbacks == [e for e in rec_bar.get("events", []) if e["kind"] == "CONTENDER_ROLLED_BACK"]
    assert [(c.version, c.bar_idx, c.serial) for c in m_chunk.checkpoints] == [
        (c.version, c.bar_idx, c.serial) for c in m_bar.checkpoints
    ]
    if runs["name"] != "tft":  # bit-identical predictions: bit-identical decisions
        assert [d["weights_json"] for d in rec_bar["decisions"]] == [d["weights_json"] for d in rec_chunk["decisions"]]
    # trading decisions are explained the same way on both paths (one bar, the same model)
    for x, y in zip(rec_bar["decisions"], rec_chunk["decisions"], strict=True):
        if x["weights_json"]:
            assert x["explanation_json"] == y["explanation_json"], f"bar {x['bar_index']}"
    traded = N_BARS - WARMUP
    assert m_bar.predict_bars == m_bar.predict_calls  # one bar per call
    if runs["name"] == "ppo":  # its observation holds its own position weights: bar by bar on both paths
        assert m_chunk.predict_calls == m_chunk.predict_bars
    else:
        assert m_chunk.predict_bars >= traded - 1
        assert m_chunk.predict_calls <= traded / 8, "the chunk's bars are predicted in a few calls"


def test_only_trading_decisions_are_explained_at_decision_time(runs) -> None:
    model, records = runs["chunked"]
    decisions = records["decisions"]
    deferred = [d for d in decisions if is_deferred(d["explanation_json"])]
    assert deferred and len(deferred) == model.deferred
    for d in decisions:
        assert d["explanation_json"], "every decision row has an explanation or its reference"
        if d["weights_json"]:
            assert not is_deferred(d["explanation_json"])
        else:
            assert is_deferred(d["explanation_json"])
            line = next(e for e in d["explanation_json"] if e["method"] == DEFERRED_METHOD)
            assert line["feature"] == "explanation" and line["value"] >= 1  # the checkpoint version
    assert model.explain_calls == len(decisions) - len(deferred)
    _, recs = read_records(runs["root"] / "chunked")
    assert sorted(recs["bar"].tolist()) == sorted(d["bar_index"] for d in deferred)
    eager_model, eager = runs["eager"]
    assert eager_model.deferred == 0 and not any(is_deferred(d["explanation_json"]) for d in eager["decisions"])


def test_on_demand_explanations_equal_the_eager_ones(runs) -> None:
    (_, chunked), (_, eager) = runs["chunked"], runs["eager"]
    _assert_same_decisions(eager["decisions"], chunked["decisions"])
    by_bar = {d["bar_index"]: d for d in eager["decisions"]}
    folder = runs["root"] / "chunked"
    deferred = [d for d in chunked["decisions"] if is_deferred(d["explanation_json"])]
    methods = set()
    for d in deferred:
        got = _rows(explain_recorded(folder, d["bar_index"]))
        want = by_bar[d["bar_index"]]["explanation_json"]
        assert got == want, f"bar {d['bar_index']}"
        methods |= {e["method"] for e in got}
    assert METHODS[runs["name"]] <= methods
    # versions rolled back and trained again: the records name the exact model they ran
    manifest = json.loads((folder / "checkpoints.json").read_text())
    versions = {m["version"] for m in manifest["checkpoints"]}
    _, recs = read_records(folder)
    assert set(recs["version"].tolist()) <= versions, "every record names a checkpoint that has a file"
    assert all((folder / f"ckpt-{v:04d}.pkl").exists() for v in versions)


def test_a_failing_batch_halts_at_the_failing_bar_as_bar_by_bar(tmp_path) -> None:
    cls = resolve("lightgbm")

    class FailsAt(cls):  # type: ignore[valid-type,misc]
        def predict(self, batch):
            bars = batch.row_bars if batch.row_bars is not None else np.array([batch.bar_idx])
            if (bars == 260).any():
                raise RuntimeError("model broke at bar 260")
            return super().predict(batch)

    results = []
    for per_bar in (True, False):
        model = (_per_bar(FailsAt) if per_bar else FailsAt)(seed=3, **SETTINGS["lightgbm"])
        runner, res = replay_local(model, _panel(), warmup_bars=WARMUP, chunk_bars=CHUNK)
        rows = runner.drain_records()
        results.append((res["status"], res["halt_reason"], [d["bar_index"] for d in rows["decisions"]]))
    assert results[0] == results[1]
    assert results[0][0] == "halted" and max(results[0][2]) == 259
