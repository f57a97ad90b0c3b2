"""The walk-forward protocol: past-only features, purge/embargo, retrain schedule,
checkpoints/rollback, the prediction → weight mapping, and LightGBM + SHAP on real bars."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from arena.data.panel import Panel
from arena.local import replay_local
from contenders.ml import LearnedContender, Prediction, TrainingSet, compute_features, weights_from_predictions
from contenders.ml.features import FEATURE_WINDOW_BARS, FeatureCache, feature_names, forward_log_returns
from contenders.ml.lightgbm_shap import LightGBMContender
from ledger.types import Contribution
from ml_support import assert_no_look_ahead, daily_panel, history_of, perturb_after, replay_decisions


@pytest.fixture(scope="module")
def panel() -> Panel:
    return daily_panel(700)


# --------------------------------------------------------------------------- features
def test_features_match_pandas_reference(panel: Panel) -> None:
    feats = compute_features(panel.close, panel.high, panel.low, panel.volume)
    names = feature_names(len(panel.symbols))
    j = 2  # MSFT
    c = pd.Series(panel.close[:, j])
    logc = np.log(c)
    f = pd.DataFrame(feats[:, j, :], columns=names)
    t = np.arange(FEATURE_WINDOW_BARS - 1, len(c))
    np.testing.assert_allclose(f["ret_5"].iloc[t], (logc - logc.shift(5)).iloc[t], rtol=1e-12)
    np.testing.assert_allclose(f["ret_63"].iloc[t], (logc - logc.shift(63)).iloc[t], rtol=1e-12)
    np.testing.assert_allclose(f["vol_21"].iloc[t], logc.diff().rolling(21).std().iloc[t], rtol=1e-9)
    d = c.diff()
    gain, loss = d.clip(lower=0).rolling(14).mean(), (-d).clip(lower=0).rolling(14).mean()
    np.testing.assert_allclose(f["rsi_14"].iloc[t], (gain / (gain + loss) - 0.5).iloc[t], atol=1e-12)
    # MACD: pandas' adjusted EWM over exactly the last 64 closes is the same finite-window filter
    k = 300
    window = c.iloc[k - FEATURE_WINDOW_BARS + 1 : k + 1]
    macd = (window.ewm(span=12).mean().iloc[-1] - window.ewm(span=26).mean().iloc[-1]) / c.iloc[k]
    assert f["macd"].iloc[k] == pytest.approx(macd, rel=1e-9)
    assert f.iloc[: FEATURE_WINDOW_BARS - 1].isna().all().all()
    ranks = feats[FEATURE_WINDOW_BARS:, :, names.index("xs_rank_ret_5")]
    np.testing.assert_allclose(np.sort(ranks, axis=1), np.tile([0, 1 / 3, 2 / 3, 1], (len(ranks), 1)))


def test_feature_rows_are_past_only_and_block_independent(panel: Panel) -> None:
    t = 400
    full = compute_features(panel.close, panel.high, panel.low, panel.volume)
    p2 = perturb_after(panel, t, seed=7, volume_noise="uniform")
    other = compute_features(p2.close, p2.high, p2.low, p2.volume)
    np.testing.assert_array_equal(full[: t + 1], other[: t + 1])
    assert not np.allclose(full[t + 70], other[t + 70])
    cache = FeatureCache(len(panel.symbols), capacity=8)
    for n in (100, 101, 250, 700):
        rows = cache.update(history_of(panel, n))
    np.testing.assert_allclose(rows, full, rtol=1e-12, atol=1e-15, equal_nan=True)


def test_forward_log_returns_label() -> None:
    close = np.array([[100.0], [110.0], [121.0], [100.0]])
    y = forward_log_returns(close, 2)
    np.testing.assert_allclose(y[:2, 0], [np.log(1.21), np.log(100 / 110)])
    assert np.isnan(y[2:]).all()
    with pytest.raises(ValueError, match="horizon_bars"):
        forward_log_returns(close, 0)


def test_compute_features_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="volume has shape"):
        compute_features(np.ones((70, 2)), np.ones((70, 2)), np.ones((70, 2)), np.ones((70, 3)))


# ----------------------------------------------------------------------- the mapping
def test_weights_from_predictions() -> None:
    w, conv = weights_from_predictions(
        np.array([0.02, -0.01, 0.0, 0.5]), np.array([0.01, 0.01, 0.01, 0.0]), 4, 0.5, 1.0
    )
    # z = r / (0.01 * 2): 1.0 → full conviction; -0.5 → half; 0 → flat; zero vol → flat
    np.testing.assert_allclose(w, [0.5, -0.25, 0.0, 0.0])
    np.testing.assert_allclose(conv, [1.0, 0.5, 0.0, 0.0])
    w, _ = weights_from_predictions(np.array([0.02, -0.02]), np.array([0.01, 0.01]), 1, 0.3, 1.0, long_only=True)
    np.testing.assert_allclose(w, [0.3, 0.0])


# ------------------------------------------------------------- a small learned model
class RidgeContender(LearnedContender):
    """Ridge regression on the last feature row: the smallest honest learned contender."""

    alpha: float = 1.0

    def train(self, data: TrainingSet) -> dict[str, float]:
        X = data.X[:, -1, :].astype(np.float64)
        self.trained_on.append((int(data.bar_idx.max()), data.cutoff_bar, int(data.bar_idx.min())))
        self._mu, self._sd = X.mean(0), X.std(0) + 1e-12
        Z = (X - self._mu) / self._sd
        self._coef = np.linalg.solve(Z.T @ Z + self.alpha * np.eye(Z.shape[1]), Z.T @ (data.y - data.y.mean()))
        self._b = float(data.y.mean())
        return {"n": float(len(data))}

    def predict(self, batch: Any) -> Prediction:
        Z = (batch.X[:, -1, :] - self._mu) / self._sd
        contrib = Z * self._coef
        expl = tuple(
            Contribution(name, float(batch.X[i, -1, k]), float(contrib[i, k]), "coefficient", sym)
            for i, sym in enumerate(batch.symbols)
            for k, name in enumerate(batch.feature_names)
        )
        return Prediction(expected_return=self._b + contrib.sum(1), explanation=expl)

    def model_state(self) -> Any:
        return (self._mu.copy(), self._sd.copy(), self._coef.copy(), self._b)

    def load_model_state(self, state: Any) -> None:
        self._mu, self._sd, self._coef, self._b = state

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.trained_on: list[tuple[int, int, int]] = []


def test_purge_embargo_and_retrain_schedule(panel: Panel, tmp_path) -> None:
    c = RidgeContender(horizon_bars=5, embargo_bars=7, retrain_every_bars=50, train_window_bars=150, seed=3)
    c.artifacts_dir = tmp_path
    rows, _ = replay_decisions(c, panel, warmup_bars=300)
    trained_at = [ck.bar_idx for ck in c.checkpoints]
    assert trained_at == list(range(299, 700, 50))
    for (last_sample, cutoff, first_sample), bar in zip(c.trained_on, trained_at):
        assert last_sample + 5 <= cutoff == bar - 7  # every label ended >= embargo bars before the decision
        assert last_sample - first_sample + 1 <= 150  # rolling window
    manifest = json.loads((tmp_path / "checkpoints.json").read_text())
    assert [m["label"] for m in manifest["checkpoints"]] == [ck.label for ck in c.checkpoints]
    assert manifest["live"] == c.checkpoints[-1].version
    assert all((tmp_path / f"ckpt-{m['version']:04d}.pkl").exists() for m in manifest["checkpoints"])
    assert rows and all(r["explanation_json"] and r["predictions_json"] for r in rows)
    assert min(r["bar_index"] for r in rows) == 300  # warm-up bars are never traded


def test_rollback_restores_the_previous_checkpoint(panel: Panel, tmp_path) -> None:
    c = RidgeContender(retrain_every_bars=100, seed=1)
    c.artifacts_dir = tmp_path
    replay_decisions(c, panel, warmup_bars=300)
    n = len(c.checkpoints)
    assert n >= 3 and c.can_rollback
    before = c._coef.copy()
    label = c.rollback()
    assert label == c.checkpoints[-1].label and len(c.checkpoints) == n - 1
    assert not np.allclose(before, c._coef)
    np.testing.assert_array_equal(c._coef, c.checkpoints[-1].state[2])


def test_three_retrains_and_two_rollbacks_land_on_the_right_versions(panel: Panel, tmp_path) -> None:
    """Versions v1 … vn trained (n >= 3); a rollback goes to v(n-1); the next training is v(n+1)
    (no number reused); a second rollback goes back to v(n-1), not to vn (discarded) nor v1. No
    checkpoint file is ever written twice, and the manifest says which version is live."""
    c = RidgeContender(retrain_every_bars=100, seed=1)
    c.artifacts_dir = tmp_path
    replay_decisions(c, panel, warmup_bars=300)
    n = len(c.checkpoints)
    assert n >= 3
    digests = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.glob("ckpt-*.pkl")}
    assert sorted(digests) == [f"ckpt-{v:04d}.pkl" for v in range(1, n + 1)]
    prev = c.checkpoints[-2]
    assert c.rollback() == prev.label
    np.testing.assert_array_equal(c._coef, prev.state[2])
    c._save_checkpoint(699, int(panel.timestamps[699]), 100, {})  # the next training
    assert c.checkpoints[-1].version == n + 1
    assert c.rollback() == prev.label, "back to the model in force before v(n+1)"
    np.testing.assert_array_equal(c._coef, prev.state[2])
    assert [ck.version for ck in c.checkpoints] == list(range(1, n))
    manifest = json.loads((tmp_path / "checkpoints.json").read_text())
    assert manifest["live"] == n - 1
    status = {m["version"]: m["status"] for m in manifest["checkpoints"]}
    assert status == {**{v: "kept" for v in range(1, n - 1)}, n - 1: "live", n: "rolled_back", n + 1: "rolled_back"}
    for name, digest in digests.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest, f"{name} was rewritten"
    assert (tmp_path / f"ckpt-{n + 1:04d}.pkl").exists()


def test_training_failure_halts_with_its_reason(panel: Panel) -> None:
    c = RidgeContender(min_train_samples=10_000)
    _, res = replay_local(c, panel, warmup_bars=200)
    assert res["status"] == "halted"
    assert "min_train_samples=10000" in res["halt_reason"]


def test_embargo_shorter_than_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="embargo_bars"):
        RidgeContender(horizon_bars=10, embargo_bars=5)


# ------------------------------------------------------------------ LightGBM + SHAP
def _lgb() -> LightGBMContender:
    return LightGBMContender(seed=11, retrain_every_bars=100, n_estimators=60)


def test_lightgbm_explains_every_decision_with_additive_shap(panel: Panel) -> None:
    rows, _ = replay_decisions(_lgb(), panel, warmup_bars=350)
    assert len(rows) == 700 - 350
    for r in rows:
        expl = r["explanation_json"]
        assert expl and all(e["method"] == "shap" for e in expl)
        for sym, pred in r["predictions_json"].items():
            total = sum(e["contribution"] for e in expl if e["symbol"] == sym)
            assert total == pytest.approx(pred, abs=1e-9)  # base value + SHAP values = prediction


def test_lightgbm_no_look_ahead_and_deterministic(panel: Panel) -> None:
    t = 520
    da, _ = replay_decisions(_lgb(), panel, warmup_bars=350)
    db, _ = replay_decisions(_lgb(), panel, warmup_bars=350)
    dc, _ = replay_decisions(_lgb(), perturb_after(panel, t, seed=7, volume_noise="uniform"), warmup_bars=350)
    assert da == db  # same seed, same data → same decisions
    assert_no_look_ahead(da, dc, t)


def test_a_learned_contender_asks_for_shorts_only_when_the_execution_allows_them(panel: Panel) -> None:
    from contenders.ml.base import shorts_off
    from ledger import ExecutionConfig

    assert shorts_off(None, ExecutionConfig()) and not shorts_off(None, ExecutionConfig(allow_short=True))
    assert shorts_off(True, ExecutionConfig(allow_short=True)) and not shorts_off(False, ExecutionConfig())
    rows, _ = replay_decisions(RidgeContender(retrain_every_bars=100, seed=1), panel, warmup_bars=300)
    weights = [w for r in rows for w in (r["weights_json"] or {}).values()]
    assert weights and min(weights) >= 0.0, "long-only under the default execution (allow_short: false)"
