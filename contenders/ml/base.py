"""Walk-forward protocol shared by every learned contender.

A learned contender implements three methods — ``train``, ``predict`` and the
checkpoint pair ``model_state`` / ``load_model_state`` — and inherits the
protocol, so no model can see the future by accident:

1. **Warm-up, training only.** The arena calls :meth:`LearnedContender.fit` with
   the first ``warmup_bars`` bars (config: ``contenders[].warmup_bars``); those bars
   are never traded. Without a warm-up the contender trains as soon as
   ``min_train_samples`` labelled samples exist and stays flat until then.
2. **Labels end before the traded bars (purge / embargo).** A decision at the
   close of bar ``t`` trains only on samples ``i`` whose label
   ``log c[i+h] − log c[i]`` ended at least ``embargo_bars`` bars before ``t``
   (``i + h + embargo <= t``), and its orders fill from bar ``t + 1``; so at least
   ``embargo_bars + 1 > horizon_bars`` bars separate the last label from the first
   traded bar (López de Prado, *Advances in Financial Machine Learning*, §7.4).
3. **Retrain every K bars** (``retrain_every_bars``) on an expanding window
   (``train_window_bars = 0``) or a rolling one of that many bars, seeded
   deterministically per retrain; every retrain saves a versioned checkpoint.
4. **One mapping from prediction to position** (:func:`weights_from_predictions`):
   the sign of the expected return sets the side, its size relative to the
   symbol's recent volatility sets the conviction, and ``max_weight`` caps the
   weight (the risk guardian may cap it further).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from contenders.base import ChunkPreparer, Contender
from contenders.market import Bars, History
from contenders.ml.features import BASE_FEATURES, FEATURE_WINDOW_BARS, FeatureCache, forward_log_returns
from contenders.portfolio import Portfolio
from ledger.types import Contribution, Decision

__all__ = [
    "Checkpoint",
    "InferenceBatch",
    "LearnedContender",
    "Prediction",
    "TrainingSet",
    "shorts_off",
    "weights_from_predictions",
]

_VOL_COL = BASE_FEATURES.index("vol_21")
_KEEP_STATES_IN_MEMORY = 3


@dataclass(frozen=True)
class TrainingSet:
    """Labelled samples for one (re)training, past-only.

    Attributes:
        X: float32 ``[N, L, F]`` feature windows; ``L = lookback_bars``, the last
            step is the sample's decision bar.
        y: float32 ``[N]`` forward log return over ``horizon_bars`` (fraction).
        symbol_idx: int64 ``[N]`` index into ``symbols``.
        bar_idx: int64 ``[N]`` bar index of each sample's decision bar (ascending).
        ts_ns: int64 ``[N]`` UTC timestamps of those bars.
        feature_names: the ``F`` feature names.
        symbols: the contender's symbols.
        history: the past bars up to the current bar (for models that need raw
            bars, e.g. a trading environment); nothing after ``cutoff_bar``'s label
            end may be used for fitting.
        cutoff_bar: the last bar index whose information a label may use
            (``current bar − embargo_bars``).
        seed: seed of this retrain (derived from the contender's seed and version).
    """

    X: np.ndarray
    y: np.ndarray
    symbol_idx: np.ndarray
    bar_idx: np.ndarray
    ts_ns: np.ndarray
    feature_names: tuple[str, ...]
    symbols: tuple[str, ...]
    history: History
    cutoff_bar: int
    seed: int

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class InferenceBatch:
    """What a model sees: the windows of one decision bar, or of several bars at once.

    A one-bar batch has one window per symbol with full features at ``bar_idx``. A
    multi-bar batch (the base class predicts a whole chunk of bars in one call; see
    :meth:`LearnedContender.prepare_chunk`) stacks the windows of several bars and says
    which bar each row belongs to in ``row_bars``; rows are independent, so a model
    predicts each row from its own window only.

    Attributes:
        X: float32 ``[N, L, F]`` windows, each ending at its row's bar (``N`` = rows:
            for one bar, the ``S'`` symbols with complete features).
        symbols: the ``N`` rows' symbols, in row order.
        bar_idx: the (last) bar index of the batch.
        ts_ns: that bar's timestamp (ns UTC).
        feature_names: the ``F`` feature names.
        history: the past-only bars up to ``bar_idx``, the current one included; None
            when an explanation is computed later from recorded inputs
            (:mod:`contenders.ml.deferred`).
        portfolio: read-only view of the contender's portfolio at ``bar_idx`` (None in a
            multi-bar batch: a model whose prediction depends on its portfolio sets
            :attr:`LearnedContender.predicts_from_portfolio` and is called bar by bar).
        explain: whether the model must explain (``Prediction.explanation``); when
            False it may (and should) skip the explanation and return an empty one.
        row_bars: int64 ``[N]`` bar index of each row; None = every row is at ``bar_idx``.
    """

    X: np.ndarray
    symbols: tuple[str, ...]
    bar_idx: int
    ts_ns: int
    feature_names: tuple[str, ...]
    history: History | None
    portfolio: Portfolio | None = None
    explain: bool = True
    row_bars: np.ndarray | None = None


@dataclass
class Prediction:
    """A model's output for a batch.

    Attributes:
        expected_return: float64 ``[N]`` expected log return over ``horizon_bars``
            (fraction) per row of the batch; None for models that do not predict
            returns (they must give ``target_weights``; no IC is scored for them).
        explanation: what drove it, method ``shap``, ``integrated_gradients``,
            ``attention``, ``variable_selection``, ...; non-empty when the batch asked
            for an explanation (``batch.explain``), may be empty otherwise.
        target_weights: optional float64 ``[N]`` weights (fraction of equity) for
            models that output positions directly (the mapping is then skipped).
        confidence: optional float64 ``[N]`` in [0, 1].
    """

    expected_return: np.ndarray | None
    explanation: tuple[Contribution, ...]
    target_weights: np.ndarray | None = None
    confidence: np.ndarray | None = None


@dataclass
class Checkpoint:
    """A trained model version: ``label`` is ``v<version>@bar<bar>``. Versions count every
    checkpoint this contender saved (1, 2, ...), rolled back or not, so a version number names
    one model for good (its file ``ckpt-<version>.pkl`` is never written again); ``serial``
    equals ``version`` (kept for the records of earlier runs, where they differed)."""

    version: int
    bar_idx: int
    ts_ns: int
    n_samples: int
    metrics: dict[str, float]
    state: Any = field(repr=False)
    path: str | None = None
    serial: int = 0

    @property
    def label(self) -> str:
        """``v<version, 4 digits>@bar<bar index>``, e.g. ``v0003@bar755``."""
        return f"v{self.version:04d}@bar{self.bar_idx}"


def shorts_off(long_only: bool | None, execution: Any) -> bool:
    """Whether a model's target weights are clipped at 0: ``long_only`` when set, else (None)
    whenever ``execution`` (a ``ledger.ExecutionConfig``; None = the defaults) does not allow shorts."""
    if long_only is not None:
        return bool(long_only)
    return not bool(getattr(execution, "allow_short", False))


def weights_from_predictions(
    expected_return: np.ndarray,
    vol_per_bar: np.ndarray,
    horizon_bars: int,
    max_weight: float,
    full_conviction_z: float,
    long_only: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Map expected returns to target weights: the one documented mapping.

    ``z = r / (σ √h)`` (the predicted return in units of its horizon's volatility),
    ``conviction = min(1, |z| / full_conviction_z)``,
    ``weight = sign(r) · conviction · max_weight`` (0 for shorts when ``long_only``).

    Args:
        expected_return: float64 ``[S]`` expected log return over the horizon.
        vol_per_bar: float64 ``[S]`` recent std of one-bar log returns.
        horizon_bars: the prediction horizon ``h`` (bars).
        max_weight: per-symbol cap on |weight| (fraction of equity).
        full_conviction_z: ``|z|`` at which the weight reaches ``max_weight``.
        long_only: clip negative weights to 0.

    Returns:
        ``(weights, conviction)``, both float64 ``[S]``.
    """
    r = np.asarray(expected_return, dtype=np.float64)
    sigma = np.asarray(vol_per_bar, dtype=np.float64) * math.sqrt(horizon_bars)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigma > 0, r / np.where(sigma > 0, sigma, 1.0), 0.0)
    conviction = np.clip(np.abs(z) / full_conviction_z, 0.0, 1.0)
    conviction = np.where(np.isfinite(conviction), conviction, 0.0)
    weights = np.sign(r) * conviction * max_weight
    if long_only:
        weights = np.maximum(weights, 0.0)
    return weights, conviction


