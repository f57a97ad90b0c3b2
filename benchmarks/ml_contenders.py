"""Training and inference costs of the learned contenders, as JSON.

Run: ``python -m benchmarks.ml_contenders [CONFIG] [--bars N]`` (default
``configs/ml_daily.yaml``, all its bars). Every learned contender of the config
(those deriving from :class:`contenders.ml.base.LearnedContender`) is replayed in
this process, without Ray, with the config's parameters, warm-up, execution
and seed, on one torch thread. Figures per contender:

* ``train_s``: wall seconds per (re)training — mean, max, and the count;
* ``inference_ms``: wall milliseconds per ``predict`` call that decided (a chunk's batch
  between retrains, or one bar for PPO) — p50, mean, p99; ``explain_ms`` the same for the
  explanations made at decision time (one bar each);
* ``bar_loop_ms``: wall milliseconds per traded bar of the whole bar loop (features,
  batched prediction, mapping, explanations of trading decisions, recording the inputs of
  the others, ledger, risk vetting), training excluded — the chunked replay path
  (``replay_local``, chunks of ``--chunk-bars``); ``bar_loop_before_ms`` the figure of the
  per-bar, explain-everything loop this replaced (README, quiet machine) and ``speedup``
  their ratio;
* ``predictions_per_call``: bars and rows (bar × symbol) per ``predict`` call, and calls;
* ``eager_share``: fraction of decisions explained at decision time (those that trade);
* ``on_demand_ms``: first request of ``GET /decisions/{id}/why`` for up to ``--why``
  random deferred decisions (FastAPI ``TestClient`` over a DuckDB store holding the
  decisions, explanation cache cold; the checkpoint is loaded on the first request that
  needs it) — p50, p99, max, and ``cached_p50`` for a second request of the same ones;
* ``wall_s``: the contender's whole replay.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


BEFORE_MS = {"lightgbm": 4.6, "lstm_attention": 7.0, "tft": 8.5, "ppo": 3.8}
"""Whole bar loop per traded bar (ms) of the per-bar, explain-everything loop, by class (README table)."""


def measure(
    config: str | Path = "configs/ml_daily.yaml",
    bars: int | None = None,
    chunk_bars: int = 256,
    why: int = 50,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Replay each learned contender of ``config`` and time it (see the module docstring).

    Args:
        config: an arena config file.
        bars: use only the first ``bars`` bars of the data (None = all).
        chunk_bars: bars per chunk of the replay.
        why: deferred decisions per contender whose first ``why`` request is timed.
        only: names of the contenders to measure (None = every learned one).

    Returns:
        ``{"config", "bars", "symbols", "chunk_bars", "contenders": {name: figures}}``.
    """
    import tempfile
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
    out: dict[str, Any] = {
        "config": str(config), "bars": len(panel), "symbols": list(panel.symbols), "chunk_bars": chunk_bars,
        "contenders": {},
    }
    tmp = Path(tempfile.mkdtemp(prefix="ml-bench-"))
    for i, spec in enumerate(cfg.contenders):
        cls = resolve(spec.class_)
        if not issubclass(cls, LearnedContender) or (only and spec.name not in only):
            continue
        model = cls(seed=int(np.random.SeedSequence([cfg.seed, i]).generate_state(1)[0]), **spec.params)
        model.artifacts_dir = tmp / "artifacts" / "bench" / spec.name
        t0 = time.perf_counter()
        runner, res = replay_local(
            model, panel, capital_usd=cfg.capital, execution=execution, limits=limits, warmup_bars=spec.warmup_bars,
            chunk_bars=chunk_bars, run_id="bench", name=spec.name,
        )
        wall = time.perf_counter() - t0
        decisions = runner.drain_records().get("decisions", [])
        train = np.asarray(model.train_seconds)
        infer = np.asarray(model.predict_seconds) * 1e3
        explain = np.asarray(model.explain_seconds) * 1e3
        traded = max(len(panel) - spec.warmup_bars, 1)
        loop_ms = (wall - train.sum()) / traded * 1e3
        before = BEFORE_MS.get(spec.class_)
        calls = max(model.predict_calls, 1)
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
            "explain_ms": _pcts(explain),
            "bar_loop_ms": _r(loop_ms),
            "bar_loop_before_ms": before,
            "speedup": _r(before / loop_ms) if before else None,
            "predictions_per_call": {
                "bars": _r(model.predict_bars / calls),
                "rows": _r(model.predict_rows / calls),
                "calls": int(model.predict_calls),
            },
            "decisions": len(decisions),
            "eager_share": _r(1.0 - model.deferred / len(decisions)) if decisions else None,
            "on_demand_ms": _why_latency(tmp, spec.name, decisions, why, seed=i),
            "wall_s": _r(wall),
        }
    return out


def _pcts(ms: np.ndarray) -> dict[str, float] | None:
    if not len(ms):
        return None
    return {"p50": _r(np.percentile(ms, 50)), "mean": _r(ms.mean()), "p99": _r(np.percentile(ms, 99))}


def _why_latency(tmp: Path, name: str, decisions: list[dict[str, Any]], n: int, seed: int) -> dict[str, Any] | None:
    """First-request latency (ms) of ``GET /decisions/{id}/why`` for ``n`` random deferred decisions."""
    import datetime as dt

    from fastapi.testclient import TestClient

    from arena.store import DuckDBStore, RunRecord
    from contenders.ml.deferred import is_deferred
    from serve.api import create_app

    deferred = [d["decision_id"] for d in decisions if is_deferred(d["explanation_json"])]
    if not deferred or n < 1:
        return None
    path = tmp / f"{name}.duckdb"
    with DuckDBStore(path) as store:
        store.create_run(
            RunRecord(
                run_id="bench", name="ml-bench", config={"artifacts": str(tmp / "artifacts")}, data_source={},
                data_sha256="0" * 64, code_version="bench", seed=seed, started_at=dt.datetime.now(dt.UTC),
                symbols=tuple(sorted({s for d in decisions for s in d["symbols"]}) or ("-",)), periods_per_year=252.0,
            )
        )
        store.append("decisions", decisions)
    rng = np.random.default_rng(seed)
    picked = [str(x) for x in rng.choice(deferred, size=min(n, len(deferred)), replace=False)]
    first, again = [], []
    with TestClient(create_app(f"duckdb://{path}")) as client:
        for did in picked:
            t0 = time.perf_counter()
            r = client.get(f"/decisions/{did}/why")
            first.append((time.perf_counter() - t0) * 1e3)
            if r.status_code != 200 or is_deferred(r.json()["explanation"]):
                raise RuntimeError(f"why {did}: {r.status_code} {r.text[:200]}")
        for did in picked:
            t0 = time.perf_counter()
            client.get(f"/decisions/{did}/why")
            again.append((time.perf_counter() - t0) * 1e3)
    f = np.asarray(first)
    return {
        "n": len(f), "p50": _r(np.percentile(f, 50)), "p99": _r(np.percentile(f, 99)), "max": _r(f.max()),
        "cached_p50": _r(np.percentile(again, 50)),
    }


def _r(x: float) -> float:
    return round(float(x), 3)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default="configs/ml_daily.yaml")
    parser.add_argument("--bars", type=int, default=None, help="use only the first N bars")
    parser.add_argument("--chunk-bars", type=int, default=256, help="bars per replay chunk")
    parser.add_argument("--why", type=int, default=50, help="deferred decisions whose first why request is timed")
    parser.add_argument("--only", nargs="*", default=None, help="contender names to measure (default: all)")
    args = parser.parse_args(argv)
    out = measure(args.config, args.bars, args.chunk_bars, args.why, args.only)
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
