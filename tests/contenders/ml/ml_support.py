"""Helpers of the learned-contender tests: the bundled daily panel, future-only perturbations,
a recording subclass of a real model, replays, and the no-look-ahead assertions.

Imported by the test modules of this folder as ``from ml_support import ...`` (pytest puts a
test folder without ``__init__.py`` on ``sys.path``, as for ``tests/live/live_support.py``).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal, TypeVar

import numpy as np

from arena.data import SampleSource, to_panel
from arena.data.panel import Panel
from arena.local import replay_local
from contenders.market import History
from contenders.ml.base import InferenceBatch, LearnedContender, Prediction, TrainingSet

OHLCV = ("open", "high", "low", "close", "volume")
VolumeNoise = Literal["uniform", "lognormal", "none"]
C = TypeVar("C", bound=LearnedContender)


def daily_panel(n_bars: int) -> Panel:
    """The first ``n_bars`` bars of the bundled ``us_equities_daily`` sample (real daily OHLCV).

    Args:
        n_bars: bars to keep, from the first one.

    Returns:
        Panel with arrays ``[n_bars, S]`` (USD prices, shares volume), a fresh load each call.
    """
    return to_panel(SampleSource("us_equities_daily").load()).slice(0, n_bars)


def _check_bar(panel: Panel, bar: int) -> None:
    if not 0 <= bar < len(panel) - 1:
        raise ValueError(f"bar={bar}: expected 0 <= bar < {len(panel) - 1} (the panel has {len(panel)} bars)")


def rescale_after(panel: Panel, bar: int, price_factor: float | np.ndarray, volume_factor: float | np.ndarray) -> Panel:
    """A copy of ``panel`` with every bar after index ``bar`` rescaled; bars ``0..bar`` byte-identical.

    Args:
        panel: the panel, arrays ``[T, S]``.
        bar: last unchanged bar index (0-based).
        price_factor: multiplies open/high/low/close of bars ``bar+1..T-1``; a scalar or ``[T-bar-1, S]``.
        volume_factor: multiplies volume of those bars; a scalar or ``[T-bar-1, S]``.

    Returns:
        The new Panel (same timestamps and symbols, copied arrays).

    Raises:
        ValueError: ``bar`` is not in ``[0, T-2]`` (nothing would change), or a factor is not positive.
    """
    _check_bar(panel, bar)
    if np.any(np.asarray(price_factor) <= 0) or np.any(np.asarray(volume_factor) <= 0):
        raise ValueError("price_factor and volume_factor must be > 0 (prices and volumes stay positive)")
    arrays = {f: np.array(getattr(panel, f)) for f in OHLCV}
    for f in ("open", "high", "low", "close"):
        arrays[f][bar + 1 :] *= price_factor
    arrays["volume"][bar + 1 :] *= volume_factor
    return Panel(np.array(panel.timestamps), panel.symbols, *(arrays[f] for f in OHLCV))


def perturb_after(
    panel: Panel, bar: int, seed: int = 7, *, step_sd: float = 0.03, volume_noise: VolumeNoise = "uniform"
) -> Panel:
    """The panel with every bar after ``bar`` changed by a seeded random walk; bars ``0..bar`` byte-identical.

    Prices (OHLC alike, so bars stay consistent) are multiplied by ``exp(cumsum(N(0, step_sd)))``
    per symbol, drawn first from ``numpy.random.default_rng(seed)``; volumes are then multiplied by
    ``U(0.2, 5.0)`` (``"uniform"``), ``LogNormal(0, 0.5)`` (``"lognormal"``) or left as they are
    (``"none"``), drawn from the same generator.

    Args:
        panel: the panel, arrays ``[T, S]``.
        bar: last unchanged bar index (0-based).
        seed: seed of the generator.
        step_sd: standard deviation of one log-price step of the walk (fraction per bar).
        volume_noise: how volumes after ``bar`` are rescaled.

    Returns:
        The perturbed Panel.

    Raises:
        ValueError: ``bar`` out of ``[0, T-2]`` or an unknown ``volume_noise``.
    """
    _check_bar(panel, bar)
    rng = np.random.default_rng(seed)
    shape = (len(panel) - bar - 1, len(panel.symbols))
    walk = np.exp(np.cumsum(rng.normal(0.0, step_sd, size=shape), axis=0))
    if volume_noise == "uniform":
        volume: float | np.ndarray = rng.uniform(0.2, 5.0, size=shape)
    elif volume_noise == "lognormal":
        volume = rng.lognormal(0.0, 0.5, size=shape)
    elif volume_noise == "none":
        volume = 1.0
    else:
        raise ValueError(f"volume_noise={volume_noise!r}: expected 'uniform', 'lognormal' or 'none'")
    return rescale_after(panel, bar, walk, volume)


def history_of(panel: Panel, n_bars: int) -> History:
    """The past-only History a contender sees at bar ``n_bars - 1`` of ``panel`` (arrays copied)."""
    buf = {f: np.array(getattr(panel, f)) for f in OHLCV}
    buf["ts_ns"] = np.array(panel.timestamps)
    return History(buf, n_bars, panel.symbols)


@cache
def recording(cls: type[C]) -> type[C]:
    """A subclass of the learned contender ``cls`` that records what the real model saw and said.

    Instances keep ``training_sets`` (list[TrainingSet], in training order), ``batches``
    (list[InferenceBatch], in call order; a batch of a chunk covers several bars, see
    ``InferenceBatch.row_bars``) and ``predictions`` ({bar_idx: expected_return float [S]}, log
    return, split per bar), while ``train`` and ``predict`` run the real methods unchanged. The
    same class is returned for the same ``cls``.
    """

    class Recording(cls):  # type: ignore[valid-type,misc]
        def __init__(self, **params: Any) -> None:
            super().__init__(**params)
            self.predictions: dict[int, np.ndarray] = {}
            self.batches: list[InferenceBatch] = []
            self.training_sets: list[TrainingSet] = []

        def train(self, data: TrainingSet) -> dict[str, float]:
            self.training_sets.append(data)
            return super().train(data)

        def predict(self, batch: InferenceBatch) -> Prediction:
            pred = super().predict(batch)
            er = np.asarray(pred.expected_return, dtype=np.float64)
            if batch.row_bars is None:
                self.predictions[batch.bar_idx] = er.copy()
            else:
                for b in np.unique(batch.row_bars):
                    self.predictions[int(b)] = er[batch.row_bars == b].copy()
            self.batches.append(batch)
            return pred

    Recording.__name__ = Recording.__qualname__ = f"Recording{cls.__name__}"
    Recording.__doc__ = f"{cls.__name__} recording its training sets, batches and predictions."
    return Recording


def replay_decisions(contender: Any, panel: Panel, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``arena.local.replay_local(contender, panel, **kwargs)``, checked to have ended ``ok``.

    Returns:
        (decision rows in bar order — see ``arena.audit_rows.decision_row`` —, the runner's result).

    Raises:
        AssertionError: the run halted; the message is its halt reason.
    """
    runner, result = replay_local(contender, panel, **kwargs)
    assert result["status"] == "ok", result["halt_reason"]
    return runner.drain_records().get("decisions", []), result


