"""Peer benchmark: this arena against backtesting.py on the same bars and the same strategy, as JSON.

Run: ``python -m benchmarks.peers [--repeats N] [--quick]`` (first line of ``make bench``).
Exits 1 when the two disagree on any trade of any data set.

What is measured
----------------
One strategy, an SMA(10/30) crossover of the close, long-only: all in on a cross up,
flat on a cross down, a cross being ``fast[t-1] < slow[t-1] and fast[t] > slow[t]``
(``backtesting.lib.crossover``). Here it is the arena's built-in ``sma_crossover``;
in backtesting.py (the installed version, 0.6.x) it is the classic ``SmaCross``
(``backtesting.test.SMA`` indicators, ``self.buy()`` on a cross up,
``self.position.close()`` on a cross down). Throughput is in **bars per second**,
a bar being one symbol's OHLCV bar (timestamps × symbols), wall clock
(``time.perf_counter``), per path:

* ``backtesting_py``: ``Backtest(df, SmaCross, ...)`` plus ``.run()`` (its statistics
  included), one backtest per symbol (backtesting.py is single-asset): a set's time is
  the sum over its symbols.
* ``in_process``: ``arena.local.replay_local`` (no Ray; the same runner, ledger and
  risk rules as on Ray), one contender on all the set's symbols, contender built inside
  the timed part.
* ``ray_excl_startup``: ``arena.topology.run_arena`` end to end from the first bar to
  the result, recording into a fresh DuckDB file in a temp folder
  (``RunResult.timings_s["stream"] + ["finish"]``).
* ``ray_incl_startup``: the same run including its start-up (actors, data load and
  validation: ``timings_s["startup"]``). Ray itself is started once per benchmark
  process (``ray.init(num_cpus=2, include_dashboard=False, namespace="model-arena",
  configure_logging=False)``, with ``address="local"`` so that it never joins another
  instance running on the machine); that cost is ``ray_init_s``, reported once and in no
  path's figure.

Preparing the inputs (loading/generating bars, the pandas frames backtesting.py takes,
the arena's ``Panel``, the Parquet file the Ray runs read) is outside every timed part.
Each repeat runs the paths in turn (backtesting.py, in-process, Ray; then again), so
slow drifts of the machine (other jobs) hit every path alike; figures are medians of
the repeats, ``ratio`` is a path's bars/s over backtesting.py's on the same set, and
``noise`` gives each path's relative spread of the repeats, ``(max − min) / median``
of the seconds.

Data sets: the bundled daily US equities (``{source: sample, name: us_equities_daily}``,
2,135 timestamps) with MSFT only (the Ray run streams all four symbols and the
contender trades ``symbols: [MSFT]``) and with all four symbols; seeded synthetic
minute bars (``arena.data.SyntheticSource``, ``freq="1min"``, zero drift, 0.05 % per-bar
volatility so that prices stay near 100 USD over a million bars), 1 symbol × 1,000,000
bars and 10 symbols × 100,000 bars, written to Parquet for the Ray runs
(``{source: parquet, path: ...}``).

Conventions aligned
-------------------
* Fills at the next bar's open: ``trade_on_close=False`` there, ``fill_price: next_open``
  here; no costs: ``commission=0, spread=0`` there, ``commission_bps: 0, slippage_bps: 0``
  here; ``exclusive_orders=False`` and ``finalize_trades=False`` there (exactly the
  settings of ``tests/ledger/test_ledger_backtesting_crosscheck.py``); whole shares.
* Sizing: backtesting.py's ``buy()`` from flat takes ``int(cash × (1 − 2⁻⁵²) // open)``
  units, the arena's target weight ``w`` from flat takes ``floor(w × equity / open)``
  whole shares; with one symbol ``w = 1`` and equity = cash, so the two agree.
* Risk limits permissive: ``max_position_weight 1, max_gross_leverage 1,
  max_drawdown 1`` (no drawdown kill), no daily-loss limit, no Sharpe floor.
* Capital: 10,000 USD for single-symbol sets. Multi-symbol sets use 1,000,000 USD,
  because the arena contender splits its capital equally (``w = 1/S`` per symbol)
  and ``0.25 × 10,000`` USD does not buy one unit of the NASDAQ Composite (≈ 7,000);
  each of backtesting.py's per-symbol backtests gets the same capital.
* Multi-symbol sets: one arena contender trades all symbols from one pooled account
  (``floor(equity / S / open)`` shares, equity including the other symbols'
  positions), while backtesting.py runs one isolated all-in account per symbol, so
  their share counts differ by construction. For those sets the timed paths are
  compared with backtesting.py on symbol, entry and exit timestamps and prices (not
  quantity), and quantities are checked separately (untimed, once) by
  ``replay_local`` of each symbol alone with the set's capital against that symbol's
  backtest; the Ray run is also compared with the in-process run in full (quantities
  included).
* End of data: backtesting.py with ``finalize_trades=False`` leaves the last position
  open, out of ``stats._trades``, and so does the arena (``closed_trades``). Closed
  trades are compared one to one; a position still open at the end is compared as an
  entry only (backtesting.py's ``stats._strategy.trades`` against the arena's last
  unmatched BUY fill).
* Equality: timestamps exact (backtesting.py's bar index mapped to the bar's
  timestamp), quantities exact, prices to 1e-9 relative.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar (read when tqdm is imported)

ROOT = Path(__file__).resolve().parent.parent
FAST, SLOW = 10, 30
PRICE_RTOL = 1e-9
EXECUTION = {"fill_price": "next_open", "commission_bps": 0.0, "slippage_bps": 0.0, "sizing": "whole_shares"}
RISK = {"max_position_weight": 1.0, "max_gross_leverage": 1.0, "max_drawdown": 1.0}
TARGETS = {"ray_excl_startup_ratio": 2.0, "in_process_ratio": 3.0}
PATHS = ("in_process", "ray_excl_startup", "ray_incl_startup")
CONTENDER = "sma"


@dataclass(frozen=True)
class DataSet:
    """One data set of the benchmark.

    Attributes:
        name: key in the output's ``sets``.
        kind: ``"sample"`` (the bundled ``us_equities_daily``) or ``"synthetic"`` (minute bars).
        symbols: sample: the symbols traded (None = all); synthetic: the symbol names.
        n_bars: synthetic only: bars per symbol.
        capital_usd: starting cash of the arena contender and of each backtest, USD.
        seed: synthetic only: generator seed.
    """

    name: str
    kind: str
    symbols: tuple[str, ...] | None
    n_bars: int = 0
    capital_usd: float = 10_000.0
    seed: int = 7


def default_sets(quick: bool = False) -> list[DataSet]:
    """The benchmark's data sets; ``quick``: two small ones (daily MSFT, 3 × 3,000 minute bars)."""
    if quick:
        return [
            DataSet("us_equities_msft", "sample", ("MSFT",)),
            DataSet("synthetic_3x3k_min", "synthetic", ("S00", "S01", "S02"), 3_000, 1_000_000.0),
        ]
    return [
        DataSet("us_equities_msft", "sample", ("MSFT",)),
        DataSet("us_equities_4", "sample", None, capital_usd=1_000_000.0),
        DataSet("synthetic_1x1m_min", "synthetic", ("SYN",), 1_000_000),
        DataSet("synthetic_10x100k_min", "synthetic", tuple(f"S{i:02d}" for i in range(10)), 100_000, 1_000_000.0),
    ]