class LearnedContender(Contender, ChunkPreparer):
    """Base class of the learned contenders: walk-forward training, checkpoints, mapping.

    Implement ``train(data: TrainingSet) -> dict[str, float]``,
    ``predict(batch: InferenceBatch) -> Prediction``, ``model_state() -> Any`` and
    ``load_model_state(state)``; everything else (features, labels, purge/embargo,
    retrain schedule, seeds, checkpoints, rollback, weights, batching, explanations
    on demand) is provided.

    **Batched prediction.** In the arena the runner hands a chunk of bars to
    :meth:`prepare_chunk` before feeding them one by one; the base class then predicts
    every bar of the chunk up to the next retrain bar in one ``predict`` call (a
    multi-bar :class:`InferenceBatch`, ``explain=False``), and ``on_bars`` makes each
    decision from its prepared prediction against the portfolio of that bar. A retrain
    still happens in ``on_bars`` at its bar, on the same data as bar by bar, and the
    bars after it are predicted with the new model; after a rollback the rest of the
    chunk is predicted again with the restored model. A model whose prediction depends
    on its own portfolio (``predicts_from_portfolio``, e.g. PPO: its observation holds
    its position weights) is predicted bar by bar.

    **Explanations.** With ``explanations: on_demand`` (the default) and an artifacts
    folder, only decisions that change the portfolio (they carry target weights) are
    explained at decision time; every other decision records its inputs and carries one
    reference line (:mod:`contenders.ml.deferred`), and the API / CLI compute its
    explanation on first request from the versioned checkpoint. ``explanations: eager``
    (or no artifacts folder) explains every decision at decision time.

    Attributes:
        artifacts_dir: where checkpoints are written (set by the arena to the run's
            artifacts folder); None keeps them in memory only.
        checkpoints: the versions trained so far (the last few keep their state in memory).
        predict_calls: ``predict`` calls that decided (batched or one bar), and
            ``predict_rows`` / ``predict_bars`` the rows and bars they covered;
            ``explain_calls`` the calls that explained a decision at decision time,
            ``deferred`` the decisions whose explanation was deferred.
    """

    horizon_bars: int = 5  # label horizon (bars)
    embargo_bars: int = 5  # bars between the last label's end and the decision bar; >= horizon_bars
    retrain_every_bars: int = 63  # retrain period (bars); 0 = train once
    train_window_bars: int = 0  # 0 = expanding window, else rolling window length (bars)
    lookback_bars: int = 1  # feature window length fed to the model (bars)
    min_train_samples: int = 200  # labelled (bar, symbol) samples needed to train
    max_weight: float = 0.5  # per-symbol |target weight| cap (fraction of equity)
    full_conviction_z: float = 1.0  # |predicted return / horizon vol| at which max_weight is reached
    long_only: bool | None = None  # None: long-only unless the execution allows shorts (allow_short)
    rebalance_band: float = 0.05  # trade a symbol only when its target moves this far (fraction of equity)
    torch_threads: int = 1  # intra-op threads for torch models (1 keeps CPU results reproducible)
    explanations: str = "on_demand"  # on_demand: explain trading decisions now, the others on request; eager: all now

    artifacts_dir: ClassVar[Path | None] = None  # set per instance by the arena
    predicts_from_portfolio: ClassVar[bool] = False  # True: predict reads batch.portfolio, so no multi-bar batches

    def validate_params(self) -> None:
        if self.horizon_bars < 1:
            raise ValueError(f"horizon_bars must be >= 1, got {self.horizon_bars}")
        if self.embargo_bars < self.horizon_bars:
            raise ValueError(
                f"embargo_bars ({self.embargo_bars}) must be >= horizon_bars ({self.horizon_bars}): "
                "labels would overlap the traded bars"
            )
        if self.retrain_every_bars < 0 or self.train_window_bars < 0:
            raise ValueError("retrain_every_bars and train_window_bars must be >= 0")
        if self.lookback_bars < 1:
            raise ValueError(f"lookback_bars must be >= 1, got {self.lookback_bars}")
        if not 0 < self.max_weight <= 10:
            raise ValueError(f"max_weight must be in (0, 10], got {self.max_weight}")
        if self.full_conviction_z <= 0:
            raise ValueError(f"full_conviction_z must be > 0, got {self.full_conviction_z}")
        if self.min_train_samples < 1 or self.torch_threads < 1:
            raise ValueError("min_train_samples and torch_threads must be >= 1")
        if self.explanations not in ("on_demand", "eager"):
            raise ValueError(f"explanations must be 'on_demand' or 'eager', got {self.explanations!r}")

    # ------------------------------------------------------------ to implement
    def train(self, data: TrainingSet) -> dict[str, float]:
        """Fit the model on ``data``; return training metrics (e.g. ``{"loss": 0.01}``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement train(data)")

    def predict(self, batch: InferenceBatch) -> Prediction:
        """Predict every row of the batch (one or several bars, see :class:`InferenceBatch`);
        explain when ``batch.explain`` (the explanation must then not be empty)."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict(batch)")

    def model_state(self) -> Any:
        """The trained model as a picklable object (CPU tensors, model strings)."""
        raise NotImplementedError(f"{type(self).__name__} must implement model_state()")

    def load_model_state(self, state: Any) -> None:
        """Restore a state returned by :meth:`model_state`."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_model_state(state)")

    # --------------------------------------------------------------- provided
    @property
    def device(self) -> str:
        """``"cuda"`` when a GPU is visible to this process (Ray sets
        ``CUDA_VISIBLE_DEVICES`` from the contender's ``num_gpus``), else ``"cpu"``."""
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def torch_seed(self, extra: int = 0) -> int:
        """Seed ``random``, numpy and torch for a reproducible (re)training; returns the seed.

        Uses ``self.seed`` and ``extra`` (e.g. the checkpoint version); on the CPU
        torch runs ``torch_threads`` threads with deterministic algorithms.
        """
        seed = int(np.random.SeedSequence([self.seed, extra]).generate_state(1)[0] % (2**31 - 1))
        random.seed(seed)
        np.random.seed(seed)
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(self.torch_threads)
        if torch.cuda.is_available():
            # on the CPU a fixed thread count is deterministic already (and this call would import
            # torch._dynamo, seconds per process); on a GPU, cuBLAS/cuDNN need to be told
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
        return seed

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The versions trained so far, oldest first (a copy)."""
        return list(self._ckpts)

    @property
    def shorts_off(self) -> bool:
        """True when target weights are clipped at 0: ``long_only``, or, when it is None (the
        default), whenever the execution does not allow shorts (``execution.allow_short``), so a
        model never asks for shorts the ledger would cut."""
        return shorts_off(self.long_only, getattr(self, "execution", None))

    @property
    def can_rollback(self) -> bool:
        """True when a previous checkpoint exists to roll back to."""
        prev = self._ckpts[-2] if len(self._ckpts) >= 2 else None
        return prev is not None and (prev.state is not None or prev.path is not None)

    @property
    def trained(self) -> bool:
        """True once a model has been trained (or restored)."""
        return bool(self._ckpts)

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self._cache: FeatureCache | None = None
        self._ckpts: list[Checkpoint] = []
        self._last_train_bar = -1
        self._serials = 0  # checkpoints saved so far (the version of the last one)
        self._in_force = 0  # version of the model in memory (changes on retrain and rollback)
        self._saved: list[Checkpoint] = []  # every checkpoint saved, rolled back or not (the manifest)
        self._rolled_back: set[int] = set()  # versions a rollback discarded
        self._chunk: tuple[History, int, int] | None = None  # (history to the chunk's end, first bar, last bar)
        self._prep: _Prepared | None = None
        self._inputs: Any = None  # deferred.InputsWriter, opened at the first deferred decision
        self.train_seconds: list[float] = []  # wall seconds of each (re)training
        self.predict_seconds: list[float] = []  # wall seconds of each predict call that decided (batched or not)
        self.explain_seconds: list[float] = []  # wall seconds of each explanation made at decision time
        self.predict_calls = 0
        self.predict_rows = 0
        self.predict_bars = 0
        self.explain_calls = 0
        self.deferred = 0

    def _feature_cache(self, history: History) -> FeatureCache:
        """The feature cache of this contender's symbols, made on the first bars it sees."""
        if self._cache is None:
            self._cache = FeatureCache(len(history.symbols), capacity=4096)
        return self._cache

    def _features(self, history: History) -> np.ndarray:
        """Feature rows ``[len(history), S, F]``: computed for the new bars, or, inside a chunk
        that :meth:`prepare_chunk` computed already, the first ``len(history)`` rows."""
        cache = self._feature_cache(history)
        n = len(history)
        if self._chunk is not None and self._chunk[1] <= n <= len(cache):
            return cache.rows(n)
        return cache.update(history)

    def fit(self, history: History) -> None:
        """Train on the warm-up bars (never traded).

        Raises:
            ValueError: if the warm-up yields fewer than ``min_train_samples`` samples
                (the arena then halts this contender with the reason).
        """
        self._features(history)
        self._retrain(history, len(history) - 1, strict=True)

    def training_set(self, history: History, bar: int) -> TrainingSet:
        """The labelled samples a decision at ``bar`` may train on (see the module docstring).

        Args:
            history: past bars up to and including ``bar``.
            bar: the current bar index.
        """
        feats = self._features(history)
        h, L = self.horizon_bars, self.lookback_bars
        labels = forward_log_returns(history.close[: bar + 1], h)
        last = bar - h - self.embargo_bars  # last sample whose label ended >= embargo bars ago
        first = FEATURE_WINDOW_BARS - 1 + L - 1
        if self.train_window_bars:
            first = max(first, last - self.train_window_bars + 1)
        rows = np.arange(first, last + 1)
        if len(rows) == 0:
            return self._empty_set(history, bar, feats)
        win = np.stack([feats[rows - L + 1 + k] for k in range(L)], axis=1)  # [R, L, S, F]
        win = np.moveaxis(win, 2, 1)  # [R, S, L, F]
        y = labels[rows]  # [R, S]
        ok = np.isfinite(win).all(axis=(2, 3)) & np.isfinite(y)
        r_idx, s_idx = np.nonzero(ok)
        return TrainingSet(
            X=win[r_idx, s_idx].astype(np.float32),
            y=y[r_idx, s_idx].astype(np.float32),
            symbol_idx=s_idx.astype(np.int64),
            bar_idx=rows[r_idx].astype(np.int64),
            ts_ns=history.timestamps[rows[r_idx]].astype(np.int64),
            feature_names=self._feature_cache(history).names,
            symbols=tuple(history.symbols),
            history=history,
            cutoff_bar=bar - self.embargo_bars,
            seed=int(np.random.SeedSequence([self.seed, len(self._ckpts) + 1]).generate_state(1)[0] % (2**31 - 1)),
        )

    def _empty_set(self, history: History, bar: int, feats: np.ndarray) -> TrainingSet:
        F = feats.shape[-1]
        return TrainingSet(
            np.zeros((0, self.lookback_bars, F), np.float32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            self._feature_cache(history).names,
            tuple(history.symbols),
            history,
            bar - self.embargo_bars,
            0,
        )

    def _retrain(self, history: History, bar: int, strict: bool) -> bool:
        data = self.training_set(history, bar)
        if len(data) < self.min_train_samples:
            if strict:
                raise ValueError(
                    f"{type(self).__name__}: only {len(data)} labelled samples in {bar + 1} warm-up bars, "
                    f"need min_train_samples={self.min_train_samples} (features need {FEATURE_WINDOW_BARS} bars, "
                    f"labels {self.horizon_bars} + embargo {self.embargo_bars}); raise warmup_bars"
                )
            return False
        t0 = time.perf_counter()
        metrics = self.train(data) or {}
        self.train_seconds.append(time.perf_counter() - t0)
        self._last_train_bar = bar
        self._save_checkpoint(bar, int(history.timestamps[bar]), len(data), metrics)
        return True

    def _save_checkpoint(self, bar: int, ts_ns: int, n_samples: int, metrics: dict[str, float]) -> None:
        self._serials += 1
        ck = Checkpoint(
            version=self._serials,
            bar_idx=bar,
            ts_ns=ts_ns,
            n_samples=n_samples,
            metrics={k: float(v) for k, v in metrics.items()},
            state=self.model_state(),
            serial=self._serials,
        )
        if self.artifacts_dir is not None:
            folder = Path(self.artifacts_dir)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"ckpt-{ck.version:04d}.pkl"
            if path.exists():
                raise FileExistsError(f"{path}: a checkpoint of this version exists already; artifacts folders "
                                      "are one per run and contender, and checkpoint files are never overwritten")
            with open(path, "wb") as fh:
                pickle.dump(ck.state, fh, protocol=pickle.HIGHEST_PROTOCOL)
            ck.path = str(path)
        self._ckpts.append(ck)
        self._saved.append(ck)
        self._in_force = ck.serial
        for old in self._ckpts[:-_KEEP_STATES_IN_MEMORY]:
            if old.path is not None:
                old.state = None  # on disk; loaded back on rollback
        self._write_manifest()

    def _write_manifest(self) -> None:
        """``checkpoints.json``: ``{"live": version in force, "checkpoints": [{version, label,
        bar_idx, ts_ns, n_samples, metrics, path, serial, class, status}]}``, every checkpoint
        saved, oldest first; ``status`` is ``live`` (the model in force), ``kept`` (in the
        lineage a rollback returns to) or ``rolled_back``."""
        if self.artifacts_dir is None:
            return
        live = self._ckpts[-1].version if self._ckpts else None

        def status(c: Checkpoint) -> str:
            if c.version == live:
                return "live"
            return "rolled_back" if c.version in self._rolled_back else "kept"

        entries = [
            {k: v for k, v in vars(c).items() if k != "state"}
            | {"label": c.label, "class": type(self).__name__, "status": status(c)}
            for c in self._saved
        ]
        path = Path(self.artifacts_dir) / "checkpoints.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"live": live, "checkpoints": entries}, indent=1))
        os.replace(tmp, path)  # a reader never sees half a manifest

    def rollback(self) -> str | None:
        """Restore the checkpoint in force before the current one (the current one is
        discarded: marked ``rolled_back`` in the manifest, its file kept for the records that
        name it; bars of the current chunk after this one are predicted again with the
        restored model).

        Returns:
            The restored checkpoint's label, or None when there is none to go back to.
        """
        if not self.can_rollback:
            return None
        dropped = self._ckpts.pop()
        self._rolled_back.add(dropped.version)
        prev = self._ckpts[-1]
        state = prev.state
        if state is None and prev.path is not None:
            with open(prev.path, "rb") as fh:
                state = pickle.load(fh)  # noqa: S301 - our own checkpoint file
            prev.state = state
        self.load_model_state(state)
        self._in_force = prev.serial
        self._write_manifest()
        return prev.label

    # ------------------------------------------------------------ chunk preparation
    def prepare_chunk(self, history: History, first_bar: int) -> None:
        """Compute the features of the chunk's bars and predict, in one ``predict`` call, every
        bar from ``first_bar`` up to the next retrain bar (or the chunk's end); the bars after a
        retrain are predicted in one more call when ``on_bars`` reaches it. Nothing is predicted
        before a model exists, for a model that :attr:`predicts_from_portfolio`, or when a
        retrain is due at ``first_bar``.

        Args:
            history: past bars up to and including the chunk's last bar.
            first_bar: index of the chunk's first bar.
        """
        self._feature_cache(history).update(history)
        self._chunk = (history, int(first_bar), len(history) - 1)
        self._prep = None
        due = self.retrain_every_bars and first_bar - self._last_train_bar >= self.retrain_every_bars
        if self._ckpts and not due:
            self._prep = self._prepare_segment(int(first_bar))

    def _prepare_segment(self, start: int) -> _Prepared | None:
        """Predict bars ``start ..`` the chunk's last bar before the next retrain in one call."""
        if self._chunk is None or self.predicts_from_portfolio or not self._ckpts:
            return None
        history, first, last = self._chunk
        L = self.lookback_bars
        end = last
        if self.retrain_every_bars:
            end = min(end, self._last_train_bar + self.retrain_every_bars - 1)
        if not first <= start <= end or start - L + 1 < 0:
            return None
        feats = self._feature_cache(history).rows(end + 1)
        bars_idx = np.arange(start, end + 1)
        win = np.stack([feats[bars_idx - L + 1 + k] for k in range(L)], axis=2)  # [B, S, L, F]
        ok = np.isfinite(win).all(axis=(2, 3))  # [B, S]
        prep = _Prepared(start, end, self._in_force, ok)
        b_idx, s_idx = np.nonzero(ok)
        if not len(b_idx):
            return prep
        symbols = tuple(history.symbols)
        batch = InferenceBatch(
            X=win[b_idx, s_idx].astype(np.float32),
            symbols=tuple(symbols[j] for j in s_idx),
            bar_idx=end,
            ts_ns=int(history.timestamps[end]),
            feature_names=self._feature_cache(history).names,
            history=_prefix(history, end + 1),
            portfolio=None,
            explain=False,
            row_bars=bars_idx[b_idx],
        )
        t0 = time.perf_counter()
        try:
            pred = self.predict(batch)
        except Exception:  # noqa: BLE001 - decided bar by bar instead, so the failure halts at its own bar
            prep.failed = True
            return prep
        self.predict_seconds.append(time.perf_counter() - t0)
        n = len(b_idx)
        shape = (len(bars_idx), len(symbols))
        for name in ("expected_return", "target_weights", "confidence"):
            value = getattr(pred, name)
            if value is None:
                continue
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (n,):
                prep.failed = True  # malformed: bar by bar, where _decide names the bar
                return prep
            full = np.full(shape, np.nan)
            full[b_idx, s_idx] = arr
            setattr(prep, name, full)
        if pred.expected_return is None and pred.target_weights is None:
            prep.failed = True
            return prep
        self.predict_calls += 1
        self.predict_rows += n
        self.predict_bars += len(bars_idx)
        return prep

    def _prepared(self, bar: int, ok: np.ndarray) -> Prediction | None:
        """This bar's rows of the chunk's batched prediction, or None to predict it alone."""
        prep = self._prep
        if prep is None or not prep.first <= bar <= prep.last or prep.serial != self._in_force:
            prep = self._prep = self._prepare_segment(bar)
            if prep is None:
                return None
        i = bar - prep.first
        if prep.failed or not np.array_equal(prep.ok[i], ok):
            return None
        return Prediction(
            expected_return=None if prep.expected_return is None else prep.expected_return[i][ok],
            explanation=(),
            target_weights=None if prep.target_weights is None else prep.target_weights[i][ok],
            confidence=None if prep.confidence is None else prep.confidence[i][ok],
        )

    # ------------------------------------------------------------ the decision
    @property
    def defers_explanations(self) -> bool:
        """True when decisions that do not trade are explained on demand (``explanations:
        on_demand`` and an artifacts folder to keep their inputs in)."""
        return self.explanations == "on_demand" and self.artifacts_dir is not None

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        """Update the features, retrain when due, predict (or take the chunk's prepared
        prediction), map to target weights and explain (now, or on demand).

        Returns:
            A decision with ``predictions`` and the model's explanation (or, deferred, its
            reference line), or None while no model is trained yet or no symbol has
            complete features.

        Raises:
            ValueError: if ``predict`` returns malformed output (the arena then halts
                this contender with the reason).
        """
        history = bars.history
        feats = self._features(history)
        bar = bars.index
        due = self.retrain_every_bars and bar - self._last_train_bar >= self.retrain_every_bars
        if not self._ckpts or due:
            if not self._retrain(history, bar, strict=False) and not self._ckpts:
                return None
        L = self.lookback_bars
        if bar - L + 1 < 0:
            return None
        win = np.moveaxis(feats[bar - L + 1 : bar + 1], 1, 0)  # [S, L, F]
        ok = np.isfinite(win).all(axis=(1, 2))
        if not ok.any():
            return None
        syms = tuple(s for s, k in zip(bars.symbols, ok) if k)
        batch = InferenceBatch(
            X=win[ok].astype(np.float32),
            symbols=syms,
            bar_idx=bar,
            ts_ns=int(bars.ts_ns),
            feature_names=self._feature_cache(history).names,
            history=history,
            portfolio=portfolio,
            explain=not self.defers_explanations,
        )
        pred = self._prepared(bar, ok)
        if pred is None:
            t0 = time.perf_counter()
            pred = self.predict(batch)
            self.predict_seconds.append(time.perf_counter() - t0)
            self.predict_calls += 1
            self.predict_rows += len(syms)
            self.predict_bars += 1
            if batch.explain and not pred.explanation:
                raise ValueError(f"{type(self).__name__}.predict returned an empty explanation")
        current = portfolio.weights
        weights, confidence, predictions = self._decide(pred, batch, feats[bar][ok], current)
        explanation = tuple(pred.explanation)
        if not explanation and (weights or not self.defers_explanations):
            t0 = time.perf_counter()
            explanation = tuple(self.predict(replace(batch, explain=True)).explanation)
            self.explain_seconds.append(time.perf_counter() - t0)
            self.explain_calls += 1
            if not explanation:
                raise ValueError(f"{type(self).__name__}.predict returned an empty explanation")
        elif not explanation:
            explanation = (self._defer(batch, win, ok, current),)
        return Decision(weights=weights, confidence=confidence, explanation=explanation, predictions=predictions)

    def _defer(self, batch: InferenceBatch, win: np.ndarray, ok: np.ndarray, held: dict[str, float]) -> Contribution:
        """Record what the decision's explanation needs; its reference line."""
        from contenders.ml.deferred import InputsWriter, deferred_line

        symbols = tuple(batch.history.symbols) if batch.history is not None else batch.symbols
        if self._inputs is None:
            self._inputs = InputsWriter(
                Path(self.artifacts_dir),  # type: ignore[arg-type]  # defers_explanations checked it
                _importable_class(type(self)),
                self.seed,
                self.params,
                symbols,
                tuple(batch.feature_names),
                self.lookback_bars,
            )
        ck = self._ckpts[-1]
        self._inputs.write(
            batch.bar_idx,
            batch.ts_ns,
            ck.version,
            ck.serial,
            ok,
            win,
            np.array([held.get(s, 0.0) for s in symbols], dtype=np.float64),
        )
        self.deferred += 1
        return deferred_line(ck.version)

    def _decide(
        self, pred: Prediction, batch: InferenceBatch, feat_row: np.ndarray, current: dict[str, float]
    ) -> tuple[dict[str, float], float | None, dict[str, float]]:
        """``(weights to trade, confidence, predictions)`` of one bar's prediction."""
        if pred.expected_return is None and pred.target_weights is None:
            raise ValueError(f"{type(self).__name__}.predict must give expected_return or target_weights")
        n = len(batch.symbols)
        er = np.zeros(n) if pred.expected_return is None else np.asarray(pred.expected_return, dtype=np.float64)
        if er.shape != (n,) or not np.isfinite(er).all():
            raise ValueError(
                f"{type(self).__name__}.predict: expected_return must be {len(batch.symbols)} finite numbers, "
                f"got {er!r}"
            )
        if pred.target_weights is not None:
            w = np.asarray(pred.target_weights, dtype=np.float64)
            if w.shape != (n,) or not np.isfinite(w).all():
                raise ValueError(f"{type(self).__name__}.predict: target_weights must be {n} finite numbers, got {w!r}")
            w = np.clip(w, -self.max_weight, self.max_weight)
            if self.shorts_off:
                w = np.maximum(w, 0.0)
            conv = np.abs(w) / self.max_weight
        else:
            w, conv = weights_from_predictions(
                er, feat_row[:, _VOL_COL], self.horizon_bars, self.max_weight, self.full_conviction_z, self.shorts_off
            )
        if pred.confidence is not None:
            conv = np.clip(np.asarray(pred.confidence, dtype=np.float64), 0.0, 1.0)
        weights = {}
        for sym, target in zip(batch.symbols, w):
            cur = current.get(sym, 0.0)
            if abs(target - cur) > self.rebalance_band or (target == 0.0 and cur != 0.0):
                weights[sym] = float(target)
        return (
            weights,
            float(np.mean(conv)) if len(conv) else None,
            {} if pred.expected_return is None else {s: float(r) for s, r in zip(batch.symbols, er)},
        )


@dataclass
class _Prepared:
    """Batched predictions of bars ``first .. last`` (arrays ``[B, S]``, NaN where a symbol
    had no complete window) made by the model whose checkpoint serial is ``serial``;
    ``failed``: the batch call failed or was malformed, so these bars are predicted one by one."""

    first: int
    last: int
    serial: int
    ok: np.ndarray
    expected_return: np.ndarray | None = None
    target_weights: np.ndarray | None = None
    confidence: np.ndarray | None = None
    failed: bool = False


def _prefix(history: History, n: int) -> History:
    """The first ``n`` bars of ``history`` (a view of the same buffers)."""
    return History(history._buf, n, history.symbols)  # noqa: SLF001 - same buffers, shorter view


def _importable_class(cls: type) -> type:
    """``cls``, or its first base importable by ``module:qualname`` (a class defined in a function is not)."""
    for c in cls.__mro__:
        if "<locals>" not in c.__qualname__ and issubclass(c, LearnedContender):
            return c
    return cls
