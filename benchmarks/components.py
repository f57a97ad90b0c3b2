"""Per-component costs of the hot path, without Ray, as JSON.

Run: ``python -m benchmarks.components``. Figures (best of 7 repeats, CPU time):

* ``ledger_on_bar_us``: one bar of 4 symbols, no working orders.
* ``vet_us``: the risk guardian vetting 1 and 8 orders (several rules cutting).
* ``runner_bars_per_s``: one contender's whole bar loop in process (contender +
  ledger + risk rules + audit rows) over the bundled daily US equities, per
  built-in contender, counting a bar as one symbol's OHLCV bar.
"""

from __future__ import annotations

import json
import time
import timeit

import numpy as np


def _best(fn, number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat, timer=time.process_time)) / number


def main() -> dict:
    from arena.data import SampleSource, to_panel
    from arena.risk import PortfolioState, RiskGuardian, RiskLimits
    from arena.local import replay_local
    from contenders import resolve
    from ledger import Ledger
    from ledger.types import OrderRequest

    out: dict = {}
    led = Ledger(("A", "B", "C", "D"), 10_000.0)
    row = np.array([100.0, 50.0, 20.0, 7.0])
    ts = iter(range(1, 10**9))
    out["ledger_on_bar_us"] = round(_best(lambda: led.on_bar(next(ts), row, row, row, row, row), 2000) * 1e6, 2)

    symbols = tuple(f"S{i}" for i in range(8))
    limits = RiskLimits(max_position_weight=0.2, max_gross_leverage=1.0, max_drawdown=0.3, daily_loss_limit=0.05,
                        sharpe_floor=0.0, sharpe_window_bars=63, estimated_cost_bps=5.0)
    returns = tuple(np.random.default_rng(1).normal(0.001, 0.01, 63).tolist())
    state = PortfolioState("perf", 0, 10_000.0, 2_000.0, 10_500.0, 10_100.0, {s: 10.0 for s in symbols},
                           {s: 100.0 for s in symbols}, returns)
    requests = [OrderRequest(s, target_weight=0.3 if i % 2 else 0.05) for i, s in enumerate(symbols)]
    guardian = RiskGuardian(limits)
    out["vet_us"] = {str(n): round(_best(lambda n=n: guardian.vet(state, requests[:n]), 300) * 1e6, 2) for n in (1, 8)}

    panel = to_panel(SampleSource("us_equities_daily").load())
    bars = len(panel) * len(panel.symbols)
    per = {}
    for name in ("buy_and_hold", "sma_crossover", "rsi_mean_reversion", "momentum"):
        secs = _best(lambda name=name: replay_local(resolve(name)(), panel), 1, repeat=5)
        per[name] = round(bars / secs)
    out["runner_bars_per_s"] = per
    out["runner_bars"] = bars
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