@dataclass
class Prepared:
    """A data set's inputs, built outside every timed part.

    Attributes:
        ds: the set.
        panel: the arena's panel of the traded symbols.
        frames: symbol → backtesting.py's frame (``Open, High, Low, Close, Volume``).
        data_spec: the Ray run's data spec.
        contender_symbols: the Ray contender's ``symbols`` (None = all of the data).
        bars: timestamps × traded symbols.
    """

    ds: DataSet
    panel: Any
    frames: dict[str, pd.DataFrame]
    data_spec: dict[str, Any]
    contender_symbols: list[str] | None
    bars: int = 0


class Trade(NamedTuple):
    """One round trip, or an entry still open at the end (``exit_ts_ns == -1``, ``exit_price`` NaN)."""

    symbol: str
    entry_ts_ns: int
    exit_ts_ns: int
    quantity: float
    entry_price: float
    exit_price: float


def prepare(ds: DataSet, tmp: Path) -> Prepared:
    """Load or generate a set's bars and build every path's inputs (a Parquet file in
    ``tmp`` for synthetic sets).

    Raises:
        ValueError: an unknown ``ds.kind``.
    """
    from arena.data import SampleSource, SyntheticSource, to_panel

    if ds.kind == "sample":
        bars = SampleSource("us_equities_daily").load()
        if ds.symbols is not None:
            bars = bars[bars["symbol"].isin(ds.symbols)].reset_index(drop=True)
        spec: dict[str, Any] = {"source": "sample", "name": "us_equities_daily"}
        contender_symbols = list(ds.symbols) if ds.symbols is not None else None
    elif ds.kind == "synthetic":
        assert ds.symbols is not None
        bars = SyntheticSource(
            ds.symbols, n_bars=ds.n_bars, freq="1min", seed=ds.seed, start="2024-01-01",
            drift_per_bar=0.0, volatility_per_bar=0.0005,
        ).load()
        path = tmp / f"{ds.name}.parquet"
        bars.to_parquet(path, index=False)
        spec = {"source": "parquet", "path": str(path)}
        contender_symbols = None
    else:
        raise ValueError(f"unknown data set kind {ds.kind!r}")
    panel = to_panel(bars)
    del bars
    frames = {}
    index = pd.DatetimeIndex(panel.timestamps.view("datetime64[ns]"), name="Date")
    for j, sym in enumerate(panel.symbols):
        frames[sym] = pd.DataFrame(
            {k.title(): np.array(getattr(panel, k)[:, j]) for k in ("open", "high", "low", "close", "volume")},
            index=index,
        )
    return Prepared(ds, panel, frames, spec, contender_symbols, bars=len(panel) * len(panel.symbols))


