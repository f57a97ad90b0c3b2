"""Config: sweeps expand into one contender per point; benchmark, risk-free rate and ranking."""

from __future__ import annotations

from pathlib import Path

import pytest

from arena.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def _cfg(*contenders: dict, **top: object):
    raw = {"name": "t", "data": {"source": "synthetic", "n_bars": 50}, "contenders": list(contenders), **top}
    return parse_config(raw, "t.yaml")


def test_a_grid_sweep_becomes_one_contender_per_point_named_after_its_params() -> None:
    cfg = _cfg({"name": "sma", "class": "sma_crossover", "params": {"fast": 3}, "sweep": {"slow": [20, 30]}},
               {"name": "bench", "class": "buy_and_hold"})
    assert [c.name for c in cfg.contenders] == ["sma_slow20", "sma_slow30", "bench"]
    assert [c.params for c in cfg.contenders[:2]] == [{"fast": 3, "slow": 20}, {"fast": 3, "slow": 30}]
    assert {c.sweep_group for c in cfg.contenders} == {"sma", None}


def test_a_grid_range_gives_n_evenly_spaced_values() -> None:
    cfg = _cfg({"name": "s", "class": "sma_crossover", "sweep": {"fast": {"low": 2, "high": 10, "n": 5}, "slow": [40]}})
    assert [c.params["fast"] for c in cfg.contenders] == [2, 4, 6, 8, 10]


def test_a_random_sweep_is_the_same_for_the_same_seed() -> None:
    entry = {"name": "s", "class": "sma_crossover",
             "sweep": {"fast": {"low": 2, "high": 19}, "slow": [40, 60], "samples": 6, "seed": 3}}
    a, b = _cfg(entry), _cfg(entry)
    assert [c.name for c in a.contenders] == [c.name for c in b.contenders]
    assert 1 <= len(a.contenders) <= 6
    assert all(2 <= c.params["fast"] <= 19 and c.params["slow"] in (40, 60) for c in a.contenders)
    other = _cfg({**entry, "sweep": {**entry["sweep"], "seed": 4}})
    assert [c.name for c in other.contenders] != [c.name for c in a.contenders]


def test_too_many_contenders_are_refused_before_expanding() -> None:
    raw = {"name": "t", "data": {"source": "synthetic"},
           "contenders": [{"name": "s", "class": "sma_crossover", "sweep": {"fast": list(range(2, 12)),
                                                                              "slow": list(range(50, 60))}}]}
    with pytest.raises(ConfigError, match="expand to 100 contenders, more than the limit of 99"):
        parse_config(raw, "t.yaml", max_contenders=99)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"fast": []}, r"contenders\[0\].sweep.fast: the list of values is empty"),
        ({"fast": {"low": 5, "high": 2, "n": 2}}, "low .5. is above high .2."),
        ({"fast": {"low": 2, "high": 5}}, r"sweep.fast.n: a grid range needs n"),
        ({"fast": 3}, "expected a list of values"),
        ({"fast": [2], "seed": 1}, "a seed needs samples"),
        ({"fast": [2, 3], "slow": [2]}, r"\(s_fast2_slow2, a point of sweep 's'\)"),  # a rejected point is named
    ],
)
def test_bad_sweeps_name_the_key(sweep: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _cfg({"name": "s", "class": "sma_crossover", "sweep": sweep})


def test_the_benchmark_defaults_to_the_buy_and_hold_contender() -> None:
    cfg = _cfg({"name": "a", "class": "sma_crossover"}, {"name": "hold", "class": "buy_and_hold"})
    assert cfg.resolved_benchmark == "hold" and cfg.rank_by == "sharpe" and cfg.risk_free_rate == 0.0
    assert cfg.benchmark is None, "as written: a re-parse with other contenders picks the default again"
    assert _cfg({"name": "a", "class": "sma_crossover"}).resolved_benchmark is None


def test_a_benchmark_that_is_not_a_contender_or_an_unknown_ranking_is_refused() -> None:
    with pytest.raises(ConfigError, match="benchmark 'hld' is not a contender.*did you mean 'hold'"):
        _cfg({"name": "hold", "class": "buy_and_hold"}, benchmark="hld")
    with pytest.raises(ConfigError, match="rank_by.*did you mean 'sortino'"):
        _cfg({"name": "hold", "class": "buy_and_hold"}, rank_by="sortin")
    with pytest.raises(ConfigError, match="risk_free_rate"):
        _cfg({"name": "hold", "class": "buy_and_hold"}, risk_free_rate=-2)


def test_the_shipped_sma_sweep_expands_its_grid() -> None:
    cfg = load_config(REPO / "configs" / "sma_sweep.yaml")
    swept = [c for c in cfg.contenders if c.sweep_group == "sma"]
    assert len(swept) == 12 and cfg.benchmark == "bench"
    assert len({(c.params["fast"], c.params["slow"]) for c in swept}) == 12
