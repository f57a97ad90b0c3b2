"""The contender API: subclass :class:`Contender`, override :meth:`Contender.on_bars`.

A contender is plain Python: it never imports Ray. The arena wraps it in an
actor with its own ledger, so the same class runs in a unit test.

Example:
    >>> class Breakout(Contender):
    ...     lookback: int = 20      # bars; overridable from config
    ...     weight: float = 1.0     # fraction of equity
    ...     def on_bars(self, bars, portfolio):
    ...         high = bars.history.high[-self.lookback - 1 : -1].max(axis=0)
    ...         if len(bars.history) > self.lookback and (bars.close > high).any():
    ...             return Decision(weights={s: self.weight / len(bars.symbols) for s in bars.symbols})
    ...         return None
"""

from __future__ import annotations

import difflib
import typing
from typing import Any, ClassVar

import numpy as np
from pydantic import TypeAdapter, ValidationError

from contenders.market import Bars, History
from contenders.portfolio import Portfolio
from ledger.types import Contribution, Decision, Fill, OrderRequest

__all__ = [
    "Bars",
    "ChunkPreparer",
    "Contender",
    "Contribution",
    "Decision",
    "History",
    "OrderRequest",
    "ParamError",
    "Portfolio",
]


class ParamError(ValueError):
    """A contender parameter is unknown or has a bad value (the message names it)."""


class Contender:
    """Base class of every trading model in the arena.

    Parameters are typed class attributes (``fast: int = 10``), overridable by
    keyword (from the config's ``params``); an unknown name fails at once with a
    did-you-mean hint, and values are validated against the annotation.

    Override:
        on_bars(bars, portfolio) -> Decision | None   (required): called once per
            bar timestamp, after fills at this bar and marking to market at its
            close. Return a :class:`Decision` to act (orders are placed for the
            next bar: fill at its open by default), or ``None`` to keep every
            position as it is.
    Optional hooks:
        fit(history): called once before trading with the warm-up bars.
        on_fill(fill): after each fill of this contender's orders.
        on_denied(verdict): after the risk guardian denies one of its orders.
        validate_params(): cross-parameter checks; raise ValueError.

    Attributes:
        seed: the run's seed for this contender (int); ``rng`` a numpy Generator
            seeded with it. Use these for anything random (determinism).
        execution: the run's ``ledger.ExecutionConfig`` (fill price, commission,
            slippage, sizing), set by the arena before the first bar, for models
            that simulate their own trading when they train (None outside a run).
    """

    execution: ClassVar[Any] = None

    _params: ClassVar[dict[str, tuple[Any, Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        hints = typing.get_type_hints(cls)
        params: dict[str, tuple[Any, Any]] = {}
        for name, hint in hints.items():
            if name.startswith("_") or typing.get_origin(hint) is ClassVar or hint is ClassVar:
                continue
            if name in ("seed", "rng"):
                continue
            if not hasattr(cls, name):
                raise TypeError(f"{cls.__name__}.{name}: a parameter needs a default value")
            params[name] = (hint, getattr(cls, name))
        cls._params = params

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        for name, value in params.items():
            if name not in self._params:
                raise ParamError(self._unknown_param_message(name))
            hint, _ = self._params[name]
            try:
                value = TypeAdapter(hint).validate_python(value, strict=False)
            except ValidationError as exc:
                msg = exc.errors()[0]["msg"]
                raise ParamError(
                    f"{type(self).__name__} parameter {name!r}: {msg} (expected {_type_name(hint)}, got {value!r})"
                ) from None
            setattr(self, name, value)
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        try:
            self.validate_params()
        except ValueError as exc:
            raise ParamError(f"{type(self).__name__}: {exc}") from None

    @classmethod
    def _unknown_param_message(cls, name: str) -> str:
        known = sorted(cls._params)
        hint = difflib.get_close_matches(name, known, n=1)
        did = f" Did you mean {hint[0]!r}?" if hint else ""
        return f"{cls.__name__} has no parameter {name!r}.{did} Parameters: {known or 'none'}"

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Parameter name → default value."""
        return {k: v for k, (_, v) in cls._params.items()}

    @property
    def params(self) -> dict[str, Any]:
        """Parameter name → value in force."""
        return {k: getattr(self, k) for k in self._params}

    def validate_params(self) -> None:
        """Cross-parameter checks (override; raise ValueError with a clear message)."""

    def fit(self, history: History) -> None:
        """Fit on the warm-up history before trading (optional; default: nothing)."""

    def on_bars(self, bars: Bars, portfolio: Portfolio) -> Decision | None:
        """Decide on the new bars. Must be overridden.

        Args:
            bars: the bars of this timestamp; ``bars.history`` is the past-only history.
            portfolio: read-only view of this contender's portfolio.

        Returns:
            A Decision (target weights and/or orders, confidence, explanation), or
            None to keep positions unchanged.
        """
        raise NotImplementedError(f"{type(self).__name__} must override on_bars(bars, portfolio)")

    def on_fill(self, fill: Fill) -> None:
        """Called after each fill of this contender's orders (optional)."""

    def on_denied(self, verdict: Any) -> None:
        """Called when the risk guardian denies an order (optional).

        ``verdict`` is an ``arena.risk.RiskVerdict`` (action, reasons, details).
        """


class ChunkPreparer:
    """An ability (mixin) of a contender whose expensive per-bar work can be done for a
    whole chunk of bars at once, e.g. a learned model that predicts every bar of the
    chunk in one batch (``contenders.ml.LearnedContender``). Model authors who only
    implement ``on_bars`` never need it.

    Before the bars of a chunk are fed one by one, the arena writes them to the
    replay buffer and calls :meth:`prepare_chunk` with the history up to the chunk's
    last bar; then ``on_bars`` is called bar by bar as usual, with ``bars.history``
    ending at the current bar. What ``prepare_chunk`` computes for bar ``t`` must
    depend only on bars ``<= t`` (the look-ahead tests of every learned contender
    check it), and the decision at bar ``t`` is still made by ``on_bars`` at ``t``,
    with the portfolio as it is then.
    """

    def prepare_chunk(self, history: History, first_bar: int) -> np.ndarray | None:
        """Prepare bars ``first_bar .. len(history) - 1`` (0-based bar indices).

        Args:
            history: past bars up to and including the chunk's last bar.
            first_bar: index of the chunk's first bar.

        Returns:
            None (``on_bars`` is called on every bar), or one bool per bar of the chunk
            [len(history) - first_bar]: the bars on which ``on_bars`` may decide (it is
            not called on the others).

        An exception halts the contender with the reason, as one from ``on_bars`` does.
        """


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)
