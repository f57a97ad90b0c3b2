"""model-arena: trading models compete on real market data, on Ray.

The notebook front door (imported on first use, so ``import arena`` stays light):

* ``arena.run(config_or_path, **overrides) -> Run``: run an arena, as ``arena run`` does.
* ``arena.open_run(run_id, store=...) -> Run``: a recorded run.
* ``arena.Run``: ``.leaderboard``, ``.equity``, ``.trades``, ``.fills``, ``.decisions``
  (DataFrames), ``.why(decision_id)``, ``.plot()``, ``.report(path)``.

See :mod:`arena.notebook`.
"""

# no `typing.TYPE_CHECKING` and no `from __future__ import annotations`: `import arena` stays
# at about 1 ms of its own (annotations below are strings)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from arena.notebook import OVERRIDABLE_KEYS, Run, open_run, run

__all__ = ["OVERRIDABLE_KEYS", "Run", "__version__", "open_run", "run"]

_NOTEBOOK = frozenset({"OVERRIDABLE_KEYS", "Run", "open_run", "run"})


def __getattr__(name: str) -> "Any":
    """PEP 562: the notebook API and the version, loaded when first asked for."""
    if name in _NOTEBOOK:
        from arena import notebook

        return getattr(notebook, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("model-arena")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'arena' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__} - {"TYPE_CHECKING"})
