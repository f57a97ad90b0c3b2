"""Replay benchmark: start-up, throughput, paced latency and peak memory, as JSON.

Run: ``python -m benchmarks.replay`` (``make bench``). Figures:

* ``startup_s``: from the call to the first bar (Ray start, data load, actors ready).
* ``events_per_s``: bar·contender events per second excluding start-up, where a
  bar is one symbol's OHLCV bar; measured through the whole pipeline (fan-out,
  contender, ledger, risk guardian, audit store).
* ``latency_ms``: paced mode, p50/p99 from a bar's publication to its vetted
  order (a contender that orders on every bar).
* ``kill_switch``: paced mode, the delay from ``arena kill-switch`` (the guardian
  issuing the control) to the contender applying it, and the bars from then to the
  first ``ARENA_KILL_SWITCH`` denial.
* ``peak_rss_mb``: peak resident memory of this benchmark's processes: the driver
  and its descendants (the Ray it started: GCS, raylet, workers), not other Ray
  sessions on the machine.
* ``leaderboard_s``: the driver's leaderboard and PBO work, reported apart from the
  throughput figures.
* ``sweep``: 64 SMA contenders (a parameter grid), 16 per actor process
  (``contenders[].process``): start-up, throughput and peak memory.
* ``warm_start``: start-up to the first bar when Ray already runs (``arena up``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent


class _PeakRss:
    """Samples the summed RSS of this process and its descendants (the local Ray it started)."""

    def __init__(self, period_s: float = 0.05) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, args=(period_s,), daemon=True)

    def _run(self, period_s: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(period_s)

    def __enter__(self) -> "_PeakRss":
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def _config(store_dir: Path, contenders: list[dict], **over):
    from arena.config import parse_config

    raw = {
        "name": "bench",
        "data": {"source": "sample", "name": over.pop("sample", "us_equities_daily")},
        "capital": 10_000,
        "seed": 0,
        "contenders": contenders,
        "store": f"duckdb://{store_dir / (str(time.time_ns()) + '.duckdb')}",
    }
    raw.update(over)
    return parse_config(raw)


WARMUP_BARS = 20  # first paced bars: worker code still loading (reported separately)

EIGHT = [
    {"name": "bench", "class": "buy_and_hold"},
    {"name": "sma_10_30", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}},
    {"name": "sma_20_50", "class": "sma_crossover", "params": {"fast": 20, "slow": 50}},
    {"name": "sma_50_200", "class": "sma_crossover", "params": {"fast": 50, "slow": 200}},
    {"name": "rsi_14", "class": "rsi_mean_reversion"},
    {"name": "rsi_7", "class": "rsi_mean_reversion", "params": {"period": 7}},
    {"name": "mom_63", "class": "momentum", "params": {"lookback": 63}},
    {"name": "mom_126", "class": "momentum", "params": {"lookback": 126}},
]


def _throughput(store_dir: Path, contenders: list[dict]) -> dict:
    from arena.topology import run_arena

    cfg = _config(store_dir, contenders)
    res = run_arena(cfg)
    board_s = res.timings_s["leaderboard"]
    s = res.timings_s["stream"] + res.timings_s["finish"] - board_s
    n_symbols = len(_symbols(cfg))
    bars = res.n_bars * n_symbols
    vet_s = sum(c["timings_s"]["vet"] for c in res.contenders.values())
    vets = sum(c["n_decisions"] for c in res.contenders.values())
    return {
        "contenders": len(contenders),
        "timestamps": res.n_bars,
        "symbols": n_symbols,
        "bars": bars,
        "seconds_excl_startup": round(s, 4),
        "startup_s": round(res.timings_s["startup"], 3),
        "bars_per_s": round(bars / s),
        "events_per_s": round(bars * len(contenders) / s),
        "leaderboard_s": round(board_s, 3),
        "vetted_decisions": vets,
        "vet_s": round(vet_s, 3),
        "vet_us": round(vet_s / vets * 1e6, 1) if vets else None,
        "guardian_audit_busy_s": round(res.timings_s["guardian_busy"], 3),
        "audited_verdicts": res.guardian["audited_verdicts"],
        "mismatches": res.guardian["mismatches"],
    }


def _symbols(cfg) -> list[str]:
    from arena.data import source_from_spec

    return sorted(source_from_spec(cfg.data.model_dump()).load()["symbol"].unique())


def _latency(store_dir: Path, n_bars: int, interval_s: float) -> dict:
    from arena.topology import run_arena

    cfg = _config(
        store_dir,
        [{"name": "every_bar", "class": "benchmarks.bench_contenders:RebalanceEveryBar"}],
        replay={"mode": "paced", "bar_interval_s": interval_s},
        data={"source": "synthetic", "symbols": ["A", "B", "C", "D"], "n_bars": n_bars, "seed": 1},
    )
    res = run_arena(cfg)
    lat = np.asarray(res.contenders["every_bar"]["latencies_ns"]) / 1e6
    warm = lat[WARMUP_BARS:]
    return {
        "bars": int(lat.size),
        "bar_interval_s": interval_s,
        "warmup_bars_excluded": WARMUP_BARS,
        "p50_ms": round(float(np.percentile(warm, 50)), 3),
        "p99_ms": round(float(np.percentile(warm, 99)), 3),
        "max_ms": round(float(warm.max()), 3),
        "including_warmup": {
            "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p99_ms": round(float(np.percentile(lat, 99)), 3),
            "max_ms": round(float(lat.max()), 3),
        },
    }


def _kill_switch_delay(store_dir: Path, interval_s: float, trip_after_s: float = 2.0) -> dict:
    """Trip the kill switch of a paced run from another thread (as ``arena kill-switch``
    does) and measure how long the guardian's push took to apply, and the bars to the
    first denial."""
    from arena.control import trip_kill_switch
    from arena.topology import run_arena

    cfg = _config(
        store_dir,
        [{"name": "every_bar", "class": "benchmarks.bench_contenders:RebalanceEveryBar"}],
        replay={"mode": "paced", "bar_interval_s": interval_s},
        data={"source": "synthetic", "symbols": ["A", "B", "C", "D"], "n_bars": int(2 * trip_after_s / interval_s),
              "seed": 1},
    )
    box: dict = {}
    run_id = f"kill-{time.time_ns()}"
    runner = threading.Thread(target=lambda: box.update(res=run_arena(cfg, run_id=run_id)))
    t0 = time.time()
    runner.start()
    from arena.control import running_arenas

    while run_id not in running_arenas() and time.time() - t0 < 60:
        time.sleep(0.05)
    time.sleep(trip_after_s)
    tripped = trip_kill_switch("benchmark drill", run_id)
    runner.join()
    res = box["res"]
    delays = res.contenders["every_bar"]["control_delays_ns"]
    applied_ns = res.contenders["every_bar"]["control_bars_ns"]
    import duckdb

    con = duckdb.connect(cfg.store.removeprefix("duckdb://"), read_only=True)
    first = con.execute(
        "SELECT min(epoch_us(ts)) FROM risk_verdicts WHERE run_id = ? AND reasons_json LIKE '%ARENA_KILL_SWITCH%'",
        [res.run_id],
    ).fetchone()[0]
    con.close()
    ts = res.contenders["every_bar"]["ts_ns"]
    denied = [] if first is None else [int(first) * 1000]
    bar = {int(t): i for i, t in enumerate(ts)}
    return {
        "tripped": tripped,
        "bar_interval_s": interval_s,
        "trip_to_applied_ms": round(delays[0] / 1e6, 3) if delays else None,
        "applied_at_bar": bar.get(applied_ns[0]) if applied_ns else None,
        "first_denial_bar": bar.get(denied[0]) if denied else None,
        "mismatches": res.guardian["mismatches"],
    }


def _many(store_dir: Path, n: int, per_process: int | None) -> dict:
    """``n`` SMA contenders (a parameter sweep) on the bundled daily bars; with
    ``per_process``, that many share one actor process (config ``process``)."""
    from arena.topology import run_arena

    contenders = [
        {"name": f"sma_{i:02d}", "class": "sma_crossover", "params": {"fast": 5 + i % 8, "slow": 30 + 5 * (i // 8)},
         **({} if per_process is None else {"process": f"p{i // per_process}"})}
        for i in range(n)
    ]
    with _PeakRss() as rss:
        res = run_arena(_config(store_dir, contenders))
    s = res.timings_s["stream"] + res.timings_s["finish"] - res.timings_s["leaderboard"]
    bars = res.n_bars * len(_symbols(_config(store_dir, contenders[:1])))
    return {
        "contenders": n,
        "contenders_per_process": per_process or 1,
        "processes": n if per_process is None else -(-n // per_process),
        "startup_s": round(res.timings_s["startup"], 3),
        "seconds_excl_startup": round(s, 3),
        "leaderboard_s": round(res.timings_s["leaderboard"], 3),
        "events_per_s": round(bars * n / s),
        "status": res.status,
        "peak_rss_mb": round(rss.peak / 2**20, 1),
    }


def _warm_start(store_dir: Path) -> dict:
    """Start-up to the first bar when Ray already runs: a head of ``arena up`` (in a
    private ARENA_HOME), two runs of one SMA contender connected to it."""
    import ray

    from arena import cluster
    from arena.topology import run_arena

    home = store_dir / "arena-home"
    os.environ["ARENA_HOME"] = str(home)
    t0 = time.perf_counter()
    cluster.up(num_cpus=32, port=6396)
    up_s = time.perf_counter() - t0
    try:
        runs = []
        for _ in range(2):
            t1 = time.perf_counter()
            res = run_arena(_config(store_dir, [EIGHT[1]]))
            runs.append({"connect_and_startup_s": round(time.perf_counter() - t1 - res.timings_s["stream"]
                                                        - res.timings_s["finish"], 3),
                         "startup_s": round(res.timings_s["startup"], 3)})
            ray.shutdown()
    finally:
        cluster.down()
    return {"arena_up_s": round(up_s, 3), "runs": runs}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paced-bars", type=int, default=500)
    ap.add_argument("--interval-s", type=float, default=0.01)
    ap.add_argument("--many", type=int, default=64, help="contenders of the sweep run")
    ap.add_argument("--per-process", type=int, default=16, help="sweep contenders sharing one actor process")
    args = ap.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    import ray

    with tempfile.TemporaryDirectory() as tmp, _PeakRss() as rss:
        d = Path(tmp)
        t0 = time.perf_counter()
        from arena.topology import ensure_ray

        ensure_ray(_config(d, EIGHT))
        ray_init_s = time.perf_counter() - t0
        one = _throughput(d, [EIGHT[1]])
        eight = _throughput(d, EIGHT)
        latency = _latency(d, args.paced_bars, args.interval_s)
        kill = _kill_switch_delay(d, args.interval_s)
        many = _many(d, args.many, args.per_process)
        ray.shutdown()
        warm = _warm_start(d)
    out = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "ray": ray.__version__},
        "ray_init_s": round(ray_init_s, 3),
        "startup_s": round(ray_init_s + one["startup_s"], 3),
        "one_sma": one,
        "eight_rule_contenders": eight,
        "paced_latency": latency,
        "kill_switch": kill,
        "sweep": many,
        "warm_start": warm,
        "eight_vs_one_events_ratio": round(eight["events_per_s"] / one["events_per_s"], 3),
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        "targets": {"eight_vs_one_events_ratio": 1.6, "startup_s_cold": 6.0, "startup_s_warm": 3.0, "p99_ms": 2.0,
                    "sweep_startup_s": 15.0},
    }
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