def assert_no_look_ahead(
    decisions_a: list[dict[str, Any]], decisions_b: list[dict[str, Any]], bar: int, *, min_before: int = 1
) -> None:
    """Two runs whose data differ only after ``bar`` decided identically up to it, and not after.

    Args:
        decisions_a: decision rows (with ``bar_index``) of the run on the original data.
        decisions_b: decision rows of the run on data changed after ``bar`` only.
        bar: last bar index the two data sets share.
        min_before: decisions at or before ``bar`` needed for the check to prove anything.

    Raises:
        AssertionError: fewer than ``min_before`` decisions at or before ``bar``; a decision at or
            before ``bar`` differs (look-ahead); or none after ``bar`` differs (the change was not
            seen at all, so the check could not fail).
    """
    before = [d for d in decisions_a if d["bar_index"] <= bar]
    assert len(before) >= min_before, f"{len(before)} decisions at or before bar {bar}: the test would prove nothing"
    assert [d for d in decisions_b if d["bar_index"] <= bar] == before, f"a decision at or before bar {bar} changed"
    after_a = [d for d in decisions_a if d["bar_index"] > bar]
    assert after_a != [d for d in decisions_b if d["bar_index"] > bar], f"no decision after bar {bar} changed"


def assert_predictions_no_look_ahead(
    predictions_a: dict[int, np.ndarray], predictions_b: dict[int, np.ndarray], bar: int
) -> None:
    """The ``predictions`` of two recording models (see ``recording``) agree exactly up to ``bar`` and not after.

    Args:
        predictions_a: {bar_idx: expected_return [S]} on the original data.
        predictions_b: the same on data changed after ``bar`` only.
        bar: last bar index the two data sets share.

    Raises:
        AssertionError: no prediction at or before ``bar``; the bars predicted up to ``bar`` differ; a
            prediction up to ``bar`` differs in any bit; or every prediction after ``bar`` is equal.
    """
    upto = sorted(k for k in predictions_a if k <= bar)
    assert upto, f"no prediction at or before bar {bar}: the test would prove nothing"
    assert sorted(k for k in predictions_b if k <= bar) == upto
    for k in upto:
        np.testing.assert_array_equal(predictions_b[k], predictions_a[k], err_msg=f"bar {k}")
    after = [k for k in predictions_a if k > bar]
    changed = [k for k in after if not np.array_equal(predictions_b[k], predictions_a[k])]
    assert changed, f"no prediction after bar {bar} changed"
