"""A gymnasium environment that trades past bars through this project's own :class:`~ledger.Ledger`.

The agent of the ``ppo`` contender learns in it. One step is one bar of the
arena's bar loop (:mod:`arena.runner`), with the same execution simulator:

1. at the close of decision bar ``t`` the agent sees the feature rows of bar
   ``t`` (flattened ``[S·F]``) and its current position weights ``[S]``;
2. its action ``a ∈ [−1, 1]^S`` becomes target weights ``w = a · max_weight``
   (long-only: ``w = (a + 1) / 2 · max_weight``, so the action space stays the
   symmetric ``[−1, 1]`` that stable-baselines3 recommends), submitted to the
   ledger as target-weight MARKET orders at ``ts_ns[t]`` (a symbol whose weight
   already lies within ``rebalance_band`` of its target gets no order, as in
   the arena's learned contenders);
3. ``Ledger.on_bar`` of bar ``t + 1`` fills them — at its open under
   ``fill_price="next_open"``, with the commission, slippage, sizing and cash
   limits of the :class:`~ledger.ExecutionConfig` — and marks the portfolio at
   its close;
4. the reward is the step's log equity return minus an optional turnover penalty:

   ``r_t = log(E_{t+1} / E_t) − turnover_penalty · Σ_s |w_s − w⁰_s|``

   with ``E`` the ledger's equity (USD) at the bar close and ``w⁰`` the
   weights held at the decision (the penalty's unit is "log return per unit of
   weight traded"; costs themselves are already inside ``E`` through the
   ledger's commission and slippage, so the default penalty is 0).

An episode starts at a decision bar drawn with the env's seeded ``np_random``
(or at ``start_bar`` with ``random_start=False``) from flat, with
``capital_usd`` of cash, and lasts ``episode_bars`` steps or until the data
ends (``truncated``); it ends early (``terminated``) only if equity falls to 0
or below, in which case the reward is floored at ``log(1e-9)``.

No bar after the last one given is ever read, so a caller that passes only the
bars up to a training cut-off trains on nothing later.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ledger import ExecutionConfig, Ledger, OrderRequest

__all__ = ["LedgerTradingEnv", "action_to_weights"]

_FIELDS = ("open", "high", "low", "close", "volume")
_MIN_EQUITY_RATIO = 1e-9  # reward floor log(1e-9) ≈ −20.7 when equity is wiped out


def action_to_weights(action: np.ndarray, max_weight: float, long_only: bool) -> np.ndarray:
    """Target weights (fraction of equity) for actions clipped to ``[−1, 1]``.

    ``w = a · max_weight``, or ``w = (a + 1) / 2 · max_weight`` when ``long_only``
    (so action 0 → half of ``max_weight``, −1 → flat).

    Args:
        action: float ``[S]`` (or any shape).
        max_weight: |weight| of a full action (fraction of equity).
        long_only: map to ``[0, max_weight]`` instead of ``[−max_weight, max_weight]``.

    Returns:
        float64 of the action's shape.
    """
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    return (a + 1.0) * (0.5 * max_weight) if long_only else a * max_weight


class LedgerTradingEnv(gym.Env):
    """Trade a slice of past bars with target weights through a real :class:`~ledger.Ledger`.

    Args:
        symbols: the tradable symbols, order of every ``[.., S]`` axis.
        ts_ns: bar times, int64 ``[T]`` (ns since the epoch, UTC), strictly increasing.
        bars: ``{"open", "high", "low", "close", "volume"}`` → float64 ``[T, S]``
            (USD; volume in units); NaN close = no bar for that symbol.
        features: float ``[T, S, F]``, row ``t`` computed from bars ``<= t`` only
            (e.g. :func:`contenders.ml.features.compute_features`); must be finite on
            every bar ``start_bar .. T−1`` an observation is made at.
        execution: the arena's execution model (the same commission, slippage, sizing).
        capital_usd: starting cash of every episode (USD, > 0).
        max_weight: |target weight| of a full action (fraction of equity, in (0, 1]):
            action 1.0 → weight ``max_weight``.
        long_only: map actions ``[−1, 1]`` to weights ``[0, max_weight]`` instead of
            ``[−max_weight, max_weight]``.
        episode_bars: steps per episode (>= 1); an episode also ends with the data.
        start_bar: first decision bar (>= 0, <= T−2).
        random_start: draw each episode's first bar uniformly from the bars that
            leave a full episode (seeded by ``reset(seed=...)``); else always ``start_bar``.
        rebalance_band: no order for a symbol whose weight is within this distance
            of its target (fraction of equity, >= 0), as the arena's learned contenders do.
        turnover_penalty: reward penalty per unit of target-weight change (>= 0; 0 = none).

    Raises:
        ValueError: for arrays of the wrong shape, a non-increasing ``ts_ns``, a
            non-finite feature on a decision bar (naming bar, symbol and feature
            column), fewer than two bars after ``start_bar``, or a parameter outside
            its range.

    Example:
        >>> env = LedgerTradingEnv(("MSFT",), ts, bars, feats, ExecutionConfig(commission_bps=1.0))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(np.array([1.0], dtype=np.float32))
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        symbols: Sequence[str],
        ts_ns: np.ndarray,
        bars: dict[str, np.ndarray],
        features: np.ndarray,
        execution: ExecutionConfig,
        *,
        capital_usd: float = 10_000.0,
        max_weight: float = 0.5,
        long_only: bool = False,
        episode_bars: int = 256,
        start_bar: int = 0,
        random_start: bool = True,
        rebalance_band: float = 0.0,
        turnover_penalty: float = 0.0,
    ) -> None:
        super().__init__()
        self.symbols = tuple(symbols)
        self._ts = np.asarray(ts_ns, dtype=np.int64)
        n_bars, n_sym = len(self._ts), len(self.symbols)
        if self._ts.ndim != 1 or np.any(np.diff(self._ts) <= 0):
            raise ValueError("LedgerTradingEnv: ts_ns must be int64 [T], strictly increasing")
        self._bars: dict[str, np.ndarray] = {}
        for name in _FIELDS:
            if name not in bars:
                raise ValueError(f"LedgerTradingEnv: bars has no {name!r} array; expected keys {_FIELDS}")
            arr = np.asarray(bars[name], dtype=np.float64)
            if arr.shape != (n_bars, n_sym):
                raise ValueError(f"LedgerTradingEnv: bars[{name!r}] has shape {arr.shape}, expected [T, S] = "
                                 f"{(n_bars, n_sym)}")
            self._bars[name] = arr
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 3 or feats.shape[:2] != (n_bars, n_sym):
            raise ValueError(f"LedgerTradingEnv: features has shape {feats.shape}, expected [T, S, F] with "
                             f"T, S = {(n_bars, n_sym)}")
        if not 0 <= start_bar <= n_bars - 2:
            raise ValueError(f"LedgerTradingEnv: start_bar={start_bar} must be in [0, T−2] = [0, {n_bars - 2}] "
                             "(an episode needs a decision bar and the bar after it)")
        if not 0.0 < max_weight <= 1.0:
            raise ValueError(f"LedgerTradingEnv: max_weight must be a fraction in (0, 1], got {max_weight!r}")
        if episode_bars < 1:
            raise ValueError(f"LedgerTradingEnv: episode_bars must be >= 1, got {episode_bars!r}")
        if not (rebalance_band >= 0.0 and turnover_penalty >= 0.0):
            raise ValueError(f"LedgerTradingEnv: rebalance_band and turnover_penalty must be >= 0, got "
                             f"{rebalance_band!r}, {turnover_penalty!r}")
        decision = feats[start_bar:]
        bad = ~np.isfinite(decision)
        if bad.any():
            t, s, f = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"LedgerTradingEnv: feature column {f} of symbol {self.symbols[s]!r} at bar "
                             f"{start_bar + t} is {decision[t, s, f]!r}; features must be finite on every bar "
                             f"{start_bar}..{n_bars - 1} (start later, or impute missing features)")
        self._features = feats
        self.execution = execution
        self.capital_usd = float(capital_usd)
        self.max_weight = float(max_weight)
        self.long_only = bool(long_only)
        self.episode_bars = int(episode_bars)
        self.start_bar = int(start_bar)
        self.random_start = bool(random_start)
        self.rebalance_band = float(rebalance_band)
        self.turnover_penalty = float(turnover_penalty)
        n_feat = feats.shape[2]
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(n_sym * n_feat + n_sym,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(n_sym,), dtype=np.float32)
        self.ledger: Ledger | None = None
        self._t = self.start_bar
        self._steps = 0

    # ---------------------------------------------------------------- helpers
    @property
    def n_bars(self) -> int:
        """Bars in the data (``T``)."""
        return len(self._ts)

    @property
    def bar(self) -> int:
        """The current decision bar (index into the data)."""
        return self._t

    def observation(self, t: int, weights: np.ndarray) -> np.ndarray:
        """The observation at decision bar ``t``: ``concat(features[t].ravel(), weights)``, float32 ``[S·F + S]``.

        Args:
            t: bar index.
            weights: position weights ``[S]`` (signed fraction of equity).
        """
        obs: np.ndarray = np.concatenate(
            [self._features[t].reshape(-1), np.asarray(weights, dtype=np.float32)]
        ).astype(np.float32, copy=False)
        return obs

    def target_weights(self, action: np.ndarray) -> np.ndarray:
        """Target weights ``[S]`` (fraction of equity) for an action ``[S]``, clipped to ``[−1, 1]``:
        ``a · max_weight``, or ``(a + 1) / 2 · max_weight`` long-only."""
        return action_to_weights(np.reshape(action, len(self.symbols)), self.max_weight, self.long_only)

    @property
    def weight_per_action(self) -> float:
        """d(target weight) / d(action): ``max_weight``, or ``max_weight / 2`` long-only."""
        return self.max_weight / 2.0 if self.long_only else self.max_weight

    def _bar_row(self, t: int) -> tuple[np.ndarray, ...]:
        return tuple(self._bars[f][t] for f in _FIELDS)

    def _weights(self) -> np.ndarray:
        assert self.ledger is not None
        w = self.ledger.weights()
        return np.where(np.isfinite(w), w, 0.0)

    # -------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode from flat at a (seeded) random or fixed decision bar.

        Args:
            seed: seeds ``np_random`` (the start-bar draw) when given.
            options: ``{"start_bar": int}`` forces the episode's first decision bar.

        Returns:
            ``(observation, info)``; ``info`` has ``bar``, ``ts_ns`` and ``equity_usd``.
        """
        super().reset(seed=seed)
        last_start = max(self.start_bar, self.n_bars - 1 - self.episode_bars)
        if options and "start_bar" in options:
            t0 = int(options["start_bar"])
            if not self.start_bar <= t0 <= self.n_bars - 2:
                raise ValueError(f"LedgerTradingEnv.reset: options['start_bar']={t0} outside "
                                 f"[{self.start_bar}, {self.n_bars - 2}]")
        elif self.random_start:
            t0 = int(self.np_random.integers(self.start_bar, last_start + 1))
        else:
            t0 = self.start_bar
        self.ledger = Ledger(self.symbols, self.capital_usd, self.execution, order_id_prefix="env-")
        self.ledger.on_bar(int(self._ts[t0]), *self._bar_row(t0))  # mark the start bar: equity = capital
        self._t, self._steps = t0, 0
        return self.observation(t0, self._weights()), {"bar": t0, "ts_ns": int(self._ts[t0]),
                                                       "equity_usd": self.ledger.equity}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Submit the action's target weights at this bar's close and trade the next bar.

        Returns:
            ``(observation, reward, terminated, truncated, info)``; ``info`` has ``bar``,
            ``ts_ns``, ``equity_usd``, ``turnover`` (Σ |target − held weight|) and
            ``n_fills``.

        Raises:
            RuntimeError: if called before :meth:`reset` or after the episode ended.
        """
        led = self.ledger
        if led is None or self._t >= self.n_bars - 1:
            raise RuntimeError("LedgerTradingEnv.step: call reset() first (the episode has ended or not begun)")
        t = self._t
        held = self._weights()
        target = self.target_weights(action)
        ts = int(self._ts[t])
        for i, sym in enumerate(self.symbols):
            if abs(target[i] - held[i]) > self.rebalance_band or (target[i] == 0.0 and held[i] != 0.0):
                led.submit(OrderRequest(sym, target_weight=float(target[i])), ts)
        equity_before = led.equity
        fills = led.on_bar(int(self._ts[t + 1]), *self._bar_row(t + 1))
        led.drain_events()
        self._t, self._steps = t + 1, self._steps + 1
        equity = led.equity
        terminated = not equity > 0.0
        ratio = max(equity / equity_before, _MIN_EQUITY_RATIO) if equity_before > 0.0 else _MIN_EQUITY_RATIO
        turnover = float(np.abs(target - held).sum())
        reward = math.log(ratio) - self.turnover_penalty * turnover
        truncated = not terminated and (self._steps >= self.episode_bars or self._t >= self.n_bars - 1)
        obs = self.observation(self._t, self._weights())
        info = {"bar": self._t, "ts_ns": int(self._ts[self._t]), "equity_usd": equity, "turnover": turnover,
                "n_fills": len(fills)}
        return obs, float(reward), terminated, truncated, info
