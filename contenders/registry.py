"""Find a contender class by name.

Three ways, in this order:

1. a built-in short name (``sma_crossover``),
2. a name registered by an installed package under the entry-point group
   ``arena.contenders`` (in its pyproject: ``[project.entry-points."arena.contenders"]
   my_model = "my_pkg.models:MyModel"``),
3. ``module:Class`` (``my_pkg.models:MyModel``), imported directly.

The learned built-ins need the optional ``ml`` extra (torch, lightgbm, ...). Asking for
one without it raises :class:`MissingExtraError`, which names the class and the
command that installs the extra, before any model module is imported.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from importlib.metadata import entry_points

from contenders.base import Contender

__all__ = [
    "BUILTINS", "ENTRY_POINT_GROUP", "ML_INSTALL_HINT", "ML_MODULES", "ML_REQUIREMENTS", "MissingExtraError",
    "UnknownContenderError", "available", "resolve",
]

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

# What each learned built-in imports from the ``ml`` extra (top-level module names, some
# only lazily, when it trains or explains): checked before the class is imported, so a
# missing extra is reported when the config is read, not mid-run. The meta-ensemble needs
# numpy and scipy only.
ML_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "lightgbm": ("lightgbm", "shap"),
    "lstm_attention": ("torch", "captum"),
    "ppo": ("torch", "stable_baselines3", "gymnasium", "captum"),
    "tft": ("torch", "lightning", "pytorch_forecasting", "sklearn"),
}

# The top-level modules of the ``ml`` extra's distributions (pyproject.toml; a test holds the
# two together), for the error when a ``module:Class`` contender fails to import one of them.
ML_MODULES = frozenset(
    {"torch", "lightgbm", "shap", "captum", "pytorch_forecasting", "lightning", "stable_baselines3", "gymnasium",
     "sklearn", "numba"}
)

ML_INSTALL_HINT = "pip install 'model-arena[ml]' (in a checkout: make ml-setup)"


class UnknownContenderError(LookupError):
    """No contender class goes by that name (the message lists what exists)."""


class MissingExtraError(UnknownContenderError):
    """A known contender class whose optional dependencies (the ``ml`` extra) are not installed.

    The message names the class, the missing modules and :data:`ML_INSTALL_HINT`.
    """


def _missing_extra(name: str, path: str, missing: list[str]) -> MissingExtraError:
    where = "" if path == name else f" ({path})"
    return MissingExtraError(
        f"contender class {name!r}{where} needs the optional ML dependencies (the 'ml' extra), not installed "
        f"here (no module {', '.join(repr(m) for m in missing)}): {ML_INSTALL_HINT}"
    )


def _installed(module: str) -> bool:
    # find_spec looks without importing (torch takes seconds to import)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses it; a module object without a spec
        return False


def _check_ml_requirements(name: str, path: str) -> None:
    missing = [m for m in ML_REQUIREMENTS.get(name, ()) if not _installed(m)]  # names built-ins only
    if missing:
        raise _missing_extra(name, path, missing)


def _import(path: str, name: str) -> type[Contender]:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        top = (exc.name or "").partition(".")[0]
        if top in ML_MODULES:
            raise _missing_extra(name, path, [top]) from exc
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
        MissingExtraError: a learned contender, and the ``ml`` extra it needs
            is not installed (the message says how to install it).
        UnknownContenderError: unknown short name (with a did-you-mean hint and
            the list of names), unimportable module, or not a Contender subclass.
    """
    if ":" in name:
        return _import(name, name)
    names = available()
    if name in names:
        _check_ml_requirements(name, names[name])
        return _import(names[name], name)
    hint = difflib.get_close_matches(name, list(names), n=1)
    did = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UnknownContenderError(
        f"unknown contender class {name!r}.{did} Known: {sorted(names)}; or give 'module:Class'."
    )
