"""Data layout and batch codec of the TFT contender (:mod:`contenders.ml.tft`).

Each sample of the :class:`~contenders.ml.base.TrainingSet` is one pytorch-forecasting
``TimeSeriesDataSet`` group of ``L + 1`` rows ``[sample, time_idx, symbol, <features>, target]``
(``L = lookback_bars``); :mod:`contenders.ml.tft` describes the layout. :func:`sample_frame`
builds those rows, :func:`dataset_kwargs` the dataset arguments, and :class:`TFTCodec` the
model's input batch straight from raw windows (what the dataset and its dataloader give, vectorized).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:  # pytorch-forecasting pulls in lightning: imported only when a dataset is built
    from pytorch_forecasting import TimeSeriesDataSet

__all__ = ["GROUP", "REL_TIME", "SYMBOL", "TARGET", "TIME", "TFTCodec", "dataset_kwargs", "sample_frame"]

GROUP, TIME, SYMBOL, TARGET, REL_TIME = "sample", "time_idx", "symbol", "target", "relative_time_idx"


def sample_frame(
    X: np.ndarray, symbols: Sequence[str], feature_names: Sequence[str], y: np.ndarray | None = None
) -> pd.DataFrame:
    """The long frame of the module docstring for windows ``X`` float ``[N, L, F]`` (last step =
    decision bar), their ``N`` symbols, the ``F`` feature names and labels ``y`` ``[N]`` (forward
    log return, fraction; None at inference: placeholder 0).

    Returns:
        ``DataFrame[sample, time_idx, symbol, <features>, target]``, ``N·(L+1)`` rows.
    """
    n, lookback, n_feat = X.shape
    rows = lookback + 1
    values = np.concatenate([X, X[:, -1:, :]], axis=1).reshape(n * rows, n_feat).astype(np.float64)
    frame = pd.DataFrame(values, columns=list(feature_names))
    frame.insert(0, GROUP, np.repeat(np.arange(n, dtype=np.int64), rows))
    frame.insert(1, TIME, np.tile(np.arange(rows, dtype=np.int64), n))
    frame.insert(2, SYMBOL, pd.Categorical(np.repeat(np.asarray(symbols, dtype=object), rows)))
    target = np.zeros((n, rows), np.float64)
    if y is not None:
        target[:, -1] = y
    frame[TARGET] = target.reshape(-1)
    return frame


def dataset_kwargs(
    lookback_bars: int, feature_names: Sequence[str], symbols: Sequence[str], y: np.ndarray
) -> dict[str, Any]:
    """``TimeSeriesDataSet`` arguments for :func:`sample_frame` frames. The target normalizer is
    fitted on the labels ``y`` alone (mean / std; the frame's encoder targets are placeholders), the
    symbol encoder on every symbol of the contender."""
    from pytorch_forecasting.data.encoders import NaNLabelEncoder, TorchNormalizer

    return dict(
        time_idx=TIME, target=TARGET, group_ids=[GROUP], static_categoricals=[SYMBOL],
        max_encoder_length=lookback_bars, min_encoder_length=lookback_bars, max_prediction_length=1,
        time_varying_unknown_reals=list(feature_names), add_relative_time_idx=True, add_encoder_length=False,
        target_normalizer=TorchNormalizer(method="standard").fit(pd.Series(np.asarray(y, np.float64))),
        categorical_encoders={SYMBOL: NaNLabelEncoder(add_nan=True).fit(pd.Series(list(symbols)))},
    )


@dataclass(frozen=True)
class TFTCodec:
    """Builds the TFT's input batch from raw windows, vectorized.

    Gives what ``TimeSeriesDataSet`` and its dataloader give for :func:`sample_frame`
    groups (the tests check it against the library) without the library's ~1 ms per
    sample and ~100 ms per inference dataset. Reals are standardized with the
    dataset's fitted ``StandardScaler`` (``(x − mean_) / scale_``);
    ``relative_time_idx`` is ``k / L`` for ``k = −L … 0``.

    Attributes:
        lookback_bars: encoder length ``L`` (bars); ``reals``: column order of
            ``encoder_cont``; ``real_mean`` / ``real_scale``: float64 ``[R]`` scaler
            parameters; ``feature_names``: ``X``'s last axis; ``symbol_codes``: symbol →
            embedding index; ``target_normalizer``: the label's fitted ``TorchNormalizer``.
    """

    lookback_bars: int
    reals: tuple[str, ...]
    real_mean: np.ndarray
    real_scale: np.ndarray
    feature_names: tuple[str, ...]
    symbol_codes: dict[str, int]
    target_normalizer: Any

    @classmethod
    def from_dataset(cls, dataset: TimeSeriesDataSet, feature_names: Sequence[str]) -> TFTCodec:
        """Read the fitted scalers and encoders of ``dataset`` (built with :func:`dataset_kwargs`).

        Raises:
            TypeError: a real's scaler is not a fitted sklearn ``StandardScaler``
                (the dataset was built with other scalers).
        """
        from sklearn.preprocessing import StandardScaler

        mean, scale = np.zeros(len(dataset.reals)), np.ones(len(dataset.reals))  # relative_time_idx: as is
        for r, name in enumerate(dataset.reals):
            if name != REL_TIME:
                scaler = dataset.get_transformer(name)
                if not isinstance(scaler, StandardScaler) or not hasattr(scaler, "scale_"):
                    raise TypeError(f"TFTCodec: real {name!r} has scaler {scaler!r}, expected a fitted StandardScaler")
                mean[r], scale[r] = scaler.mean_[0], scaler.scale_[0]
        encoder = dataset.get_transformer(SYMBOL)
        return cls(
            lookback_bars=int(dataset.max_encoder_length),
            reals=tuple(dataset.reals),
            real_mean=mean,
            real_scale=scale,
            feature_names=tuple(feature_names),
            symbol_codes={str(k): int(v) for k, v in encoder.classes_.items()},
            target_normalizer=dataset.target_normalizer,
        )

    def encode(
        self, X: np.ndarray, symbols: Sequence[str], y: np.ndarray | None = None
    ) -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, None]]:
        """The model input (CPU tensors) for raw windows ``X`` float ``[B, L, F]`` of ``B``
        ``symbols``, with labels ``y`` ``[B]`` or None (placeholder 0, for inference).

        Returns:
            ``(x, (target, None))`` as the library's collate gives them: ``x["encoder_cont"]``
            float32 ``[B, L, R]``, ``decoder_cont`` ``[B, 1, R]``, ``encoder_cat`` /
            ``decoder_cat`` int64 ``[B, L|1, 1]``, lengths, ``target_scale`` float64 ``[B, 2]``.

        Raises:
            ValueError: a symbol the model was not trained for.
        """
        n, lookback, _ = X.shape
        unknown = sorted({s for s in symbols if s not in self.symbol_codes})
        if unknown:
            raise ValueError(f"TFT: symbols {unknown} are unknown to the model (trained on {list(self.symbol_codes)})")
        steps = np.concatenate([X, X[:, -1:, :]], axis=1).astype(np.float64)  # [B, L+1, F]
        cols = []
        for r, name in enumerate(self.reals):
            if name == REL_TIME:
                rel = np.arange(-lookback, 1, dtype=np.float64) / self.lookback_bars
                cols.append(np.broadcast_to(rel, (n, lookback + 1)))
            else:
                cols.append((steps[..., self.feature_names.index(name)] - self.real_mean[r]) / self.real_scale[r])
        cont = torch.from_numpy(np.stack(cols, axis=-1).astype(np.float32))
        codes = torch.tensor([self.symbol_codes[s] for s in symbols], dtype=torch.int64)
        cat = codes[:, None, None].expand(n, lookback + 1, 1).clone()
        label = np.zeros(n, np.float64) if y is None else np.asarray(y, np.float64)
        target = torch.from_numpy(label.astype(np.float32))[:, None]
        scale = self.target_normalizer.get_parameters()
        x = {
            "encoder_cat": cat[:, :lookback],
            "encoder_cont": cont[:, :lookback],
            "encoder_target": torch.zeros(n, lookback, dtype=torch.float32),
            "encoder_lengths": torch.full((n,), lookback, dtype=torch.int64),
            "decoder_cat": cat[:, lookback:],
            "decoder_cont": cont[:, lookback:],
            "decoder_target": target,
            "decoder_lengths": torch.ones(n, dtype=torch.int64),
            "decoder_time_idx": torch.full((n, 1), lookback, dtype=torch.int64),
            "groups": torch.arange(n, dtype=torch.int64)[:, None],
            "target_scale": scale.expand(n, -1).clone(),
        }
        return x, (target, None)