# --- backtesting.py -------------------------------------------------------------------------


def _strategy() -> type:
    """backtesting.py's classic ``SmaCross``, long-only: buy all in on a cross up, close on a cross down."""
    from backtesting import Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        n1 = FAST
        n2 = SLOW

        def init(self) -> None:
            self.sma1 = self.I(SMA, self.data.Close, self.n1)
            self.sma2 = self.I(SMA, self.data.Close, self.n2)

        def next(self) -> None:
            if crossover(self.sma1, self.sma2):
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()

    return SmaCross


def run_backtesting(frame: pd.DataFrame, symbol: str, capital_usd: float) -> tuple[float, list[Trade]]:
    """One backtesting.py backtest of ``frame``.

    Returns:
        ``(seconds, trades)``: wall seconds of ``Backtest(...)`` and ``.run()``; its closed
        trades (``stats._trades``) then the trade still open at the end, if any.
    """
    from backtesting import Backtest

    strategy = _strategy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        bt = Backtest(frame, strategy, cash=capital_usd, commission=0.0, spread=0.0, exclusive_orders=False,
                      trade_on_close=False, finalize_trades=False)
        stats = bt.run()
        seconds = time.perf_counter() - t0
    ts = frame.index.asi8
    closed = stats["_trades"]
    trades = [
        Trade(symbol, int(ts[e]), int(ts[x]), float(q), float(pe), float(px))
        for e, x, q, pe, px in zip(closed["EntryBar"], closed["ExitBar"], closed["Size"], closed["EntryPrice"],
                                   closed["ExitPrice"])
    ]
    trades += [Trade(symbol, int(ts[t.entry_bar]), -1, float(t.size), float(t.entry_price), math.nan)
               for t in stats["_strategy"].trades]
    return seconds, trades


def time_backtesting(prep: Prepared) -> tuple[float, list[Trade]]:
    """backtesting.py on every symbol of the set, one backtest each: summed seconds, all trades."""
    total, trades = 0.0, []
    for sym, frame in prep.frames.items():
        s, t = run_backtesting(frame, sym, prep.ds.capital_usd)
        total += s
        trades += t
    return total, trades


# --- the arena ------------------------------------------------------------------------------


def arena_trades(result: dict[str, Any]) -> list[Trade]:
    """Trades of an arena result (``replay_local``'s dict or a Ray run's ``contenders[name]``):
    its ``closed_trades``, then per symbol the BUY fill of a position still open at the end."""
    trades = [
        Trade(t["symbol"], int(t["entry_ts_ns"]), int(t["exit_ts_ns"]), float(t["quantity"]),
              float(t["entry_price"]), float(t["exit_price"]))
        for t in result["closed_trades"]
    ]
    net: dict[str, float] = {}
    last_buy: dict[str, dict[str, Any]] = {}
    for f in result["fills"]:
        sign = 1.0 if str(f["side"]).upper() == "BUY" else -1.0
        net[f["symbol"]] = net.get(f["symbol"], 0.0) + sign * float(f["quantity"])
        if sign > 0:
            last_buy[f["symbol"]] = f
    for sym in sorted(net):
        if net[sym] > 0:
            f = last_buy[sym]
            trades.append(Trade(sym, int(f["ts"]), -1, net[sym], float(f["price"]), math.nan))
    return trades


