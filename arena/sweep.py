"""Parameter sweeps: one contender entry of a config becomes one contender per point.

A contender entry may carry ``sweep``, a mapping of param name → values:

* grid (every combination)::

      - {name: sma, class: sma_crossover, sweep: {fast: [5, 10, 20], slow: [50, 100]}}
      - {name: sma, class: sma_crossover, sweep: {fast: {low: 5, high: 25, n: 5}, slow: [50, 100]}}

  a list is taken as it is; ``{low, high, n}`` is ``n`` evenly spaced values from ``low``
  to ``high`` (integers when both bounds are integers and every step is whole);
* random (``samples`` points drawn with ``seed``)::

      - {name: sma, class: sma_crossover, sweep: {fast: {low: 2, high: 30}, slow: [50, 100], samples: 8, seed: 1}}

  each point draws every param at random: a list uniformly among its values, ``{low,
  high}`` uniformly in ``[low, high]`` (an integer when both bounds are integers); a point
  drawn twice is kept once.

Each point is a contender named after its parameters (``sma_fast5_slow50``), with the
entry's params updated by the point's values and ``sweep_group`` set to the entry's name;
every point is a trial of the trials register (:mod:`arena.trials`). The expansion is
deterministic: the same entry and seed give the same contenders in the same order.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_MAX_CONTENDERS", "SweepError", "expand_sweeps"]

DEFAULT_MAX_CONTENDERS = 256
"""Most contenders a config may expand to (``arena run --max-contenders``)."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_RANDOM_KEYS = ("samples", "seed")


class SweepError(ValueError):
    """A sweep that cannot be expanded; the message names the entry and key."""


def expand_sweeps(contenders: Any, max_contenders: int = DEFAULT_MAX_CONTENDERS) -> list[Any]:
    """The config's ``contenders`` list with every entry that has a ``sweep`` replaced by
    its points (entries without one are kept as they are, in place).

    Args:
        contenders: the raw ``contenders`` list of a config (mappings, as parsed from YAML).
        max_contenders: most contenders the expanded list may hold.

    Returns:
        The expanded list (a new list; the entries given are not changed).

    Raises:
        SweepError: naming ``contenders[i].sweep...``, for a sweep that is not a mapping,
            a param given neither a list nor ``{low, high[, n]}``, an empty list, a bad
            ``samples``/``seed``, a point's name that is not a valid contender name, or
            more than ``max_contenders`` contenders in all.
    """
    if not isinstance(contenders, list):
        return contenders
    planned = [_size(i, c) for i, c in enumerate(contenders)]
    total = sum(planned)
    if total > max_contenders:
        raise SweepError(
            f"contenders: the sweeps expand to {total} contenders, more than the limit of {max_contenders} "
            "(arena run --max-contenders N raises it)"
        )
    out: list[Any] = []
    for i, entry in enumerate(contenders):
        if isinstance(entry, Mapping) and "sweep" in entry:
            out.extend(_expand(i, entry))
        else:
            out.append(entry)
    return out


def _size(i: int, entry: Any) -> int:
    if not (isinstance(entry, Mapping) and "sweep" in entry):
        return 1
    sweep = _sweep_of(i, entry)
    if "samples" in sweep:
        return _samples(i, sweep)
    return math.prod(len(_grid_values(i, k, v)) for k, v in sweep.items())


def _sweep_of(i: int, entry: Mapping[str, Any]) -> Mapping[str, Any]:
    sweep = entry["sweep"]
    if not isinstance(sweep, Mapping) or not sweep:
        raise SweepError(f"contenders[{i}].sweep: expected a mapping of param → values, got {sweep!r}")
    if "seed" in sweep and "samples" not in sweep:
        raise SweepError(f"contenders[{i}].sweep.seed: a seed needs samples (a random sweep)")
    if not [k for k in sweep if k not in _RANDOM_KEYS]:
        raise SweepError(f"contenders[{i}].sweep: no param to sweep")
    return sweep


def _samples(i: int, sweep: Mapping[str, Any]) -> int:
    k = sweep["samples"]
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise SweepError(f"contenders[{i}].sweep.samples: expected an integer >= 1, got {k!r}")
    return k


