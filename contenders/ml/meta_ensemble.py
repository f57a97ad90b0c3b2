"""``meta_ensemble``: a stacking meta-model over the other contenders' signals.

For each bar the arena hands this contender what every other contender decided
on that bar (:class:`Signal`: its target weights in force, its return
predictions, confidence and top reasons) — after they have decided, before it
decides. It learns walk-forward how much to trust each model and trades the
combination (Wolpert, 1992, *Stacked generalization*; non-negative weights as in
Breiman, 1996, *Stacked regressions*).

Walk-forward: the same purge/embargo rule as every learned contender — a
decision at bar ``t`` trains on bars ``i`` with ``i + horizon + embargo <= t`` —
retrained every ``retrain_every_bars``. Model: each input model's signal per
(bar, symbol) — its return prediction when it makes one, else its target
weight — is standardized by its training std; a non-negative ridge regression
of the forward log return on those columns gives the stacking weights.

Explanation (a conviction vector): ``conviction`` (the combined score, method
``stacking``), one line per contributing model (feature = model name, value =
its signal, contribution = stacking weight × standardized signal), and the
top reasons each model gave, prefixed with the model's name (their own method).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import nnls

from contenders.base import Contender
from contenders.market import Bars
from contenders.ml.base import shorts_off, weights_from_predictions
from contenders.ml.deferred import DEFERRED_METHOD
from contenders.ml.features import forward_log_returns
from contenders.portfolio import Portfolio
from contenders.signals import Signal
from ledger.types import Contribution, Decision

__all__ = ["MetaEnsemble", "Signal"]


class MetaEnsemble(Contender):
    """Stacking meta-model: learns, walk-forward, how to weight the other contenders' signals.

    Parameters:
        inputs: names of the contenders to stack (empty = every other contender).
        horizon_bars, embargo_bars, retrain_every_bars, min_train_samples,
        max_weight, full_conviction_z, long_only, rebalance_band: as for the
            learned contenders (:class:`contenders.ml.base.LearnedContender`).
        ridge: L2 penalty of the stacking regression (on standardized signals).
        top_reasons: reasons kept per input model in the explanation.
    """

    inputs: list[str] = []
    horizon_bars: int = 5
    embargo_bars: int = 5
    retrain_every_bars: int = 63
    min_train_samples: int = 100
    max_weight: float = 0.5
    full_conviction_z: float = 1.0
    long_only: bool | None = None  # None: long-only unless the execution allows shorts (allow_short)
    rebalance_band: float = 0.05
    ridge: float = 1.0
    top_reasons: int = 2

    consumes_signals = True  # the arena routes the other contenders' signals to it

    def validate_params(self) -> None:
        if self.embargo_bars < self.horizon_bars or self.horizon_bars < 1:
            raise ValueError(f"need 1 <= horizon_bars <= embargo_bars, got {self.horizon_bars}, {self.embargo_bars}")
        if self.ridge < 0 or self.min_train_samples < 1 or self.top_reasons < 0:
            raise ValueError("ridge >= 0, min_train_samples >= 1 and top_reasons >= 0 are required")

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        super().__init__(seed=seed, **params)
        self._models: list[str] = []
        self._sig: np.ndarray | None = None  # [T, S, K] signal per bar, symbol, model (NaN = none)
        self._latest: dict[str, Signal] = {}
        self._coef: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        self._intercept = 0.0
        self._last_train = -(10**9)
        self.versions: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- routing
    def on_signals(self, bar_index: int, signals: dict[str, Signal]) -> None:
        """Receive the other contenders' signals for bar ``bar_index`` (before ``on_bars`` of that bar)."""
        if not self._models:
            names = [n for n in sorted(signals)] if not self.inputs else list(self.inputs)
            self._models = names
        self._latest = {k: v for k, v in signals.items() if k in self._models}

    def _store(self, bar: int, symbols: tuple[str, ...]) -> np.ndarray:
        """Store the latest signals at ``bar``; returns the signal array [T, S, K]."""
        k = len(self._models)
        sig = self._sig
        if sig is None:
            sig = self._sig = np.full((1024, len(symbols), k), np.nan)
        if bar >= len(sig):
            grown = np.full((max(bar + 1, 2 * len(sig)),) + sig.shape[1:], np.nan)
            grown[: len(sig)] = sig
            sig = self._sig = grown
        for j, name in enumerate(self._models):
            s = self._latest.get(name)
            if s is None:
                continue
            for i, sym in enumerate(symbols):
                if sym in s.predictions:
                    sig[bar, i, j] = s.predictions[sym]
                else:
                    sig[bar, i, j] = s.weights.get(sym, 0.0)
        return sig

    # ---------------------------------------------------------------- training
    def _train(self, bars: Bars, sig: np.ndarray) -> bool:
        t = bars.index
        h = self.horizon_bars
        y = forward_log_returns(bars.history.close, h)
        last = t - h - self.embargo_bars
        if last < 0:
            return False
        X = sig[: last + 1].reshape(-1, len(self._models))
        yy = y[: last + 1].reshape(-1)
        ok = np.isfinite(X).all(axis=1) & np.isfinite(yy)
        if ok.sum() < self.min_train_samples:
            return False
        X, yy = X[ok], yy[ok]
        scale = X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        Z = X / scale
        ym = float(yy.mean())
        k = Z.shape[1]
        # ridge with non-negative weights: NNLS on the augmented system [Z; sqrt(λ n) I]
        lam = math.sqrt(self.ridge * len(Z))
        A = np.vstack([Z, lam * np.eye(k)])
        b = np.concatenate([yy - ym, np.zeros(k)])
        coef, _ = nnls(A, b)
        self._coef, self._scale, self._intercept = coef, scale, ym
        self._last_train = t
        self.versions.append(
            {"bar": t, "n_samples": int(ok.sum()), "weights": dict(zip(self._models, coef.round(10).tolist()))}
        )
        return True

    # ---------------------------------------------------------------- decision
    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        """Store this bar's routed signals, retrain when due, and trade the stacked prediction.

        Returns:
            A decision with the combined predictions and the conviction-vector
            explanation, or None before any signal arrived or the model is trained.
        """
        if not self._models:
            return None  # no signals routed yet
        stored = self._store(bars.index, bars.symbols)
        if self._coef is None or bars.index - self._last_train >= self.retrain_every_bars:
            self._train(bars, stored)
        if self._coef is None:
            return None
        z = stored[bars.index] / self._scale  # [S, K]
        ok = np.isfinite(z).all(axis=1)
        if not ok.any():
            return None
        contrib = np.where(ok[:, None], z * self._coef, 0.0)
        er = self._intercept + contrib.sum(axis=1)
        close = bars.history.close
        r1 = np.diff(np.log(close[-22:]), axis=0)
        vol = r1.std(axis=0, ddof=1) if len(r1) >= 2 else np.zeros(len(bars.symbols))
        w, conv = weights_from_predictions(
            er, vol, self.horizon_bars, self.max_weight, self.full_conviction_z,
            shorts_off(self.long_only, getattr(self, "execution", None)),
        )
        current = portfolio.weights
        weights, expl, preds = {}, [], {}
        for i, sym in enumerate(bars.symbols):
            if not ok[i]:
                continue
            preds[sym] = float(er[i])
            cur = current.get(sym, 0.0)
            if abs(w[i] - cur) > self.rebalance_band or (w[i] == 0.0 and cur != 0.0):
                weights[sym] = float(w[i])
            expl.append(Contribution("conviction", float(er[i]), float(conv[i] * np.sign(er[i])), "stacking", sym))
            for j, name in enumerate(self._models):
                value = float(stored[bars.index, i, j])
                expl.append(Contribution(name, value, float(contrib[i, j]), "stacking", sym))
                sig = self._latest.get(name)
                if sig is None or self._coef[j] == 0:
                    continue
                # a reason line "deferred" (explained on demand) is no reason: left out
                mine = [r for r in sig.reasons if r.symbol in (sym, "") and r.method != DEFERRED_METHOD]
                mine = mine[: self.top_reasons]
                expl.extend(
                    Contribution(f"{name}:{r.feature}", r.value, r.contribution, r.method, sym) for r in mine
                )
        if not preds:
            return None
        return Decision(
            weights=weights,
            confidence=float(np.mean(conv[ok])),
            explanation=tuple(expl),
            predictions=preds,
        )
