"""The public surface of the packages is drawn: every module of ``arena``, ``contenders``,
``ledger`` and ``serve`` says in ``__all__`` what others may import from it, every name
there exists, and the code and tests import from a module only what its ``__all__`` lists
(or ``_``-prefixed internals, or submodules)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("arena", "contenders", "ledger", "serve")
# where imports from the packages are read: the packages themselves, their tests, the tools
IMPORTERS = (*PACKAGES, "tests", "benchmarks", "scripts")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def declared_all(source: str) -> list[str] | None:
    """The names of a module's top-level ``__all__`` (a literal list or tuple of strings), or
    None when it has none."""
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else (
            node.target if isinstance(node, ast.AnnAssign) else None
        )
        if isinstance(target, ast.Name) and target.id == "__all__" and node.value is not None:
            names = ast.literal_eval(node.value)
            assert isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names), names
            return list(names)
    return None


def missing_names(module: object, names: list[str]) -> list[str]:
    """The names of ``__all__`` that ``module`` does not have (PEP 562 ``__getattr__`` counts)."""
    return [n for n in names if not hasattr(module, n)]


def bound_names(source: str) -> set[str]:
    """The names a module's source binds at its top level (also under ``if``/``try``): for a
    module that cannot be imported here (an optional dependency it needs is not installed)."""
    out: set[str] = set()
    todo = list(ast.parse(source).body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
        elif isinstance(node, (ast.If, ast.Try)):
            todo.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
            todo.extend(n for h in getattr(node, "handlers", []) for n in h.body)
    return out


def imports_outside_all(source: str, all_of: dict[str, list[str] | None], submodules: set[str]) -> list[str]:
    """``module.name`` for each ``from module import name`` in ``source`` (one of the packages'
    modules) where ``name`` is public, not a submodule, and not in the module's ``__all__``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in all_of):
            continue
        listed = all_of[node.module] or []
        for alias in node.names:
            name = alias.name
            if name.startswith("_") or name == "*" or f"{node.module}.{name}" in submodules or name in listed:
                continue
            out.append(f"{node.module}.{name}")
    return out


@pytest.fixture(scope="module")
def surface() -> dict[str, list[str] | None]:
    return {_module_name(p): declared_all(p.read_text(encoding="utf-8")) for p in _modules()}


def test_every_module_declares_its_public_names(surface):
    lacking = sorted(m for m, names in surface.items() if names is None)
    assert not lacking, f"modules without __all__ (list what others may import; [] for none): {lacking}"


def test_every_name_in_all_exists_once(surface):
    problems = {}
    for mod, names in surface.items():
        if not names:
            continue
        dupes = sorted({n for n in names if names.count(n) > 1})
        try:
            absent = missing_names(importlib.import_module(mod), names)
        except ModuleNotFoundError as exc:  # an optional dependency (the ML extra) is not installed
            if (exc.name or "").split(".")[0] in PACKAGES:
                raise
            path = ROOT / mod.replace(".", "/")
            source = (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text(encoding="utf-8")
            absent = sorted(set(names) - bound_names(source))
        if dupes or absent:
            problems[mod] = {"missing": absent, "repeated": dupes}
    assert not problems, problems


def test_the_code_and_tests_import_only_what_all_lists(surface):
    submodules = set(surface)
    found = []
    for top in IMPORTERS:
        for path in sorted((ROOT / top).rglob("*.py")):
            for name in imports_outside_all(path.read_text(encoding="utf-8"), surface, submodules):
                found.append(f"{path.relative_to(ROOT)}: {name}")
    why = "imported but not in the module's __all__ (add it there, or import it from where it is made)"
    assert not found, why + ":\n" + "\n".join(found)


# the checks above can fail: each one on a module made to break it


def test_a_module_without_all_or_with_a_name_it_lacks_is_caught():
    assert declared_all('"""doc"""\nimport os\nX = 1\n') is None
    assert declared_all('__all__ = ["X", "gone"]\nX = 1\n') == ["X", "gone"]
    assert declared_all("__all__: list[str] = []\n") == []
    ledger_types = importlib.import_module("ledger.types")
    assert missing_names(ledger_types, ["Decision", "NoSuchName"]) == ["NoSuchName"]
    src = (
        "import os.path\ntry:\n    import torch\nexcept ImportError:\n    torch = None\n"
        "if X:\n    def f(): ...\nY: int = 1\n"
    )
    assert bound_names(src) == {"os", "torch", "f", "Y"}


def test_an_import_of_an_unlisted_name_is_caught():
    all_of = {"ledger.orders": ["Order"], "ledger": ["Ledger"]}
    src = (
        "from ledger.orders import Order, Reason, _OrderState\n"
        "from ledger import Ledger, orders\n"
        "from os import path\n"
    )
    assert imports_outside_all(src, all_of, {"ledger.orders"}) == ["ledger.orders.Reason"]