def _grid_values(i: int, param: str, spec: Any) -> list[Any]:
    where = f"contenders[{i}].sweep.{param}"
    if isinstance(spec, list):
        if not spec:
            raise SweepError(f"{where}: the list of values is empty")
        return spec
    if isinstance(spec, Mapping):
        low, high = _bounds(where, spec)
        n = spec.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise SweepError(f"{where}.n: a grid range needs n, an integer >= 1 (values from low to high), got {n!r}")
        if n == 1:
            return [low]
        step = (high - low) / (n - 1)
        values = [low + j * step for j in range(n)]
        if isinstance(low, int) and isinstance(high, int) and float(step).is_integer():
            return [int(round(v)) for v in values]
        return [float(v) for v in values]
    raise SweepError(f"{where}: expected a list of values or {{low, high, n}}, got {spec!r}")


def _bounds(where: str, spec: Mapping[str, Any]) -> tuple[int | float, int | float]:
    unknown = sorted(set(spec) - {"low", "high", "n"})
    if unknown:
        raise SweepError(f"{where}: unknown key(s) {unknown}; a range has low, high and (grid) n")
    low, high = spec.get("low"), spec.get("high")
    for key, v in (("low", low), ("high", high)):
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise SweepError(f"{where}.{key}: expected a number, got {v!r}")
    if low > high:  # type: ignore[operator]
        raise SweepError(f"{where}: low ({low}) is above high ({high})")
    return low, high  # type: ignore[return-value]


def _expand(i: int, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    sweep = _sweep_of(i, entry)
    params = [k for k in sweep if k not in _RANDOM_KEYS]
    if "samples" in sweep:
        points = _random_points(i, sweep, params)
    else:
        points = list(itertools.product(*(_grid_values(i, p, sweep[p]) for p in params)))
    base = {k: v for k, v in entry.items() if k != "sweep"}
    name = str(base.get("name", ""))
    fixed = base.get("params") or {}
    if not isinstance(fixed, Mapping):
        raise SweepError(f"contenders[{i}].params: expected a mapping, got {fixed!r}")
    out = []
    for point in points:
        values = dict(zip(params, point, strict=True))
        point_name = name + "".join(f"_{p}{_label(v)}" for p, v in values.items())
        if not _NAME.match(point_name):
            raise SweepError(
                f"contenders[{i}].sweep: point {values} gives the contender name {point_name!r}, which is not a "
                "valid name (a letter first, then letters, digits, '_', '-', '.'; at most 64): shorten the "
                "entry's name or the params' names"
            )
        out.append({**base, "name": point_name, "params": {**fixed, **values}, "sweep_group": name})
    return out


def _random_points(i: int, sweep: Mapping[str, Any], params: Sequence[str]) -> list[tuple[Any, ...]]:
    k = _samples(i, sweep)
    seed = sweep.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise SweepError(f"contenders[{i}].sweep.seed: expected an integer, got {seed!r}")
    rng = random.Random(seed)
    draws = []
    for p in params:
        spec = sweep[p]
        where = f"contenders[{i}].sweep.{p}"
        if isinstance(spec, list):
            if not spec:
                raise SweepError(f"{where}: the list of values is empty")
            draws.append(lambda spec=spec: rng.choice(spec))
        elif isinstance(spec, Mapping):
            low, high = _bounds(where, spec)
            if isinstance(low, int) and isinstance(high, int):
                draws.append(lambda low=low, high=high: rng.randint(low, high))  # type: ignore[misc]  # mypy cannot infer a lambda with default arguments
            else:
                draws.append(lambda low=low, high=high: rng.uniform(float(low), float(high)))  # type: ignore[misc]  # mypy cannot infer a lambda with default arguments
        else:
            raise SweepError(f"{where}: expected a list of values or {{low, high}}, got {spec!r}")
    points: dict[tuple[Any, ...], None] = {}
    for _ in range(k):
        points.setdefault(tuple(draw() for draw in draws), None)
    return list(points)


def _label(value: Any) -> str:
    """A param value as a name part: ``10`` → ``10``, ``0.25`` → ``0.25``, ``True`` → ``true``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