def _limits(panel: Any) -> Any:
    from arena.metrics import periods_per_year
    from arena.risk import RiskLimits

    return RiskLimits(**RISK, periods_per_year=periods_per_year(panel.timestamps))


def run_in_process(panel: Any, capital_usd: float) -> tuple[float, dict[str, Any]]:
    """``replay_local`` of a new ``sma_crossover(10, 30)`` on ``panel``, in chunks of the size a Ray
    run with the default replay settings uses: ``(seconds, result dict)``."""
    from arena.config import ReplaySettings, auto_chunk_bars
    from arena.local import replay_local
    from contenders.registry import resolve
    from ledger import ExecutionConfig

    execution = ExecutionConfig(**EXECUTION)
    limits = _limits(panel)
    cls = resolve("sma_crossover")
    chunk = ReplaySettings().chunk_bars or auto_chunk_bars(len(panel))  # as the Ray run chunks it
    t0 = time.perf_counter()
    _, result = replay_local(cls(fast=FAST, slow=SLOW), panel, capital_usd=capital_usd, execution=execution,
                             limits=limits, name=CONTENDER, chunk_bars=chunk)
    return time.perf_counter() - t0, result


def ray_config(prep: Prepared, store_dir: Path) -> Any:
    """The Ray run's validated config: one ``sma_crossover(10, 30)``, fresh DuckDB file, no artifacts."""
    from arena.config import parse_config

    contender: dict[str, Any] = {"name": CONTENDER, "class": "sma_crossover", "params": {"fast": FAST, "slow": SLOW}}
    if prep.contender_symbols is not None:
        contender["symbols"] = prep.contender_symbols
    return parse_config({
        "name": "peers",
        "data": prep.data_spec,
        "capital": prep.ds.capital_usd,
        "seed": 0,
        "execution": EXECUTION,
        "risk": RISK,
        "contenders": [contender],
        "store": f"duckdb://{store_dir / (uuid.uuid4().hex + '.duckdb')}",
        "artifacts": None,
    })


