"""LSTM with additive attention over the lookback window (``lstm_attention``).

A small recurrent forecaster of the forward log return: the feature window of
each symbol goes through a one-layer LSTM, an additive (Bahdanau-style)
attention pools its hidden states over the ``lookback_bars`` time steps, and a
linear head maps the pooled state to the expected log return over
``horizon_bars``. Each decision is explained twice: Integrated Gradients
attributions per feature, and the attention weights per time step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from contenders.ml.base import InferenceBatch, LearnedContender, Prediction, TrainingSet
from ledger.types import Contribution

__all__ = ["LSTMAttention", "AttentionLSTMNet"]


class AttentionLSTMNet(nn.Module):
    """LSTM encoder → additive attention over time → linear head.

    Attention (Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly
    Learning to Align and Translate", ICLR 2015, eq. 6, with the last hidden
    state as the query): ``e_t = vᵀ tanh(W h_t + U h_L)``,
    ``α = softmax(e)`` over the ``L`` steps, ``c = Σ_t α_t h_t``; the head reads
    ``[c, h_L]``.

    The network standardizes its raw input with the training-set feature
    mean/std (buffers ``x_mean``/``x_std``, shape ``[F]``) and rescales its
    output with the training label mean/std (``y_mean``/``y_std``), so it maps
    raw feature windows to log returns and all of that lives in ``state_dict()``.

    Args:
        n_features: ``F``, features per time step.
        hidden_size: LSTM hidden units.
        attention_size: width of the attention's hidden layer.
    """

    # buffers (register_buffer): the standardization of the inputs and the label, saved with the weights
    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, n_features: int, hidden_size: int, attention_size: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden_size, num_layers=1, batch_first=True)
        self.att_keys = nn.Linear(hidden_size, attention_size)
        self.att_query = nn.Linear(hidden_size, attention_size, bias=False)
        self.att_score = nn.Linear(attention_size, 1, bias=False)
        self.head = nn.Linear(2 * hidden_size, 1)
        self.register_buffer("x_mean", torch.zeros(n_features))
        self.register_buffer("x_std", torch.ones(n_features))
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardized prediction and attention weights.

        Args:
            x: raw feature windows, float32 ``[B, L, F]`` (last step = decision bar).

        Returns:
            ``(z, alpha)``: ``z`` float32 ``[B]``, the prediction in label
            standard deviations; ``alpha`` float32 ``[B, L]``, attention weights
            (each row sums to 1).
        """
        h, _ = self.lstm((x - self.x_mean) / self.x_std)  # [B, L, H]
        query = h[:, -1]  # [B, H]
        scores = self.att_score(torch.tanh(self.att_keys(h) + self.att_query(query).unsqueeze(1))).squeeze(-1)
        alpha = torch.softmax(scores, dim=1)  # [B, L]
        context = torch.einsum("bl,blh->bh", alpha, h)
        z = self.head(torch.cat([context, query], dim=-1)).squeeze(-1)
        return z, alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expected forward log return, float32 ``[B]`` (fraction), for raw windows ``[B, L, F]``."""
        z, _ = self.encode(x)
        return z * self.y_std + self.y_mean


class LSTMAttention(LearnedContender):
    """LSTM + additive attention forecaster of the forward log return.

    Model: :class:`AttentionLSTMNet` on the feature windows of
    :mod:`contenders.ml.features` (``lookback_bars`` steps). Features are
    standardized with the training-set mean/std and the label with its own
    mean/std (both kept in the checkpoint). Training: Huber loss on the
    standardized label, Adam, mini-batches shuffled by a generator seeded per
    retrain, at most ``epochs`` epochs with early stopping (``patience``
    epochs) on a time-ordered validation tail: the samples of the last
    ``validation_fraction`` of the training bars (all symbols of a bar fall on
    the same side; nothing is shuffled across the split). Training samples
    whose label window (``horizon_bars``) reaches into the tail are purged (López de
    Prado, *Advances in Financial Machine Learning*, 2018, §7.4.1). The
    weights of the best validation epoch are kept.

    Params (besides the walk-forward ones of :class:`LearnedContender`):
        lookback_bars: time steps per window, bars (default 20).
        hidden_size: LSTM hidden units.
        attention_size: width of the attention layer.
        epochs: maximum passes over the training samples.
        patience: epochs without a validation improvement before stopping.
        batch_size: samples per Adam step.
        learning_rate: Adam step size.
        weight_decay: Adam L2 penalty.
        huber_delta: Huber loss threshold, in label standard deviations.
        validation_fraction: time-ordered tail held out for early stopping (fraction).
        ig_steps: Integrated Gradients quadrature steps (Gauss-Legendre).

    Explanation (per symbol, every decision):
        * ``method="integrated_gradients"``: ``base_value`` (value = contribution
          = the prediction at the baseline, the training-mean window), then one
          line per feature: ``value`` is the feature at the decision bar,
          ``contribution`` the Integrated
          Gradients attribution (Sundararajan, Taly & Yan, "Axiomatic
          Attribution for Deep Networks", ICML 2017) of the prediction, summed
          over the window's time steps, in log-return units. The baseline is
          the training-mean window, so ``base_value`` plus the attributions add
          up to the prediction (completeness, up to the quadrature error).
        * ``method="attention"``: one line per time step ``t-k`` (``t-0`` is
          the decision bar); ``value`` = ``contribution`` = its attention
          weight (the weights of a symbol sum to 1).
    """

    lookback_bars: int = 20
    hidden_size: int = 32
    attention_size: int = 16
    epochs: int = 12
    patience: int = 3
    batch_size: int = 256
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    huber_delta: float = 1.0
    validation_fraction: float = 0.15
    ig_steps: int = 16

    def validate_params(self) -> None:
        super().validate_params()
        if self.lookback_bars < 2:
            raise ValueError(f"lookback_bars must be >= 2 bars, got {self.lookback_bars}")
        for name in ("hidden_size", "attention_size", "epochs", "patience", "batch_size", "ig_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.validation_fraction < 0.5:
            raise ValueError(f"validation_fraction must be in (0, 0.5), got {self.validation_fraction}")
        if not (self.learning_rate > 0 and self.huber_delta > 0 and self.weight_decay >= 0):
            raise ValueError("learning_rate and huber_delta must be > 0 and weight_decay >= 0")

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self._net: AttentionLSTMNet | None = None
        self._feature_names: tuple[str, ...] = ()

    # -- training -----------------------------------------------------------------------------------------------

    def _split(self, data: TrainingSet) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the fit part and the validation tail (time-ordered, purged)."""
        n = len(data.y)
        bars = np.unique(data.bar_idx)
        n_val_bars = max(1, int(round(len(bars) * self.validation_fraction)))
        first_val_bar = bars[len(bars) - n_val_bars]
        val = np.flatnonzero(data.bar_idx >= first_val_bar)
        fit = np.flatnonzero(data.bar_idx + self.horizon_bars < first_val_bar)
        if len(fit) < 2 or len(val) < 1:
            raise ValueError(
                f"LSTMAttention: {n} training samples leave {len(fit)} to fit and {len(val)} to validate "
                f"(validation_fraction={self.validation_fraction}, horizon_bars={self.horizon_bars}); "
                "give more history or lower min_train_samples"
            )
        return fit, val

    def train(self, data: TrainingSet) -> dict[str, float]:
        """Fit the network on ``data`` (windows ``X`` float32 ``[N, L, F]``, labels ``y`` float32 ``[N]``).

        Returns:
            ``train_loss`` / ``val_loss`` (Huber, standardized label units) of
            the kept epoch, ``best_epoch``, ``epochs_run``, ``n_fit``, ``n_val``.

        Raises:
            ValueError: windows are not ``lookback_bars`` long, hold NaN/inf,
                or too few samples are left after the validation split.
        """
        X = np.asarray(data.X, dtype=np.float32)
        y = np.asarray(data.y, dtype=np.float32)
        if X.ndim != 3 or X.shape[1] != self.lookback_bars or X.shape[0] != y.shape[0]:
            raise ValueError(
                f"LSTMAttention.train: expected X [N, {self.lookback_bars}, F] and y [N], got {X.shape} and {y.shape}"
            )
        bad = ~np.isfinite(X).all(axis=(1, 2)) | ~np.isfinite(y)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"LSTMAttention.train: {int(bad.sum())} samples hold NaN/inf, first at bar_idx={int(data.bar_idx[i])} "
                f"symbol={data.symbols[int(data.symbol_idx[i])]!r}"
            )
        fit, val = self._split(data)
        self.torch_seed(int(data.seed))
        n_features = X.shape[2]
        net = AttentionLSTMNet(n_features, self.hidden_size, self.attention_size)
        x_fit = X[fit]
        x_mean = x_fit.mean(axis=(0, 1))
        x_std = x_fit.std(axis=(0, 1))
        y_mean, y_std = float(y[fit].mean()), float(y[fit].std())
        with torch.no_grad():
            net.x_mean.copy_(torch.from_numpy(x_mean))
            net.x_std.copy_(torch.from_numpy(np.where(x_std > 1e-8, x_std, 1.0).astype(np.float32)))
            net.y_mean.fill_(y_mean)
            net.y_std.fill_(y_std if y_std > 1e-12 else 1.0)
        device = self.device
        net.to(device)
        Xt = torch.from_numpy(X).to(device)
        zt = ((torch.from_numpy(y) - net.y_mean.cpu()) / net.y_std.cpu()).to(device)
        fit_t = torch.from_numpy(fit).to(device)
        val_t = torch.from_numpy(val).to(device)
        loss_fn = nn.HuberLoss(delta=self.huber_delta)
        optimizer = torch.optim.Adam(net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        gen = torch.Generator().manual_seed(int(data.seed))

        best = (math.inf, math.inf, 0)  # (val_loss, train_loss, epoch)
        best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        epochs_run = 0
        for epoch in range(1, self.epochs + 1):
            net.train()
            order = fit_t[torch.randperm(len(fit), generator=gen).to(device)]
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                optimizer.zero_grad()
                z, _ = net.encode(Xt[idx])
                loss = loss_fn(z, zt[idx])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(idx)
            epochs_run = epoch
            net.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(net.encode(Xt[val_t])[0], zt[val_t]))
            if val_loss < best[0]:
                best = (val_loss, total / len(fit), epoch)
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            elif epoch - best[2] >= self.patience:
                break
        net.load_state_dict(best_state)
        net.eval()
        self._net = net
        self._feature_names = tuple(data.feature_names)
        return {
            "train_loss": best[1],
            "val_loss": best[0],
            "best_epoch": float(best[2]),
            "epochs_run": float(epochs_run),
            "n_fit": float(len(fit)),
            "n_val": float(len(val)),
        }

    # -- inference ----------------------------------------------------------------------------------------------

    def predict(self, batch: InferenceBatch) -> Prediction:
        """Expected log return per symbol with its explanation.

        Args:
            batch: windows ``X`` float32 ``[N, L, F]``, each ending at its row's bar (one
                bar: one row per symbol; several bars: see ``batch.row_bars``).

        Returns:
            ``expected_return`` float64 ``[N]`` (log return over ``horizon_bars``)
            and, when ``batch.explain``, per row ``1 + F`` Integrated Gradients lines
            and ``L`` attention lines (see the class docstring); else no explanation
            (one forward pass, no gradients).

        Raises:
            RuntimeError: called before the model was trained or loaded.
            ValueError: the window shape or feature names differ from training.
        """
        self._require_net()
        X = np.asarray(batch.X, dtype=np.float32)
        n_feat = len(self._feature_names)
        if X.ndim != 3 or X.shape[1:] != (self.lookback_bars, n_feat):
            raise ValueError(f"LSTMAttention.predict: expected X [S, {self.lookback_bars}, {n_feat}], got {X.shape}")
        if tuple(batch.feature_names) != self._feature_names:
            raise ValueError(
                f"LSTMAttention.predict: features {tuple(batch.feature_names)} differ from the trained "
                f"{self._feature_names}"
            )
        if not batch.explain:
            return Prediction(expected_return=self.predict_windows(X), explanation=())
        pred, alpha, attributions = self.explain_windows(X)
        explanation: list[Contribution] = []
        last = X[:, -1, :]
        L = X.shape[1]
        base = self.baseline_prediction()
        for j, sym in enumerate(batch.symbols):
            explanation.append(Contribution("base_value", base, base, "integrated_gradients", sym))
            for f, name in enumerate(self._feature_names):
                explanation.append(
                    Contribution(name, float(last[j, f]), float(attributions[j, f]), "integrated_gradients", sym)
                )
            for i in range(L):
                w = float(alpha[j, i])
                explanation.append(Contribution(f"t-{L - 1 - i}", w, w, "attention", sym))
        return Prediction(expected_return=pred.astype(np.float64), explanation=tuple(explanation))

    def predict_windows(self, X: np.ndarray) -> np.ndarray:
        """Predicted log return (fraction), float64 ``[N]``, for raw windows float32 ``[N, L, F]``
        (finite): one forward pass without gradients, the same computation as in
        :meth:`explain_windows`.

        Raises:
            RuntimeError: no trained model.
            ValueError: ``X`` holds NaN/inf (the message names the rows).
        """
        net = self._require_net()
        bad = ~np.isfinite(X).all(axis=(1, 2))
        if bad.any():
            raise ValueError(f"LSTMAttention: feature windows of rows {np.flatnonzero(bad).tolist()} hold NaN/inf")
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(self.device)
        net.eval()
        with torch.no_grad():
            z, _ = net.encode(x)
            pred = z * net.y_std + net.y_mean
        return pred.detach().cpu().numpy().astype(np.float64)

    def explain_windows(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction, attention and Integrated Gradients for raw windows.

        Args:
            X: float32 ``[S, L, F]`` raw feature windows (finite).

        Returns:
            ``(pred [S], alpha [S, L], attributions [S, F])``: predicted log
            return (fraction), attention weights, and IG attributions summed
            over time (log-return units) against the training-mean baseline.

        Raises:
            RuntimeError: no trained model.
            ValueError: ``X`` holds NaN/inf (the message names the symbol row).
        """
        net = self._require_net()
        bad = ~np.isfinite(X).all(axis=(1, 2))
        if bad.any():
            raise ValueError(f"LSTMAttention: feature windows of rows {np.flatnonzero(bad).tolist()} hold NaN/inf")
        device = self.device
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
        baseline = net.x_mean.expand_as(x).contiguous()
        net.eval()
        with torch.no_grad():
            z, alpha = net.encode(x)
            pred = z * net.y_std + net.y_mean
        from captum.attr import IntegratedGradients  # slow to import (pulls matplotlib): only when explaining

        # cuDNN's RNN backward refuses eval mode; the native kernel computes the same gradients.
        with torch.backends.cudnn.flags(enabled=False):
            attr = IntegratedGradients(net).attribute(
                x, baselines=baseline, n_steps=self.ig_steps, method="gausslegendre"
            )
        return (
            pred.detach().cpu().numpy(),
            alpha.detach().cpu().numpy(),
            attr.sum(dim=1).detach().cpu().numpy(),
        )

    def baseline_prediction(self) -> float:
        """Prediction at the training-mean window (the IG baseline), log return (fraction)."""
        net = self._require_net()
        with torch.no_grad():
            x = net.x_mean.expand(1, self.lookback_bars, -1)
            return float(net(x)[0])

    def _require_net(self) -> AttentionLSTMNet:
        if self._net is None:
            raise RuntimeError("LSTMAttention: no trained model; train() or load_model_state() first")
        return self._net

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def model_state(self) -> dict[str, Any]:
        """Picklable checkpoint: CPU ``state_dict`` tensors, network sizes and feature names."""
        net = self._require_net()
        return {
            "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
            "n_features": len(self._feature_names),
            "hidden_size": self.hidden_size,
            "attention_size": self.attention_size,
            "lookback_bars": self.lookback_bars,
            "feature_names": list(self._feature_names),
        }

    def load_model_state(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint made by :meth:`model_state` (onto ``self.device``).

        Raises:
            ValueError: the checkpoint lacks a key or its sizes differ from this
                instance's ``lookback_bars`` (the message names the field).
        """
        keys = ("state_dict", "n_features", "hidden_size", "attention_size", "lookback_bars", "feature_names")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"LSTMAttention checkpoint lacks {missing}")
        if state["lookback_bars"] != self.lookback_bars:
            raise ValueError(
                f"LSTMAttention checkpoint: lookback_bars={state['lookback_bars']}, "
                f"this instance has {self.lookback_bars}"
            )
        net = AttentionLSTMNet(int(state["n_features"]), int(state["hidden_size"]), int(state["attention_size"]))
        net.load_state_dict(state["state_dict"])
        net.to(self.device)
        net.eval()
        self._net = net
        self._feature_names = tuple(state["feature_names"])
