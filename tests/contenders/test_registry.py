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


class _Refuse:
    """A finder first on sys.meta_path that refuses some top-level modules, as if not installed."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def _without(monkeypatch, *names: str) -> None:
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Refuse(*names), *sys.meta_path])


def test_a_learned_builtin_without_the_ml_extra_names_the_class_and_the_install_command(monkeypatch):
    from contenders.registry import ML_INSTALL_HINT, MissingExtraError

    _without(monkeypatch, "lightgbm")  # the module imports lightgbm only when it trains: checked up front
    with pytest.raises(MissingExtraError) as caught:
        resolve("lightgbm")
    message = str(caught.value)
    assert "'lightgbm'" in message and "LightGBMContender" in message and ML_INSTALL_HINT in message
    assert "pip install 'model-arena[ml]'" in message and "make ml-setup" in message
    assert isinstance(caught.value, UnknownContenderError)  # a config error like any unknown class
    assert issubclass(resolve("meta_ensemble"), Contender)  # needs numpy and scipy only


def test_a_module_class_that_needs_torch_says_how_to_install_it(monkeypatch, tmp_path):
    from contenders.registry import MissingExtraError

    (tmp_path / "torch_model_mod.py").write_text("import torch\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _without(monkeypatch, "torch")
    with pytest.raises(MissingExtraError, match=r"torch_model_mod:Net.*no module 'torch'.*model-arena\[ml\]"):
        resolve("torch_model_mod:Net")
    sys.modules.pop("torch_model_mod", None)
