"""PPO agent trading through the project's own ledger (``ppo``).

A stable-baselines3 PPO (Schulman et al., "Proximal Policy Optimization
Algorithms", 2017) learns target weights directly: at every retrain it plays
episodes of :class:`~contenders.ml.trading_env.LedgerTradingEnv` over the past
bars — the same :class:`~ledger.Ledger` execution (next-open fills, commission,
slippage, whole shares, cash limits) that scores it in the arena — and is
rewarded with the log equity return of each step.

Observation: the standardized feature row of every symbol at the decision bar
(``z = (x − mean) / std`` with the training window's mean/std per feature,
clipped to ±``obs_clip``; a missing feature is imputed as 0, the training
mean) and the current position weights. Action: per-symbol Gaussian policy
mean, clipped to ``[−1, 1]`` and mapped to a target weight
(:func:`~contenders.ml.trading_env.action_to_weights`: ``a · max_weight``, or
``(a + 1) / 2 · max_weight`` long-only). The policy's deterministic action is
the decision.

Walk-forward: a retrain at bar ``t`` builds its environment on bars
``0 .. t − embargo_bars`` only (the training cut-off of
:class:`~contenders.ml.base.TrainingSet`), so every reward it learns from was
known before the decision bar.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch
from captum.attr import IntegratedGradients
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn

from contenders.ml.base import InferenceBatch, LearnedContender, Prediction, TrainingSet
from contenders.ml.features import compute_features, feature_names
from contenders.ml.trading_env import LedgerTradingEnv, action_to_weights
from ledger import ExecutionConfig
from ledger.types import Contribution

__all__ = ["PPOContender"]

_FIELDS = ("open", "high", "low", "close", "volume")


class _ActionMean(nn.Module):
    """The policy's action mean ``[B, S]`` as a function of the observation ``[B, S·F + S]`` (for captum)."""

    def __init__(self, policy: ActorCriticPolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return _gaussian(self.policy, obs).mean


def _gaussian(policy: ActorCriticPolicy, obs: torch.Tensor) -> torch.distributions.Normal:
    """The policy's action distribution at ``obs``: one diagonal Gaussian for the Box action space
    (SB3 types it as a distribution or a list of them, the list being for multi-categorical spaces)."""
    return cast(torch.distributions.Normal, policy.get_distribution(obs).distribution)


class PPOContender(LearnedContender):
    """Proximal Policy Optimization agent (stable-baselines3 ``PPO("MlpPolicy")``) on a ledger environment.

    Training (each retrain, from scratch, seeded by the retrain's seed): PPO with
    ``n_steps`` steps per rollout, ``batch_size`` minibatches, ``n_epochs``
    passes, ``gamma`` / ``gae_lambda`` for GAE, for ``total_timesteps`` env steps,
    on episodes of ``episode_bars`` bars starting at seeded random bars of the
    training window. In an arena run the environment uses the run's own
    execution model (``execution`` section: the costs the arena charges); outside
    one (a bare instance) it uses this contender's execution parameters
    (``commission_bps``, ``slippage_bps``, ``sizing``, ``fill_price``, ``allow_short``).
    The agent is long-only by default; ``long_only=False`` needs
    ``allow_short=True`` (and risk limits that permit shorts).

    Prediction:
        * ``target_weights`` = the action mean clipped to ``[−1, 1]`` and mapped
          to a weight (``a · max_weight``; long-only ``(a + 1) / 2 · max_weight``);
          the mapping of expected returns to weights is skipped;
        * no ``expected_return`` (None): PPO does not estimate a per-symbol
          return, so its decisions carry no predictions and it gets no IC on the
          leaderboard. Its critic estimates the discounted sum of the
          portfolio's future log returns, reported in the explanation as
          ``value_estimate`` instead;
        * ``confidence`` = ``|target weight| / max_weight``.

    Explanation, per symbol:
        * ``action_mean`` (``method="policy"``): value = the Gaussian policy's
          mean action (unclipped), contribution = the target weight it gives;
        * ``action_std``: value = the policy's std of the action,
          contribution = that std × ``k`` (weight units), with ``k`` = d weight /
          d action = ``max_weight`` (``max_weight / 2`` long-only);
        * one line per feature (``method="integrated_gradients"``): value = the
          raw feature value, contribution = Integrated Gradients (Sundararajan,
          Taly & Yan, ICML 2017) attribution of the symbol's action mean to that
          input, times ``k`` (weight units), against the baseline
          "every feature at its training mean, flat book";
        * ``position_weight``: the same for the symbol's current weight input;
        * ``other_symbols``: the summed attribution of the other symbols' inputs
          (value NaN: no single input value).
        The attribution lines of a symbol sum (up to the IG approximation) to
        ``(action mean − baseline action mean) × k``.
        One portfolio line (symbol ``""``): ``value_estimate``, the critic's value
        of the state (discounted sum of future log equity returns, ``gamma``).
    """

    predicts_from_portfolio = True  # the observation holds the current position weights: predicted bar by bar

    retrain_every_bars: int = 252
    long_only: bool = True  # weights in [0, max_weight]; False (with allow_short=True) allows shorts
    total_timesteps: int = 8192  # env steps per retrain
    n_steps: int = 256  # steps per rollout (one env)
    batch_size: int = 64
    n_epochs: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.9
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    hidden_size: int = 64  # units of each of the two hidden layers of the actor and of the critic
    log_std_init: float = -0.5
    episode_bars: int = 128
    turnover_penalty: float = 0.0  # reward penalty per unit of weight traded (log return)
    obs_clip: float = 5.0  # |z-score| cap of the features (standard deviations)
    capital_usd: float = 10_000.0  # starting cash of a training episode (USD); returns do not depend on it much
    commission_bps: float = 0.0
    slippage_bps: float = 0.0
    sizing: str = "whole_shares"
    fill_price: str = "next_open"
    allow_short: bool = False
    ig_steps: int = 16

    def validate_params(self) -> None:
        super().validate_params()
        for name in ("total_timesteps", "n_steps", "batch_size", "n_epochs", "hidden_size", "episode_bars",
                     "ig_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_steps < 2 or self.batch_size > self.n_steps:
            raise ValueError(f"need 2 <= batch_size ({self.batch_size}) <= n_steps ({self.n_steps})")
        if not (0.0 < self.gamma <= 1.0 and 0.0 < self.gae_lambda <= 1.0):
            raise ValueError(f"gamma and gae_lambda must be in (0, 1], got {self.gamma}, {self.gae_lambda}")
        if not (self.learning_rate > 0 and self.clip_range > 0 and self.obs_clip > 0 and self.capital_usd > 0):
            raise ValueError("learning_rate, clip_range, obs_clip and capital_usd must be > 0")
        if self.ent_coef < 0 or self.turnover_penalty < 0:
            raise ValueError("ent_coef and turnover_penalty must be >= 0")
        if self.max_weight > 1.0:
            raise ValueError(f"max_weight must be <= 1 for ppo (a full action is max_weight), got {self.max_weight}")
        if not self.long_only and not self.allow_short:
            raise ValueError("long_only=False needs allow_short=True: without it the ledger cuts every short "
                             "target at the held position, so the agent could not short")
        self._execution()  # raises ValueError for bad costs or sizing

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._policy: ActorCriticPolicy | None = None
        self._symbols: tuple[str, ...] = ()
        self._feature_names: tuple[str, ...] = ()
        self._mean = np.zeros(0, np.float32)
        self._std = np.ones(0, np.float32)

    def _execution(self) -> ExecutionConfig:
        # fill_price and sizing are str params (a config's YAML); ExecutionConfig checks their values
        return ExecutionConfig(
            fill_price=self.fill_price,  # type: ignore[arg-type]
            commission_bps=self.commission_bps,
            slippage_bps=self.slippage_bps,
            sizing=self.sizing,  # type: ignore[arg-type]
            allow_short=self.allow_short,
        )

    # -- observations ---------------------------------------------------------------------------------------------

    def _standardize(self, feats: np.ndarray) -> np.ndarray:
        """``clip((x − mean) / std, ±obs_clip)`` for float ``[..., F]``; non-finite → 0 (the training mean)."""
        with np.errstate(invalid="ignore"):
            z = (np.asarray(feats, dtype=np.float32) - self._mean) / self._std
        z = np.where(np.isfinite(z), z, 0.0)
        return np.clip(z, -self.obs_clip, self.obs_clip).astype(np.float32)

    # -- training -------------------------------------------------------------------------------------------------

    def train(self, data: TrainingSet) -> dict[str, float]:
        """Train a fresh PPO agent on the bars ``0 .. data.cutoff_bar`` of ``data.history``.

        Returns:
            ``mean_episode_reward`` (mean summed log return of the episodes finished
            in training), ``n_train_bars``, ``n_imputed`` (feature values imputed
            with the training mean), ``value_loss`` and ``timesteps``.

        Raises:
            ValueError: when the window up to the cut-off leaves fewer than two bars
                with complete features.
        """
        hist = data.history
        cut = int(data.cutoff_bar)
        arrays = {f: np.asarray(getattr(hist, f)[: cut + 1], dtype=np.float64) for f in _FIELDS}
        feats = compute_features(arrays["close"], arrays["high"], arrays["low"], arrays["volume"])
        complete = np.flatnonzero(np.isfinite(feats).all(axis=(1, 2)))
        first = int(complete[0]) if len(complete) else cut + 1
        if self.train_window_bars:
            first = max(first, cut + 1 - self.train_window_bars)
        if cut - first < 1:
            raise ValueError(f"PPOContender.train: bars {first}..{cut} leave fewer than two bars with complete "
                             f"features up to the training cut-off (bar {cut}); give more warm-up bars")
        window = feats[first:]
        self._mean = np.nanmean(window, axis=(0, 1)).astype(np.float32)
        std = np.nanstd(window, axis=(0, 1)).astype(np.float32)
        self._std = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        n_imputed = int((~np.isfinite(window)).sum())
        z = self._standardize(feats)
        env = LedgerTradingEnv(
            tuple(hist.symbols), np.asarray(hist.timestamps[: cut + 1]), arrays, z, self.execution or self._execution(),
            capital_usd=self.capital_usd, max_weight=self.max_weight, long_only=self.long_only,
            episode_bars=min(self.episode_bars, cut - first), start_bar=first, random_start=True,
            rebalance_band=self.rebalance_band, turnover_penalty=self.turnover_penalty,
        )
        self.torch_seed(int(data.seed))
        model = PPO(
            "MlpPolicy", env, learning_rate=self.learning_rate, n_steps=self.n_steps, batch_size=self.batch_size,
            n_epochs=self.n_epochs, gamma=self.gamma, gae_lambda=self.gae_lambda, clip_range=self.clip_range,
            ent_coef=self.ent_coef, policy_kwargs=self._policy_kwargs(), seed=int(data.seed), device=self.device,
            verbose=0,
        )
        # None: no logging, which keeps the last train/* values (SB3 handles None but types it int)
        model.learn(total_timesteps=self.total_timesteps, log_interval=None)  # type: ignore[arg-type]
        episodes = [float(ep["r"]) for ep in model.ep_info_buffer] if model.ep_info_buffer else []
        value_loss = model.logger.name_to_value.get("train/value_loss", math.nan)
        self._policy = model.policy
        self._policy.set_training_mode(False)
        self._symbols = tuple(hist.symbols)
        self._feature_names = tuple(feature_names(len(self._symbols)))
        return {
            "mean_episode_reward": float(np.mean(episodes)) if episodes else math.nan,
            "n_train_bars": float(cut + 1 - first),
            "n_imputed": float(n_imputed),
            "value_loss": float(value_loss),
            "timesteps": float(model.num_timesteps),
        }

    def _policy_kwargs(self) -> dict[str, Any]:
        h = self.hidden_size
        return {"net_arch": {"pi": [h, h], "vf": [h, h]}, "log_std_init": self.log_std_init}

    # -- inference ------------------------------------------------------------------------------------------------

    def _require_policy(self) -> ActorCriticPolicy:
        if self._policy is None:
            raise RuntimeError("PPOContender: no trained policy; train() or load_model_state() first")
        return self._policy

    def observation(self, batch: InferenceBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The policy's observation for a decision, with the raw rows it was built from.

        Args:
            batch: windows ``X`` float32 ``[S', L, F]`` (the last step is the decision bar)
                for the symbols with complete features; the others are imputed.

        Returns:
            ``(obs float32 [S·F + S], raw float32 [S, F], weights float64 [S])`` over all
            the trained symbols; ``raw`` is NaN for a symbol not in the batch.

        Raises:
            ValueError: if the batch's features or symbols differ from training.
        """
        if tuple(batch.feature_names) != self._feature_names:
            raise ValueError(f"PPOContender.predict: features {tuple(batch.feature_names)} differ from the trained "
                             f"{self._feature_names}")
        unknown = [s for s in batch.symbols if s not in self._symbols]
        if unknown:
            raise ValueError(f"PPOContender.predict: symbols {unknown} were not trained on ({self._symbols})")
        n_sym, n_feat = len(self._symbols), len(self._feature_names)
        raw = np.full((n_sym, n_feat), np.nan, np.float32)
        for j, sym in enumerate(batch.symbols):
            raw[self._symbols.index(sym)] = batch.X[j, -1]
        held = batch.portfolio.weights if batch.portfolio is not None else {}
        weights = np.array([held.get(s, 0.0) for s in self._symbols], dtype=np.float64)
        weights = np.where(np.isfinite(weights), weights, 0.0)
        obs = np.concatenate([self._standardize(raw).reshape(-1), weights.astype(np.float32)])
        return obs, raw, weights

    def predict(self, batch: InferenceBatch) -> Prediction:
        """The policy's deterministic action as target weights, explained (see the class docstring)
        when ``batch.explain``; without it only the policy mean is computed (no critic, no
        Integrated Gradients). One bar per call: the observation holds ``batch.portfolio``'s
        weights (``predicts_from_portfolio``).

        Returns:
            ``target_weights`` float64 ``[S']`` (fraction of equity, ``|w| <= max_weight``),
            ``expected_return`` None, ``confidence`` ``[S']`` and the explanation (empty
            without ``batch.explain``).

        Raises:
            RuntimeError: before the policy was trained or loaded.
            ValueError: if the batch's features or symbols differ from training.
        """
        policy = self._require_policy()
        obs, raw, weights = self.observation(batch)
        rows = [self._symbols.index(s) for s in batch.symbols]
        if not batch.explain:
            x = torch.as_tensor(obs[None], device=policy.device)
            with torch.no_grad():
                mean = _gaussian(policy, x).mean[0].cpu().numpy().astype(np.float64)
            tw = action_to_weights(mean, self.max_weight, self.long_only)[rows]
            return Prediction(expected_return=None, explanation=(), target_weights=tw,
                              confidence=np.abs(tw) / self.max_weight)
        mean, std, value, attr = self.explain_observation(obs)
        target = action_to_weights(mean, self.max_weight, self.long_only)
        k = self.max_weight / 2.0 if self.long_only else self.max_weight  # d weight / d action
        n_feat = len(self._feature_names)
        n_sym = len(self._symbols)
        explanation: list[Contribution] = [Contribution("value_estimate", value, value, "policy", "")]
        for i, sym in zip(rows, batch.symbols):
            explanation.append(Contribution("action_mean", float(mean[i]), float(target[i]), "policy", sym))
            explanation.append(Contribution("action_std", float(std[i]), float(std[i]) * k, "policy",
                                            sym))
            a = attr[i] * k  # [S·F + S], weight units
            own = slice(i * n_feat, (i + 1) * n_feat)
            for f, name in enumerate(self._feature_names):
                explanation.append(Contribution(name, float(raw[i, f]), float(a[own][f]), "integrated_gradients", sym))
            w_idx = n_sym * n_feat + i
            explanation.append(Contribution("position_weight", float(weights[i]), float(a[w_idx]),
                                            "integrated_gradients", sym))
            other = float(a.sum() - a[own].sum() - a[w_idx])
            explanation.append(Contribution("other_symbols", math.nan, other, "integrated_gradients", sym))
        tw = target[rows]
        return Prediction(
            expected_return=None,
            explanation=tuple(explanation),
            target_weights=tw,
            confidence=np.abs(tw) / self.max_weight,
        )

    def explain_observation(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
        """Action distribution, critic value and Integrated Gradients for one observation.

        Args:
            obs: float32 ``[S·F + S]`` (see :meth:`observation`).

        Returns:
            ``(mean [S], std [S], value, attributions [S, S·F + S])``: the Gaussian
            policy's mean and std per symbol (action units), the critic's value
            (discounted log return), and IG attributions of each symbol's action
            mean to every observation input (action units), against the zero
            observation (features at their training mean, flat book).
        """
        policy = self._require_policy()
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32)[None], device=policy.device)
        with torch.no_grad():
            dist = _gaussian(policy, x)
            mean = dist.mean[0].cpu().numpy()
            std = dist.stddev[0].cpu().numpy()
            value = float(policy.predict_values(x)[0, 0])
        n_sym = len(mean)
        inputs = x.expand(n_sym, -1).contiguous()
        attr = IntegratedGradients(_ActionMean(policy)).attribute(
            inputs, baselines=torch.zeros_like(inputs), target=list(range(n_sym)), n_steps=self.ig_steps,
            method="gausslegendre",
        )
        return mean.astype(np.float64), std.astype(np.float64), value, attr.detach().cpu().numpy().astype(np.float64)

    # -- checkpoints ----------------------------------------------------------------------------------------------

    def model_state(self) -> dict[str, Any]:
        """Picklable checkpoint: the policy's CPU ``state_dict``, spaces' sizes, scaler and names."""
        policy = self._require_policy()
        return {
            "state_dict": {k: v.detach().cpu().clone() for k, v in policy.state_dict().items()},
            "symbols": list(self._symbols),
            "feature_names": list(self._feature_names),
            "feature_mean": self._mean.copy(),
            "feature_std": self._std.copy(),
            "hidden_size": self.hidden_size,
            "long_only": self.long_only,
        }

    def load_model_state(self, state: dict[str, Any]) -> None:
        """Restore a checkpoint made by :meth:`model_state` (onto ``self.device``).

        Raises:
            ValueError: the checkpoint lacks a key, or its ``hidden_size`` / ``long_only``
                differ from this instance's (the message names the field).
        """
        keys = ("state_dict", "symbols", "feature_names", "feature_mean", "feature_std", "hidden_size", "long_only")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ValueError(f"PPOContender checkpoint lacks {missing}")
        for name in ("hidden_size", "long_only"):
            if state[name] != getattr(self, name):
                raise ValueError(f"PPOContender checkpoint: {name}={state[name]!r}, this instance has "
                                 f"{getattr(self, name)!r}")
        n_sym, n_feat = len(state["symbols"]), len(state["feature_names"])
        obs_space = spaces.Box(-np.inf, np.inf, shape=(n_sym * n_feat + n_sym,), dtype=np.float32)
        act_space = spaces.Box(-1.0, 1.0, shape=(n_sym,), dtype=np.float32)
        policy = ActorCriticPolicy(obs_space, act_space, lambda _: self.learning_rate, **self._policy_kwargs())
        policy.load_state_dict(state["state_dict"])
        policy.to(self.device)
        policy.set_training_mode(False)
        self._policy = policy
        self._symbols = tuple(state["symbols"])
        self._feature_names = tuple(state["feature_names"])
        self._mean = np.asarray(state["feature_mean"], dtype=np.float32)
        self._std = np.asarray(state["feature_std"], dtype=np.float32)

