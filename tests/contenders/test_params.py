"""Parameters: typed class attributes, overridable, misspellings rejected with a hint."""

from __future__ import annotations

import pytest

from contenders import Contender, ParamError, resolve


class Toy(Contender):
    lookback: int = 20
    threshold: float = 0.5
    label: str | None = None

    def on_bars(self, bars, portfolio):
        return None


def test_defaults_and_overrides():
    t = Toy(lookback=5)
    assert t.params == {"lookback": 5, "threshold": 0.5, "label": None}
    assert Toy.param_defaults() == {"lookback": 20, "threshold": 0.5, "label": None}


def test_misspelt_parameter_gets_did_you_mean():
    with pytest.raises(ParamError, match=r"no parameter 'lookbak'.*Did you mean 'lookback'"):
        Toy(lookbak=3)


def test_bad_value_names_parameter_and_type():
    with pytest.raises(ParamError, match=r"'lookback'.*expected int"):
        Toy(lookback="ten")


def test_numeric_strings_are_coerced_like_config_values():
    assert Toy(threshold="0.25").threshold == 0.25


def test_cross_parameter_check():
    with pytest.raises(ParamError, match="fast < slow"):
        resolve("sma_crossover")(fast=30, slow=10)


def test_parameter_without_default_is_a_definition_error():
    with pytest.raises(TypeError, match="needs a default"):
        class NoDefault(Contender):  # noqa: F841
            window: int


def test_seed_gives_reproducible_rng():
    assert Toy(seed=5).rng.random() == Toy(seed=5).rng.random()