def run_ray(prep: Prepared, store_dir: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """``run_arena`` of the set on the running Ray: ``(timings_s, the contender's result)``;
    its DuckDB file is removed afterwards."""
    from arena.topology import run_arena

    cfg = ray_config(prep, store_dir)
    res = run_arena(cfg)
    if res.status != "finished" or CONTENDER not in res.contenders:
        raise RuntimeError(f"Ray run {res.run_id} ended {res.status!r} with contenders {list(res.contenders)}")
    for p in store_dir.glob("*.duckdb*"):
        p.unlink(missing_ok=True)
    return dict(res.timings_s), res.contenders[CONTENDER]


def start_ray() -> float | None:
    """Start one local Ray for this process (2 logical CPUs, no dashboard; a new instance even
    when another one runs on the machine); seconds taken, or None when this process was
    already connected (e.g. a test session's Ray)."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    if ray.is_initialized():
        return None
    t0 = time.perf_counter()
    # address="local": a fresh local instance, never another one found running on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, namespace="model-arena", configure_logging=False)
    return time.perf_counter() - t0


# --- comparison -----------------------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= PRICE_RTOL * max(abs(a), abs(b))


def compare_trades(mine: Sequence[Trade], theirs: Sequence[Trade], *, quantities: bool = True,
                   labels: tuple[str, str] = ("arena", "backtesting_py")) -> str | None:
    """First difference between two trade lists (each sorted by symbol, then entry time), or None.

    Timestamps and (when ``quantities``) quantities must be equal, prices equal to 1e-9 relative.
    """
    a = sorted(mine, key=lambda t: (t.symbol, t.entry_ts_ns))
    b = sorted(theirs, key=lambda t: (t.symbol, t.entry_ts_ns))
    for i, (x, y) in enumerate(zip(a, b)):
        same = (x.symbol == y.symbol and x.entry_ts_ns == y.entry_ts_ns and x.exit_ts_ns == y.exit_ts_ns
                and (not quantities or x.quantity == y.quantity)
                and _close(x.entry_price, y.entry_price) and _close(x.exit_price, y.exit_price))
        if not same:
            return f"trade {i}: {labels[0]} {_show(x)} vs {labels[1]} {_show(y)}"
    if len(a) != len(b):
        n = min(len(a), len(b))
        extra, name = (a[n], labels[0]) if len(a) > n else (b[n], labels[1])
        return f"{labels[0]} has {len(a)} trades, {labels[1]} {len(b)}; first extra, in {name}: {_show(extra)}"
    return None


def _show(t: Trade) -> dict[str, Any]:
    def when(ns: int) -> str | None:
        return None if ns < 0 else pd.Timestamp(ns, tz="UTC").isoformat()

    return {"symbol": t.symbol, "entry": when(t.entry_ts_ns), "exit": when(t.exit_ts_ns), "quantity": t.quantity,
            "entry_price": t.entry_price, "exit_price": None if math.isnan(t.exit_price) else t.exit_price}


def per_symbol_check(prep: Prepared, bt_trades: Sequence[Trade]) -> str | None:
    """Untimed: ``replay_local`` of each symbol alone (the set's capital, all in) against that
    symbol's backtest, quantities included; the first difference or None."""
    from arena.data import Panel

    p = prep.panel
    for j, sym in enumerate(p.symbols):
        one = Panel(p.timestamps, (sym,), *(np.array(getattr(p, f)[:, j : j + 1])
                                            for f in ("open", "high", "low", "close", "volume")))
        _, res = run_in_process(one, prep.ds.capital_usd)
        diff = compare_trades(arena_trades(res), [t for t in bt_trades if t.symbol == sym],
                              labels=(f"arena[{sym} alone]", "backtesting_py"))
        if diff:
            return diff
    return None


# --- the benchmark --------------------------------------------------------------------------


def _figures(bars: int, seconds: list[float], ref_bars_per_s: float | None = None) -> dict[str, Any]:
    med = statistics.median(seconds)
    out: dict[str, Any] = {
        "bars_per_s": round(bars / med, 1),
        "seconds_median": round(med, 4),
        "seconds_all": [round(s, 4) for s in seconds],
    }
    if ref_bars_per_s is not None:
        out["ratio"] = round(bars / med / ref_bars_per_s, 4)
    return out


def _spread(seconds: list[float]) -> float:
    return round((max(seconds) - min(seconds)) / statistics.median(seconds), 4)


def _log(verbose: bool, msg: str) -> None:
    if verbose:
        print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def bench_set(prep: Prepared, repeats: int, store_dir: Path, with_ray: bool = True,
              verbose: bool = False) -> dict[str, Any]:
    """Time one prepared set ``repeats`` times, paths in turn, and check the trades
    (``verbose``: one progress line per repeat on stderr).

    Returns:
        The set's entry of the output (``bars``, per-path figures, ``same_trades``,
        ``first_difference`` when they differ, ``trades``, ``open_at_end``, ``noise``).
    """
    multi = len(prep.panel.symbols) > 1
    secs: dict[str, list[float]] = {"backtesting_py": [], **{p: [] for p in PATHS if with_ray or p == "in_process"}}
    diff: str | None = None
    bt_ref: list[Trade] = []
    startup: list[float] = []
    for r in range(repeats):
        gc.collect()
        s, bt = time_backtesting(prep)
        secs["backtesting_py"].append(s)
        if r == 0:
            bt_ref = bt
        diff = diff or compare_trades(bt, bt_ref, labels=("backtesting_py", f"backtesting_py repeat {r}"))
        gc.collect()
        s, res = run_in_process(prep.panel, prep.ds.capital_usd)
        secs["in_process"].append(s)
        local = arena_trades(res)
        del res
        diff = diff or compare_trades(local, bt_ref, quantities=not multi, labels=("in_process", "backtesting_py"))
        if with_ray:
            gc.collect()
            timings, ray_res = run_ray(prep, store_dir)
            startup.append(timings["startup"])
            secs["ray_excl_startup"].append(timings["stream"] + timings["finish"])
            secs["ray_incl_startup"].append(timings["startup"] + timings["stream"] + timings["finish"])
            on_ray = arena_trades(ray_res)
            del ray_res
            diff = (diff or compare_trades(on_ray, bt_ref, quantities=not multi, labels=("ray", "backtesting_py"))
                    or compare_trades(on_ray, local, labels=("ray", "in_process")))
        _log(verbose, f"{prep.ds.name} repeat {r + 1}/{repeats}: "
             + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in secs.items()) + ("" if diff is None else f"; {diff}"))
    if multi:
        diff = diff or per_symbol_check(prep, bt_ref)
    ref = prep.bars / statistics.median(secs["backtesting_py"])
    out: dict[str, Any] = {
        "bars": prep.bars,
        "timestamps": len(prep.panel),
        "symbols": len(prep.panel.symbols),
        "capital_usd": prep.ds.capital_usd,
        "backtesting_py": _figures(prep.bars, secs["backtesting_py"]),
    }
    for p in PATHS:
        if p in secs:
            out[p] = _figures(prep.bars, secs[p], ref)
    if startup:
        out["ray_startup_s_median"] = round(statistics.median(startup), 3)
    out["same_trades"] = diff is None
    if diff is not None:
        out["first_difference"] = diff
    out["trades"] = sum(1 for t in bt_ref if t.exit_ts_ns >= 0)
    out["open_at_end"] = sum(1 for t in bt_ref if t.exit_ts_ns < 0)
    if multi:
        out["quantities_checked"] = "per symbol alone (untimed replay_local vs each backtest); pooled runs: " \
                                    "timestamps and prices"
    out["noise"] = {k: _spread(v) for k, v in secs.items()}
    return out


def machine() -> dict[str, Any]:
    """CPUs, load, Python and the versions of the packages that matter."""
    from importlib.metadata import PackageNotFoundError, version

    from arena.provenance import code_version

    versions = {}
    for pkg in ("backtesting", "ray", "numpy", "pandas", "duckdb", "pyarrow"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu_model,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "versions": versions,
        "code_version": code_version(),
    }


def run(sets: Sequence[DataSet], repeats: int, *, with_ray: bool = True, verbose: bool = False) -> dict[str, Any]:
    """The whole benchmark: every set prepared, timed and checked (Ray started once if needed;
    ``verbose``: progress lines on stderr).

    Returns:
        The output document (see ``main``).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    doc: dict[str, Any] = {"machine": machine(), "repeats": repeats}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        d = Path(tmp)
        if with_ray:
            init_s = start_ray()
            doc["ray_init_s"] = None if init_s is None else round(init_s, 3)
            doc["ray_note"] = (
                "one local Ray per benchmark process: ray.init(num_cpus=2, include_dashboard=False, "
                "namespace='model-arena', configure_logging=False); ray_init_s is in no path's figure"
                if init_s is not None else "Ray was already running (not started by the benchmark)")
        results: dict[str, Any] = {}
        for ds in sets:
            t0 = time.perf_counter()
            prep = prepare(ds, d)
            prep_s = time.perf_counter() - t0
            _log(verbose, f"{ds.name}: {prep.bars:,} bars prepared in {prep_s:.1f} s")
            results[ds.name] = bench_set(prep, repeats, d, with_ray=with_ray, verbose=verbose)
            results[ds.name]["prepare_s"] = round(prep_s, 3)
            del prep
            gc.collect()
    doc["sets"] = results
    doc["targets"] = dict(TARGETS)
    doc["noise"] = {
        "relative_spread": "(max - min) / median of a path's seconds over the repeats",
        "per_set": {name: r["noise"] for name, r in results.items()},
        "max": max((v for r in results.values() for v in r["noise"].values()), default=0.0),
    }
    doc["same_trades"] = all(r["same_trades"] for r in results.values())
    doc["wall_s"] = round(time.perf_counter() - t_all, 1)
    return doc


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the arguments, run the benchmark, print its JSON document and return it.

    Output: ``{"machine", "repeats", "ray_init_s", "sets": {name: {"bars",
    "backtesting_py": {"bars_per_s", "seconds_median", "seconds_all"}, "in_process",
    "ray_excl_startup", "ray_incl_startup" (each also with "ratio"), "same_trades",
    "trades", ...}}, "targets", "noise", "same_trades"}``.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=None, help="repeats per set (default 5; 2 with --quick)")
    ap.add_argument("--quick", action="store_true", help="small sets, for a smoke test")
    ap.add_argument("--no-ray", action="store_true", help="only backtesting.py and the in-process path")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    doc = run(default_sets(args.quick), repeats, with_ray=not args.no_ray, verbose=not args.quiet)
    if not args.no_ray:
        import ray

        ray.shutdown()
    print(json.dumps(doc, indent=2))
    return doc


if __name__ == "__main__":
    sys.exit(0 if main()["same_trades"] else 1)
