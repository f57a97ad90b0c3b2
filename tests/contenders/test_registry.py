"""Registry: built-ins by short name, entry points, module:Class."""

from __future__ import annotations

import sys

import pytest

from contenders import Contender, available, resolve
from contenders.registry import UnknownContenderError


def test_builtins_resolve():
    for name in ("buy_and_hold", "sma_crossover", "rsi_mean_reversion", "momentum"):
        assert issubclass(resolve(name), Contender)


def test_module_colon_class():
    assert resolve("contenders.template:MyContender").__name__ == "MyContender"


def test_unknown_name_suggests():
    with pytest.raises(UnknownContenderError, match="Did you mean 'momentum'"):
        resolve("momentun")


def test_module_class_that_is_not_a_contender():
    with pytest.raises(UnknownContenderError, match="not a subclass"):
        resolve("collections:OrderedDict")


def test_entry_point_group_is_discovered(tmp_path, monkeypatch):
    """A real installed distribution's entry point (a dist-info on sys.path)."""
    pkg = tmp_path / "thirdparty_models.py"
    pkg.write_text(
        "from contenders import Contender\n"
        "class Third(Contender):\n"
        "    k: int = 1\n"
        "    def on_bars(self, bars, portfolio):\n"
        "        return None\n"
    )
    dist = tmp_path / "thirdparty_models-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-models\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[arena.contenders]\nthird = thirdparty_models:Third\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert available()["third"] == "thirdparty_models:Third"
    assert resolve("third").__name__ == "Third"
    sys.modules.pop("thirdparty_models", None)
