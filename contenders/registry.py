"""Find a contender class by name.

Three ways, in this order:

1. a built-in short name (``sma_crossover``),
2. a name registered by an installed package under the entry-point group
   ``arena.contenders`` (in its pyproject: ``[project.entry-points."arena.contenders"]
   my_model = "my_pkg.models:MyModel"``),
3. ``module:Class`` (``my_pkg.models:MyModel``), imported directly.
"""

from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points

from contenders.base import Contender

__all__ = ["BUILTINS", "ENTRY_POINT_GROUP", "UnknownContenderError", "available", "resolve"]

ENTRY_POINT_GROUP = "arena.contenders"

BUILTINS: dict[str, str] = {
    "buy_and_hold": "contenders.builtin.buy_and_hold:BuyAndHold",
    "sma_crossover": "contenders.builtin.sma_crossover:SmaCrossover",
    "rsi_mean_reversion": "contenders.builtin.rsi_mean_reversion:RsiMeanReversion",
    "momentum": "contenders.builtin.momentum:Momentum",
    "lightgbm": "contenders.ml.lightgbm_shap:LightGBMContender",
    "lstm_attention": "contenders.ml.lstm_attention:LSTMAttention",
    "ppo": "contenders.ml.ppo:PPOContender",
    "tft": "contenders.ml.tft:TFT",
    "meta_ensemble": "contenders.ml.meta_ensemble:MetaEnsemble",
}


class UnknownContenderError(LookupError):
    """No contender class goes by that name (the message lists what exists)."""


def _import(path: str, name: str) -> type[Contender]:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownContenderError(f"contender {name!r}: cannot import module {module_name!r}: {exc}") from exc
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise UnknownContenderError(f"contender {name!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, Contender)):
        raise UnknownContenderError(f"contender {name!r}: {path} is not a subclass of contenders.Contender")
    return cls


def available() -> dict[str, str]:
    """Short name → ``module:Class`` of every built-in and entry-point contender."""
    found = dict(BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def resolve(name: str) -> type[Contender]:
    """The contender class for a short name or ``module:Class``.

    Raises:
        UnknownContenderError: unknown short name (with a did-you-mean hint and
            the list of names), unimportable module, or not a Contender subclass.
    """
    if ":" in name:
        return _import(name, name)
    names = available()
    if name in names:
        return _import(names[name], name)
    hint = difflib.get_close_matches(name, list(names), n=1)
    did = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UnknownContenderError(
        f"unknown contender class {name!r}.{did} Known: {sorted(names)}; or give 'module:Class'."
    )
