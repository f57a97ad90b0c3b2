"""The live demo's market: bundled bars served as a live Alpaca feed, on loopback.

``python -m arena.data.alpaca.demo`` starts :class:`arena.data.alpaca.sim.AlpacaMarketSim`
with the bars of a bundled data set (default ``us_equities_daily``, GOOGL and MSFT),
relabelled one bar per minute from ``--start`` (the prices are the data set's, in its order;
the minute time stamps are the demo's: the stream sends minute bars). The first ``--warmup``
minutes are history (the REST bars endpoint serves them); then one minute is released every
``--interval-s`` seconds over the websocket. It accepts the key pair ``demo``/``demo`` only.
``make live-demo`` starts it and then ``arena run configs/live_demo.yaml``.
"""

from __future__ import annotations

import argparse
import signal
import threading

import pandas as pd

from arena.data.alpaca.sim import AlpacaMarketSim, bars_from_frame
from arena.data.samples import SampleSource

__all__ = ["demo_bars", "main"]


def demo_bars(sample: str, symbols: list[str], start: str, n_bars: int) -> pd.DataFrame:
    """The first ``n_bars`` timestamps of a bundled data set's ``symbols``, one minute apart from ``start``.

    Returns:
        ``DataFrame[timestamp, symbol, open, high, low, close, volume]``, canonical, with
        minute time stamps.

    Raises:
        KeyError: an unknown sample, or a symbol it does not hold (names the ones it has).
    """
    frame = SampleSource(sample).load()
    missing = sorted(set(symbols) - set(frame["symbol"]))
    if missing:
        raise KeyError(f"sample {sample!r} has no {missing}; it holds {sorted(set(frame['symbol']))}")
    frame = frame[frame["symbol"].isin(symbols)]
    times = sorted(frame["timestamp"].unique())[:n_bars]
    minute = {t: pd.Timestamp(start) + pd.Timedelta(minutes=i) for i, t in enumerate(times)}
    frame = frame[frame["timestamp"].isin(minute)].copy()
    frame["timestamp"] = frame["timestamp"].map(minute)
    return frame.reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    """Serve the demo market until SIGINT/SIGTERM or every bar is out (then it keeps serving history)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", default="us_equities_daily")
    p.add_argument("--symbols", default="GOOGL,MSFT")
    p.add_argument("--start", default="2024-01-03T14:30:00Z", help="time stamp of the first minute bar (UTC)")
    p.add_argument("--bars", type=int, default=1000, help="minutes served in all")
    p.add_argument("--warmup", type=int, default=120, help="minutes served as history at start")
    p.add_argument("--interval-s", type=float, default=1.0, help="seconds between two live minutes")
    p.add_argument("--port", type=int, default=8765)
    args = p.parse_args(argv)
    frame = demo_bars(args.sample, args.symbols.split(","), args.start, args.bars)
    sim = AlpacaMarketSim(bars_from_frame(frame), timeframe="1Min", released=args.warmup, port=args.port).start()
    print(f"demo market on {sim.url} (REST) and {sim.stream_url}/v2/iex (stream): {len(sim.timestamps)} minutes "
          f"of {args.symbols}, {args.warmup} as history, then one every {args.interval_s:g} s", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    threading.Thread(target=_play_when_subscribed, args=(sim, args.interval_s, done), daemon=True).start()
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def _play_when_subscribed(sim: AlpacaMarketSim, interval_s: float, done: threading.Event) -> None:
    while sim.subscribed_streams == 0 and not done.wait(0.1):
        pass
    sim.play(interval_s)


if __name__ == "__main__":
    main()
