"""``lightgbm``: gradient-boosted trees on the shared features, explained by SHAP.

Model: a LightGBM regressor (Ke et al., 2017) of the forward log return over
``horizon_bars`` on the feature row of the decision bar (``lookback_bars = 1``),
pooled over symbols. Training is deterministic (``deterministic=True``,
``force_row_wise``, one thread, seeded bagging).

Explanation: exact TreeSHAP values (Lundberg et al., 2020, via
``shap.TreeExplainer``) of each feature for each symbol's prediction, method
``shap``; the values plus the model's base value (``base_value``, the mean
prediction) sum to the prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from contenders.ml.base import InferenceBatch, LearnedContender, Prediction, TrainingSet
from ledger.types import Contribution

__all__ = ["LightGBMContender"]


class LightGBMContender(LearnedContender):
    """LightGBM regressor of forward returns, with SHAP explanations per decision.

    Parameters (besides the walk-forward ones of :class:`LearnedContender`):
        n_estimators: boosting rounds.
        learning_rate: shrinkage per round.
        num_leaves: leaves per tree.
        min_child_samples: samples per leaf, at least.
        subsample: row fraction bagged per round (seeded).
        colsample: feature fraction per tree.
        l2: L2 regularization on leaf values.
    """

    n_estimators: int = 200
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_child_samples: int = 40
    subsample: float = 0.8
    colsample: float = 0.8
    l2: float = 1.0

    def validate_params(self) -> None:
        super().validate_params()
        if self.n_estimators < 1 or self.num_leaves < 2 or self.min_child_samples < 1:
            raise ValueError("n_estimators >= 1, num_leaves >= 2 and min_child_samples >= 1 are required")
        if not (0 < self.learning_rate <= 1 and 0 < self.subsample <= 1 and 0 < self.colsample <= 1):
            raise ValueError("learning_rate, subsample and colsample must be in (0, 1]")

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self._booster: Any = None
        self._explainer: Any = None
        self._names: tuple[str, ...] = ()

    def train(self, data: TrainingSet) -> dict[str, float]:
        """Fit the booster on the decision bars' feature rows ``data.X[:, -1, :]``.

        Returns:
            ``{"train_mse": in-sample mean squared error (log return²), "n_samples": N}``.
        """
        import lightgbm as lgb

        X = data.X[:, -1, :]
        params = {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample,
            "lambda_l2": self.l2,
            "seed": data.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": 1,
            "verbosity": -1,
        }
        train_set = lgb.Dataset(X, label=data.y, feature_name=list(data.feature_names), free_raw_data=True)
        self._booster = lgb.train(params, train_set, num_boost_round=self.n_estimators)
        self._names = tuple(data.feature_names)
        self._explainer = None
        fitted = self._booster.predict(X, num_threads=1)
        return {"train_mse": float(np.mean((fitted - data.y) ** 2)), "n_samples": float(len(data))}

    def predict(self, batch: InferenceBatch) -> Prediction:
        """Expected log return per row (the booster's prediction on the row's decision-bar
        features ``batch.X[:, -1, :]``, one or several bars) and, when ``batch.explain``, per row
        the SHAP base value and one SHAP value per feature (base value + SHAP values = the
        prediction, up to float rounding).

        Raises:
            RuntimeError: before training; ValueError: feature names differ from training's.
        """
        if self._booster is None:
            raise RuntimeError("LightGBMContender.predict called before training")
        if tuple(batch.feature_names) != self._names:
            raise ValueError(f"feature names {batch.feature_names} differ from training's {self._names}")
        X = batch.X[:, -1, :].astype(np.float64)
        pred = np.asarray(self._booster.predict(X, num_threads=1), dtype=np.float64)  # rows are independent
        if not batch.explain:
            return Prediction(expected_return=pred, explanation=())
        import shap

        if self._explainer is None:
            self._explainer = shap.TreeExplainer(self._booster)
        phi = np.asarray(self._explainer.shap_values(X), dtype=np.float64)  # [N, F]
        base = float(np.ravel(self._explainer.expected_value)[0])
        expl: list[Contribution] = []
        for i, sym in enumerate(batch.symbols):
            expl.append(Contribution("base_value", base, base, "shap", sym))
            expl.extend(
                Contribution(name, float(X[i, j]), float(phi[i, j]), "shap", sym) for j, name in enumerate(self._names)
            )
        return Prediction(expected_return=pred, explanation=tuple(expl))

    def model_state(self) -> Any:
        """``{"model": LightGBM model text, "features": names}``."""
        return {"model": self._booster.model_to_string(), "features": self._names}

    def load_model_state(self, state: Any) -> None:
        """Restore a :meth:`model_state`."""
        import lightgbm as lgb

        self._booster = lgb.Booster(model_str=state["model"])
        self._names = tuple(state["features"])
        self._explainer = None
