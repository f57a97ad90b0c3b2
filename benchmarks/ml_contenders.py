"""Training and inference costs of the learned contenders, as JSON.

Run: ``python -m benchmarks.ml_contenders [CONFIG] [--bars N]`` (default
``configs/ml_daily.yaml``, all its bars). Every learned contender of the config
(those deriving from :class:`contenders.ml.base.LearnedContender`) is replayed in
this process, without Ray, with the config's parameters, warm-up, execution
and seed, on one torch thread. Figures per contender:

* ``train_s``: wall seconds per (re)training — mean, max, and the count;
* ``inference_ms``: wall milliseconds per decision bar of ``predict`` with its
  explanation (SHAP, Integrated Gradients, attention, ...) — p50, mean, p99;
* ``bar_loop_ms``: wall milliseconds per traded bar of the whole bar loop
  (features, prediction, mapping, ledger, risk vetting), training excluded;
* ``wall_s``: the contender's whole replay.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def measure(config: str | Path = "configs/ml_daily.yaml", bars: int | None = None) -> dict[str, Any]:
    """Replay each learned contender of ``config`` and time it (see the module docstring).

    Args:
        config: an arena config file.
        bars: use only the first ``bars`` bars of the data (None = all).

    Returns:
        ``{"config", "bars", "symbols", "contenders": {name: figures}}``.
    """
    from arena.config import load_config
    from arena.data import source_from_spec, to_panel
    from arena.local import replay_local
    from arena.risk import RiskLimits
    from contenders.ml.base import LearnedContender
    from contenders.registry import resolve
    from ledger import ExecutionConfig

    cfg = load_config(config)
    panel = to_panel(source_from_spec(cfg.data.model_dump(), base_dir=cfg.base_dir).load())
    if bars is not None:
        panel = panel.slice(0, bars)
    execution = ExecutionConfig(**cfg.execution.model_dump())
    limits = RiskLimits(**cfg.risk.model_dump())
    out: dict[str, Any] = {"config": str(config), "bars": len(panel), "symbols": list(panel.symbols), "contenders": {}}
    for i, spec in enumerate(cfg.contenders):
        cls = resolve(spec.class_)
        if not issubclass(cls, LearnedContender):
            continue
        model = cls(seed=int(np.random.SeedSequence([cfg.seed, i]).generate_state(1)[0]), **spec.params)
        t0 = time.perf_counter()
        _, res = replay_local(
            model, panel, capital_usd=cfg.capital, execution=execution, limits=limits, warmup_bars=spec.warmup_bars
        )
        wall = time.perf_counter() - t0
        train = np.asarray(model.train_seconds)
        infer = np.asarray(model.predict_seconds) * 1e3
        traded = max(len(panel) - spec.warmup_bars, 1)
        out["contenders"][spec.name] = {
            "class": spec.class_,
            "status": res["status"],
            "halt_reason": res["halt_reason"],
            "retrains": int(len(train)),
            "train_s": {"mean": _r(train.mean()), "max": _r(train.max())} if len(train) else None,
            "inference_ms": {
                "p50": _r(np.percentile(infer, 50)),
                "mean": _r(infer.mean()),
                "p99": _r(np.percentile(infer, 99)),
            }
            if len(infer)
            else None,
            "bar_loop_ms": _r((wall - train.sum()) / traded * 1e3),
            "wall_s": _r(wall),
        }
    return out


def _r(x: float) -> float:
    return round(float(x), 3)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="configs/ml_daily.yaml")
    parser.add_argument("--bars", type=int, default=None, help="use only the first N bars")
    args = parser.parse_args(argv)
    out = measure(args.config, args.bars)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
