"""Learned contenders and the walk-forward protocol they share (plain Python, no Ray).

* :mod:`contenders.ml.features` — the shared past-only feature set and labels.
* :mod:`contenders.ml.base` — :class:`LearnedContender`: warm-up, purge/embargo,
  retrain schedule, checkpoints, rollback and the prediction → weight mapping.
* One module per model: ``lightgbm_shap``, ``lstm_attention``, ``tft``, ``ppo``,
  ``meta_ensemble``. Model modules import their heavy libraries (torch, lightgbm)
  themselves, so importing this package stays cheap.
"""

from contenders.ml.base import InferenceBatch, LearnedContender, Prediction, TrainingSet, weights_from_predictions
from contenders.ml.features import FEATURE_WINDOW_BARS, compute_features, feature_names, forward_log_returns

__all__ = [
    "FEATURE_WINDOW_BARS",
    "InferenceBatch",
    "LearnedContender",
    "Prediction",
    "TrainingSet",
    "compute_features",
    "feature_names",
    "forward_log_returns",
    "weights_from_predictions",
]
