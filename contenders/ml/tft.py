"""Temporal Fusion Transformer contender (``tft``), built on pytorch-forecasting.

The TFT (Lim, Arık, Loeff & Pfister, "Temporal Fusion Transformers for
Interpretable Multi-horizon Time Series Forecasting", Int. J. Forecasting 37(4),
2021) forecasts quantiles of the forward log return from a window of past
features and explains itself by its own gates: variable-selection weights per
feature and interpretable attention over the encoder's time steps.

Data layout: each sample of the :class:`~contenders.ml.base.TrainingSet` is one
``TimeSeriesDataSet`` group of ``L + 1`` rows ``[sample, time_idx, symbol,
<features>, target]`` (``L = lookback_bars``). Rows ``time_idx = 0 … L−1`` are
the feature window (encoder; features are time-varying *unknown* reals, so only
their past is read); row ``L`` is the one-step decoder whose ``target`` is the
label, the log return over ``horizon_bars`` from the decision bar (fraction).
``symbol`` is a static categorical. The decoder row repeats the decision bar's
features and the encoder rows carry ``target = 0``: placeholders the model never
reads (the decoder reads only known inputs, ``relative_time_idx``; the target is
no input). Inference builds the same group from the window ending at the current
bar with the placeholder target, so nothing after the current bar enters the model.
The layout and the batch codec live in :mod:`contenders.ml.tft_data` (re-exported here).
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from contenders.ml.base import InferenceBatch, LearnedContender, Prediction, TrainingSet
from contenders.ml.tft_data import REL_TIME, TFTCodec, dataset_kwargs, sample_frame
from ledger.types import Contribution

if TYPE_CHECKING:  # pytorch-forecasting pulls in lightning: imported only when a model is built
    from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet

__all__ = ["TFT", "TFTCodec", "sample_frame", "dataset_kwargs"]  # the data layout lives in tft_data

# Benign notices for the way this module drives lightning (pre-built batches: no val loader, no workers).
_QUIET_MESSAGES = (
    r"Attribute '(loss|logging_metrics)' is an instance of `nn.Module`",
    r".*does not have many workers",
    r"You defined a `validation_step` but have no `val_dataloader`",
    r".*isinstance\(treespec, LeafSpec\)",
    r".*`max_epochs` reached",
    r"ReduceLROnPlateau conditioned on metric val_loss which is not available",  # patience 1000 > epochs anyway
)
_QUIET_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda", "lightning.fabric")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the listed benign warnings and lightning's INFO banners, restoring both after."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for pattern in _QUIET_MESSAGES:
            warnings.filterwarnings("ignore", message=pattern)
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def _portable_parameters(dataset: TimeSeriesDataSet) -> dict[str, Any]:
    """``dataset.get_parameters()`` without the encoder of the thousands of throw-away sample ids
    (the model YAML-dumps its hyperparameters: seconds; ``from_parameters`` refits group ids anyway)."""
    params: dict[str, Any] = dataset.get_parameters()
    params["categorical_encoders"] = {
        k: v for k, v in params["categorical_encoders"].items() if not k.startswith("__group_id__")
    }
    return params


class TFT(LearnedContender):
    """Temporal Fusion Transformer quantile forecaster of the forward log return.

    Model: pytorch-forecasting's ``TemporalFusionTransformer.from_dataset`` on the layout of
    the module docstring, trained with ``QuantileLoss(quantiles)`` (pinball loss; Koenker &
    Bassett, "Regression Quantiles", Econometrica 1978) by a lightning ``Trainer``: ``epochs``
    passes of Adam over mini-batches shuffled by a generator seeded per retrain; no validation
    split, no checkpoint or log files. Features are standardized per column, the label by its
    mean / std (the dataset's scalers, kept in the checkpoint). The forecast quantiles are
    sorted (monotone rearrangement: Chernozhukov, Fernández-Val & Galichon, "Quantile and
    Probability Curves Without Crossing", Econometrica 2010); the median is the expected return.

    Params (besides the walk-forward ones of :class:`LearnedContender`): ``lookback_bars``
    (encoder length, bars), ``hidden_size`` (width of the TFT's layers), ``attention_head_size``,
    ``hidden_continuous_size`` (per-feature embedding width), ``dropout`` (fraction),
    ``quantiles`` (strictly increasing in (0, 1), 0.5 included), ``epochs``, ``batch_size``,
    ``learning_rate`` (Adam), ``gradient_clip_val`` (gradient-norm clip).

    Explanation (per symbol, every decision):
        * ``method="quantile"``: one line per quantile (``q0.1``, ``q0.5``, ...); ``value`` =
          ``contribution`` = the forecast quantile of the log return over ``horizon_bars``.
        * ``method="variable_selection"``: one line per encoder input (each feature and
          ``relative_time_idx``); ``value`` is the input at the decision bar, ``contribution``
          its variable-selection weight averaged over the window (a symbol's weights sum to 1).
        * ``method="attention"``: one line per encoder step ``t-k`` (``t-0`` = decision bar);
          ``value`` = ``contribution`` = the forecast's attention on it, mean over heads (sum 1).
    """

    lookback_bars: int = 20
    hidden_size: int = 16
    attention_head_size: int = 2
    hidden_continuous_size: int = 8
    dropout: float = 0.1
    quantiles: tuple[float, ...] = (0.1, 0.5, 0.9)
    epochs: int = 3
    batch_size: int = 256
    learning_rate: float = 3e-3
    gradient_clip_val: float = 0.1

    def validate_params(self) -> None:
        super().validate_params()
        if self.lookback_bars < 2:
            raise ValueError(f"lookback_bars must be >= 2 bars, got {self.lookback_bars}")
        for name in ("hidden_size", "attention_head_size", "hidden_continuous_size", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        q = np.asarray(self.quantiles, dtype=np.float64)
        if q.ndim != 1 or not ((q > 0) & (q < 1)).all() or (np.diff(q) <= 0).any() or 0.5 not in self.quantiles:
            raise ValueError(f"quantiles must be strictly increasing in (0, 1) and include 0.5, got {self.quantiles}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not (self.learning_rate > 0 and self.gradient_clip_val > 0):
            raise ValueError("learning_rate and gradient_clip_val must be > 0")

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._model: TemporalFusionTransformer | None = None
        self._codec: TFTCodec | None = None

    # -- training -----------------------------------------------------------------------------------------------

    def train(self, data: TrainingSet) -> dict[str, float]:
        """Fit a new TFT on ``data`` (windows ``X`` ``[N, L, F]``, labels ``y`` ``[N]``).

        Returns:
            In-sample ``pinball_loss`` (mean over samples and quantiles, log-return units),
            ``coverage`` (fraction of labels inside the outer quantiles) and ``n_samples``.

        Raises:
            ValueError: windows are not ``[N, lookback_bars, F]`` with ``y`` ``[N]``, or hold
                NaN/inf (the message names the first such sample's bar and symbol).
        """
        import lightning.pytorch as pl
        from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet
        from pytorch_forecasting.metrics import QuantileLoss

        X, y = np.asarray(data.X), np.asarray(data.y)
        if X.ndim != 3 or X.shape[1] != self.lookback_bars or X.shape[0] != y.shape[0] or y.ndim != 1:
            raise ValueError(f"TFT.train: expected X [N, {self.lookback_bars}, F] and y [N], got {X.shape}, {y.shape}")
        bad = ~np.isfinite(X).all(axis=(1, 2)) | ~np.isfinite(y)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"TFT.train: {int(bad.sum())} samples hold NaN/inf, first at bar_idx={int(data.bar_idx[i])} "
                f"symbol={data.symbols[int(data.symbol_idx[i])]!r}"
            )
        symbols = [data.symbols[int(j)] for j in data.symbol_idx]
        frame = sample_frame(X, symbols, data.feature_names, y)
        seed = self.torch_seed(int(data.seed))
        pl.seed_everything(seed, workers=True, verbose=False)  # before the weights are initialized
        kwargs = dataset_kwargs(self.lookback_bars, data.feature_names, data.symbols, y)
        with _quiet():
            dataset = TimeSeriesDataSet(frame, **kwargs)
            model = TemporalFusionTransformer.from_dataset(
                dataset,
                dataset_parameters=_portable_parameters(dataset),
                hidden_size=self.hidden_size,
                attention_head_size=self.attention_head_size,
                hidden_continuous_size=self.hidden_continuous_size,
                dropout=self.dropout,
                loss=QuantileLoss(list(self.quantiles)),
                learning_rate=self.learning_rate,
                optimizer="adam",
                optimizer_params={"foreach": True},  # one fused update for all parameter tensors (CPU too)
                log_interval=-1,  # no plots, no interpretation logging
                logging_metrics=torch.nn.ModuleList([]),
            )
        codec = TFTCodec.from_dataset(dataset, data.feature_names)
        x, (target, _) = codec.encode(X, symbols, y)

        def batch_of(rows: list[int]) -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, None]]:
            idx = torch.as_tensor(rows, dtype=torch.int64)  # slices of the pre-built tensors
            return {k: v[idx] for k, v in x.items()}, (target[idx], None)

        shuffle = torch.Generator().manual_seed(seed)
        # the sample indices: a range is a map-style dataset (len, getitem), which torch types as Dataset only
        loader: torch.utils.data.DataLoader[int] = torch.utils.data.DataLoader(
            range(len(target)),  # type: ignore[arg-type]
            batch_size=self.batch_size, shuffle=True, generator=shuffle, collate_fn=batch_of,
        )
        on_cpu = self.device == "cpu"
        deterministic = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        try:
            with _quiet():
                trainer = pl.Trainer(
                    max_epochs=self.epochs,
                    accelerator="cpu" if on_cpu else "gpu",
                    devices=1,
                    deterministic=True if on_cpu else "warn",  # some CUDA kernels have no deterministic variant
                    gradient_clip_val=self.gradient_clip_val,
                    enable_checkpointing=False, logger=False, enable_progress_bar=False, enable_model_summary=False,
                    limit_val_batches=0, num_sanity_val_steps=0,
                )
                trainer.fit(model, train_dataloaders=loader)
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)  # Trainer set it globally
        model.to(self.device).eval()
        self._model, self._codec = model, codec
        q = self._forward(x, interpret=False)[0]  # in-sample fit
        y = np.asarray(data.y, np.float64)[:, None]
        levels = np.asarray(self.quantiles)[None, :]
        pinball = np.maximum(levels * (y - q), (levels - 1.0) * (y - q)).mean()
        coverage = float(((y[:, 0] >= q[:, 0]) & (y[:, 0] <= q[:, -1])).mean())
        return {"pinball_loss": float(pinball), "coverage": coverage, "n_samples": float(len(y))}

    # -- inference ----------------------------------------------------------------------------------------------

    def _forward(
        self, x: dict[str, torch.Tensor], interpret: bool = True, chunk: int = 4096
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Sorted quantiles float64 ``[B, Q]`` and, with ``interpret``, encoder variable-selection
        weights ``[B, V]`` and attention ``[B, L]`` (``interpret_output``) for a :meth:`TFTCodec.encode` batch."""
        model = self._require_model()
        device = next(model.parameters()).device
        parts: list[tuple[np.ndarray, ...]] = []
        with torch.no_grad():
            for start in range(0, len(x["encoder_lengths"]), chunk):
                out = model({k: v[start : start + chunk].to(device) for k, v in x.items()})
                got = [out["prediction"][:, 0, :]]
                if interpret:
                    interp = model.interpret_output(out, reduction="none")
                    got += [interp["encoder_variables"], interp["attention"]]
                parts.append(tuple(t.double().cpu().numpy() for t in got))
        q, *rest = (np.concatenate(p) for p in zip(*parts))
        return (np.sort(q, axis=1), rest[0], rest[1]) if interpret else (np.sort(q, axis=1), None, None)

    def forecast(self, X: np.ndarray, symbols: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Quantile forecast and its interpretation for raw windows ``X`` float ``[S, L, F]``
        (ending at the decision bar) of the ``S`` ``symbols``.

        Returns:
            ``(quantiles [S, Q], variable_weights [S, V], attention [S, L])``: forecast log
            returns over ``horizon_bars`` (sorted), encoder variable-selection weights in
            :attr:`encoder_variables` order, attention weights over steps ``t-(L-1) … t-0``.

        Raises:
            RuntimeError: no trained model.
            ValueError: wrong shape, NaN/inf (the message names the symbol), unknown symbol.
        """
        X = self._checked(X, symbols)
        q, weights, attention = self._forward(self._require_codec().encode(X, symbols)[0])
        return q, weights, attention  # type: ignore[return-value]  # interpret=True fills both

    def _checked(self, X: np.ndarray, symbols: Sequence[str]) -> np.ndarray:
        """``X`` as float32 ``[S, L, F]``, checked: shape, one symbol per row, finite."""
        codec = self._require_codec()
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3 or X.shape[1:] != (self.lookback_bars, len(codec.feature_names)) or len(symbols) != len(X):
            raise ValueError(
                f"TFT: expected X [S, {self.lookback_bars}, {len(codec.feature_names)}] for {len(symbols)} symbols, "
                f"got {X.shape}"
            )
        bad = ~np.isfinite(X).all(axis=(1, 2))
        if bad.any():
            raise ValueError(f"TFT: feature windows of {[symbols[i] for i in np.flatnonzero(bad)]} hold NaN/inf")
        return X

    @property
    def encoder_variables(self) -> tuple[str, ...]:
        """Names of the encoder inputs, in the order of the variable-selection weights."""
        return tuple(self._require_model().encoder_variables)

    def predict(self, batch: InferenceBatch) -> Prediction:
        """Median forecast per row (``expected_return`` float64 ``[N]``, log return over
        ``horizon_bars``) for windows ``batch.X`` ``[N, L, F]`` ending at each row's bar (one or
        several bars; ``batch.symbols`` names each row's symbol), with, when ``batch.explain``,
        ``Q`` quantile, ``V`` variable-selection and ``L`` attention lines per row; without it the
        forward pass skips the interpretation.

        Raises:
            RuntimeError: no trained model.
            ValueError: window shape, features or symbols differ from training.
        """
        codec = self._require_codec()
        if tuple(batch.feature_names) != codec.feature_names:
            raise ValueError(
                f"TFT.predict: features {tuple(batch.feature_names)} differ from the trained {codec.feature_names}"
            )
        median_col = list(self.quantiles).index(0.5)
        if not batch.explain:
            q = self._forward(codec.encode(self._checked(batch.X, batch.symbols), batch.symbols)[0], interpret=False)[0]
            return Prediction(expected_return=q[:, median_col].astype(np.float64), explanation=())
        q, weights, attention = self.forecast(batch.X, batch.symbols)
        names = self.encoder_variables
        last = np.asarray(batch.X, dtype=np.float64)[:, -1, :]
        rel_now = -1.0 / self.lookback_bars  # relative_time_idx of the decision bar (encoder step L-1)
        L = self.lookback_bars
        explanation: list[Contribution] = []
        for j, sym in enumerate(batch.symbols):
            for k, level in enumerate(self.quantiles):
                explanation.append(Contribution(f"q{level:g}", float(q[j, k]), float(q[j, k]), "quantile", sym))
            for v, name in enumerate(names):
                value = rel_now if name == REL_TIME else float(last[j, codec.feature_names.index(name)])
                explanation.append(Contribution(name, value, float(weights[j, v]), "variable_selection", sym))
            for i in range(L):
                w = float(attention[j, i])
                explanation.append(Contribution(f"t-{L - 1 - i}", w, w, "attention", sym))
        median = q[:, median_col]
        return Prediction(expected_return=median.astype(np.float64), explanation=tuple(explanation))

    def _require_model(self) -> TemporalFusionTransformer:
        if self._model is None:
            raise RuntimeError("TFT: no trained model; train() or load_model_state() first")
        return self._model

    def _require_codec(self) -> TFTCodec:
        if self._codec is None:  # set together with the model
            raise RuntimeError("TFT: no trained model; train() or load_model_state() first")
        return self._codec

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def model_state(self) -> dict[str, Any]:
        """Picklable checkpoint: CPU ``state_dict``, the TFT's hyperparameters, the codec and the
        ``TimeSeriesDataSet`` parameters (``TimeSeriesDataSet.from_parameters`` rebuilds a dataset)."""
        model = self._require_model()
        return {
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
            "hparams": dict(model.hparams),
            "codec": self._codec,
            "dataset_parameters": model.dataset_parameters,
            "lookback_bars": self.lookback_bars,
            "quantiles": tuple(self.quantiles),
        }

    def load_model_state(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint made by :meth:`model_state` (onto ``self.device``).

        Raises:
            ValueError: the checkpoint lacks a key, or its ``lookback_bars`` /
                ``quantiles`` differ from this instance's (the message names the field).
        """
        from pytorch_forecasting import TemporalFusionTransformer
        from pytorch_forecasting.metrics import QuantileLoss

        keys = ("state_dict", "hparams", "codec", "dataset_parameters", "lookback_bars", "quantiles")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"TFT checkpoint lacks {missing}")
        for name in ("lookback_bars", "quantiles"):
            if tuple(np.atleast_1d(state[name])) != tuple(np.atleast_1d(getattr(self, name))):
                raise ValueError(f"TFT checkpoint: {name}={state[name]}, this instance has {getattr(self, name)}")
        with _quiet():
            # the loss is no hyperparameter of the library (not YAML-serializable): rebuilt from quantiles
            model = TemporalFusionTransformer(**state["hparams"], loss=QuantileLoss(list(state["quantiles"])))
        model.load_state_dict(state["state_dict"])
        model.to(self.device).eval()
        self._model, self._codec = model, state["codec"]

