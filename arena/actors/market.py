"""The market-data actor: loads a bar source, fans bars out to the contenders and
sends the bars it published to the recorder (table ``bars``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import RayActorError, RayTaskError

from arena.data import data_sha256, source_from_spec, to_panel
from arena.actors import when_back
from arena.runner import chunk_of, chunk_tail

__all__ = ["BARS_SHIP_EVERY_S", "BARS_SHIP_ROWS", "MARKET_KEY", "PROGRESS_EVERY_S", "MarketDataActor"]

PROGRESS_EVERY_S = 0.1  # seconds between progress reports to the driver
MARKET_KEY = "__market__"
"""The market-data actor's key at the recorder (incarnations, bars acknowledged), beside the
contender actors' keys."""
BARS_SHIP_EVERY_S = 0.25  # seconds between shipments of published bars to the recorder
BARS_SHIP_ROWS = 50_000  # bar rows that trigger a shipment sooner


@ray.remote(num_cpus=0, max_restarts=0, concurrency_groups={"control": 1})
class MarketDataActor:
    """Loads the configured source once, then publishes its bars in timestamp
    order to every contender actor, in chunks of ``chunk_bars`` timestamps.

    Backpressure: at most ``max_inflight`` chunks are outstanding per
    contender; the publisher waits for the oldest before sending more, so no
    queue grows without bound. ``replay`` mode publishes as fast as the
    slowest contender consumes; ``paced`` mode publishes one bar every
    ``bar_interval_s`` seconds of wall clock and stamps each bar's publication
    time (for latency measurement). ``live`` mode publishes the loaded bars (the warm-up) as
    ``replay`` does, then each new timestamp of Alpaca's bar stream as it completes
    (:class:`arena.data.alpaca.feed.LiveBarFeed`), through the same path to the same contenders.

    With a recorder, the bars published go to the ``bars`` table in batches
    (at least ``BARS_SHIP_EVERY_S`` apart or ``BARS_SHIP_ROWS`` rows, one
    shipment in flight), all of them written before the final progress report.

    Stop and resume: :meth:`stop` (its own thread) ends the publishing after the chunk being
    sent, so that every contender actor has been sent the same bars; the stream then waits
    for them as at its end and says ``"stopped": True``. A resumed run's stream starts at
    ``start_bar`` (replay: the panel's row of that index; live: the feed picks up after
    ``resume_last_ns`` and backfills the bars since).
    """

    def __init__(self, spec: Mapping[str, Any], base_dir: str) -> None:
        self._spec = dict(spec)
        self._base_dir = Path(base_dir)
        self._panel: Any = None
        self.failed: dict[str, str] = {}
        self._stop = threading.Event()
        self._feed: Any = None

    def _load(self) -> None:
        source = source_from_spec(self._spec, base_dir=self._base_dir)
        self._source = source
        frame = source.load()
        self._sha = data_sha256(frame)
        self._panel = to_panel(frame)
        self._describe = source.describe()

    def info(self) -> dict[str, Any]:
        """Load the source (once) and describe it: symbols, bar count, first/last timestamp
        (ns), content sha256 and the source's description.

        Raises:
            the source's errors (e.g. ``BarValidationError`` naming file, row and column).
        """
        if self._panel is None:
            self._load()
        p = self._panel
        return {
            "symbols": list(p.symbols),
            "n_bars": len(p),
            "first_ns": int(p.timestamps[0]),
            "last_ns": int(p.timestamps[-1]),
            "data_sha256": self._sha,
            "source": self._describe,
            "timestamps_ns": p.timestamps,
        }

    @ray.method(concurrency_group="control")
    def where(self) -> dict[str, Any]:
        """``{"pid", "node_id"}`` of this actor's process (answers while a stream runs)."""
        import os

        return {"pid": os.getpid(), "node_id": ray.get_runtime_context().get_node_id()}

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        """Stop publishing (from another thread than the stream's): the chunk being sent goes
        to every contender actor, no later one does; a live feed is closed."""
        self._stop.set()
        feed = self._feed
        if feed is not None:
            feed.close()

    def _chunk(self, lo: int, hi: int, paced: bool) -> dict[str, Any]:
        chunk = chunk_of(self._panel.slice(lo, hi))
        if paced:
            chunk["published_ns"] = np.full(hi - lo, time.time_ns(), dtype=np.int64)
        return chunk

    def stream(
        self,
        contenders: dict[str, Any],
        mode: str = "replay",
        chunk_bars: int = 512,
        max_inflight: int = 4,
        bar_interval_s: float = 1.0,
        recorder: Any = None,
        run_id: str | None = None,
        consumers: tuple[str, ...] = (),
        live_settings: Mapping[str, Any] | None = None,
        alpaca_keys: Any = None,
        restart_timeout_s: float | None = None,
        start_bar: int = 0,
        resume_last_ns: int | None = None,
        bars_from: int | None = None,
        epoch: int = 0,
    ) -> Iterator[dict[str, Any]]:
        """Publish every bar; yields progress ``{"bars": n_published, "decided": n, "failed":
        {name: reason}}`` at most every ``PROGRESS_EVERY_S`` seconds, and once at the end with
        ``"done": True``; ``decided`` is the bars every live contender actor has processed (the
        slowest one's count; publishing runs up to ``max_inflight`` chunks ahead of it).
        A contender actor that dies is dropped (reason recorded under its key in
        ``contenders``); the others go on. With ``restart_timeout_s``, a contender actor whose
        call fails is first waited for (as long as that) in case Ray restarts it: it says
        which bar it went on from (``resume_bar``), the bars from there are published to it
        again, and progress counts its restarts (``"restarts": {key: n}``); one that does not
        come back (restarts exhausted) is dropped as above.

        Args:
            contenders: key → contender actor handle (an actor may host several
                contenders; see ``ContenderActor``).
            recorder: the run's recorder actor; when given (with ``run_id``), the
                published bars are recorded in the ``bars`` table.
            run_id: the run the bars are recorded under.
            consumers: keys of the actors whose contenders consume the others' signals
                (meta-models): each of their chunks is sent with references to the
                other actors' results for the same chunk, so it runs once they have
                decided on those bars.
            live_settings: ``mode="live"``: ``grace_s``, ``heartbeat_s``, ``calendar``,
                ``live_bars`` (see ``ReplaySettings``); after the loaded bars (the warm-up),
                the live feed's bars follow, one timestamp a chunk, and progress carries
                ``last_ns``, the feed's ``stats`` and ``idle_until``.
            alpaca_keys: ``mode="live"``: the :class:`arena.data.alpaca.keys.AlpacaKeys` of
                the stream and its backfills (read by the driver from its environment).
            start_bar: a resumed run: the bars every contender actor has already processed
                (replay: publishing starts at the panel's row ``start_bar``).
            resume_last_ns: a resumed live run: the timestamp of its last bar; the panel (the
                warm-up) is not published again and the feed goes on after that bar.
            bars_from: the first bar to record in ``bars`` (default ``start_bar``): after a
                restart of this actor, the bars the recorder has already written
                (``RecorderActor.resume(MARKET_KEY)``) are published again but not recorded.
            epoch: this actor's incarnation at the recorder (shipments of an older one that
                arrive after a restart are dropped there).

        Yields:
            Progress as above; the last one has ``"done": True``, ``"last_ns"`` (the last bar
            published, None when none was) and ``"stopped"`` (True when :meth:`stop` ended
            the publishing before the data or ``live_bars`` did).

        Raises:
            ValueError: if a recorder is given without a run_id.
        """
        if recorder is not None and not run_id:
            raise ValueError("stream: a recorder needs the run_id to record bars under")
        bars = None if recorder is None else _BarShipper(
            recorder, run_id, self._panel.symbols, start_bar if bars_from is None else bars_from, epoch)
        n_panel = len(self._panel)
        resume_live = mode == "live" and resume_last_ns is not None
        paced = mode == "paced"
        step = 1 if paced else chunk_bars
        inflight: dict[str, deque] = {name: deque() for name in contenders}
        live = dict(contenders)
        self._done = {name: start_bar for name in contenders}
        self._inflight, self._step, self._paced, self._max_inflight = inflight, step, paced, max_inflight
        self._restart_timeout_s = restart_timeout_s
        self._sent = {name: start_bar for name in contenders}  # bars published to each actor
        self._gen = {name: 0 for name in contenders}  # recoveries of each actor
        self.restarts: dict[str, int] = {}
        self._live_chunks: list[dict[str, Any]] = []  # live bars, kept to publish again after a restart
        self._chunks: list[tuple[int, int]] = []  # (first bar, end) of every chunk published, in order
        self._consumers = frozenset(consumers)
        self._produced: dict[int, dict[str, Any]] = {}  # chunk's first bar → producer → its result (consumers)
        self._last_ns: int | None = (resume_last_ns if resume_live else
                                     int(self._panel.timestamps[start_bar - 1]) if start_bar else None)
        stopped = False
        next_t = last_report = time.perf_counter()

        def send(chunk: dict[str, Any], inline: bool, lo: int) -> None:
            self._last_ns = int(chunk["ts_ns"][-1])
            if bars is not None:
                bars.add(chunk, lo)
            # one copy in the object store shared by every contender, except for small
            # chunks (paced and live bars), which travel inline with the call: one hop less
            ref = chunk if inline else ray.put(chunk)
            self._chunks.append((lo, lo + len(chunk["ts_ns"])))
            results = self._produced.setdefault(lo, {}) if consumers else {}
            for name, handle in [(k, h) for k, h in live.items() if k not in consumers] + [
                (k, h) for k, h in live.items() if k in consumers
            ]:
                q = inflight[name]
                while len(q) >= max_inflight and name in live:
                    self._settle(name, q.popleft(), live)
                if name not in live:
                    continue
                if name in consumers:
                    q.append(handle.on_chunk.remote(ref, list(results.values()), first_bar=lo))
                else:
                    q.append(handle.on_chunk.remote(ref, first_bar=lo))
                    results[name] = q[-1]
                self._sent[name] = lo + len(chunk["ts_ns"])

        def settle_done() -> None:
            for name, q in inflight.items():  # settle the chunks already done, without waiting
                while q and name in live and not ray.wait([q[0]], timeout=0)[1]:
                    self._settle(name, q.popleft(), live)

        n = start_bar if resume_live else n_panel
        self._live_base = n  # the bar index of the first live chunk
        for lo in range(start_bar, 0 if resume_live else n_panel, step):
            if self._stop.is_set():
                stopped, n = True, lo
                break
            hi = min(n_panel, lo + step)
            if paced:
                next_t += bar_interval_s
                delay = next_t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            send(self._chunk(lo, hi, paced), inline=paced, lo=lo)
            now = time.perf_counter()
            if now - last_report >= PROGRESS_EVERY_S:
                last_report = now
                settle_done()
                yield {"bars": hi, "decided": self._decided(live, hi), "failed": dict(self.failed),
                       "restarts": dict(self.restarts)}
        self._live_base = n  # a stop during the panel: no live chunk
        if mode == "live" and not stopped:  # the warm-up is out: from here on, each new minute as it completes
            self._feed = self._live_feed(live_settings or {}, alpaca_keys)
            if self._stop.is_set():  # stopped while the feed was being made
                self._feed.close()
            max_bars = (live_settings or {}).get("live_bars")
            for chunk in self._feed.chunks(max_bars=max_bars):
                if chunk is not None:
                    chunk["published_ns"] = np.full(1, time.time_ns(), dtype=np.int64)
                    self._live_chunks.append(chunk)
                    send(chunk, inline=True, lo=n)
                    n += 1
                now = time.perf_counter()
                if now - last_report >= PROGRESS_EVERY_S:
                    last_report = now
                    settle_done()
                    yield {"bars": n, "decided": self._decided(live, n), "failed": dict(self.failed),
                           "restarts": dict(self.restarts), "last_ns": self._last_ns, "feed": dict(self._feed.stats),
                           "idle_until": None if self._feed.idle_until is None else self._feed.idle_until.isoformat()}
            stopped = self._stop.is_set() and (max_bars is None or n - self._live_base < max_bars)
        while True:  # all published: wait for the contenders, still reporting progress
            for name, q in inflight.items():
                while q and name in live and not ray.wait([q[0]], timeout=0)[1]:
                    self._settle(name, q.popleft(), live)
            heads = [q[0] for name, q in inflight.items() if q and name in live]
            if not heads:
                break
            ray.wait(heads, num_returns=1, timeout=PROGRESS_EVERY_S)
            now = time.perf_counter()
            if now - last_report >= PROGRESS_EVERY_S:
                last_report = now
                yield {"bars": n, "decided": self._decided(live, n), "failed": dict(self.failed),
                       "restarts": dict(self.restarts)}
        if bars is not None:
            bars.ship(wait=True)
        done: dict[str, Any] = {"bars": n, "decided": n, "failed": dict(self.failed), "done": True,
                                "last_ns": self._last_ns, "restarts": dict(self.restarts), "stopped": stopped}
        if self._feed is not None:
            done["feed"] = dict(self._feed.stats)
        yield done

    def republish(self, name: str, handle: Any) -> str | None:
        """After the stream: contender actor ``name`` died before its finish. Wait for Ray to
        restart it (the stream's ``restart_timeout_s``) and publish to it again the bars after
        the one it went on from, as during the stream.

        Returns:
            None once it has processed every bar published, else why it is failed."""
        if name not in getattr(self, "_sent", {}) or self._restart_timeout_s is None:
            return "died after the stream (no restart)"
        live = {name: handle}
        self._inflight[name].clear()
        self._recover(name, live)
        q = self._inflight[name]
        while q and name in live:
            self._settle(name, q.popleft(), live)
        return self.failed.get(name)

    def _live_feed(self, settings: Mapping[str, Any], keys: Any) -> Any:
        """The live bar feed of the loaded Alpaca source, picking up after its last bar."""
        from arena.data.alpaca.feed import DEFAULT_STREAM_URL, FeedSettings, LiveBarFeed
        source = getattr(self._source, "inner", self._source)  # a since/until window wraps it
        return LiveBarFeed(
            source.request,
            keys,
            self._panel.symbols,
            self._spec.get("stream_url") or DEFAULT_STREAM_URL,
            last_ns=self._last_ns,
            settings=FeedSettings(**{k: settings[k] for k in ("grace_s", "heartbeat_s", "calendar") if k in settings}),
        )

    def _decided(self, live: dict[str, Any], published: int) -> int:
        return min((self._done[k] for k in live), default=published)

    def _settle(self, name: str, ref: Any, live: dict[str, Any]) -> None:
        try:
            out = ray.get(ref)
            self._done[name] = int(out["bars"])
            if out.get("awaiting"):  # a consumer whose producer died: once it is back, again
                self._resync(name, live)
        except RayActorError as exc:
            if self._restart_timeout_s is None:
                self._fail(name, exc, live)
            else:
                self._recover(name, live)
        except RayTaskError as exc:
            self._fail(name, exc, live)

    def _fail(self, name: str, exc: BaseException, live: dict[str, Any]) -> None:
        self.failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
        live.pop(name, None)
        for produced in self._produced.values():  # consumers go on without a producer lost for good
            produced.pop(name, None)

    def _resync(self, name: str, live: dict[str, Any]) -> None:
        """Consumer ``name`` did not take a chunk because a producer's result for it failed
        (the producer's process died): settle every producer's calls in flight (a failed one
        is recovered, which publishes to it again and keeps its new results), then publish to
        the consumer again from the bar it is at, with the producers' results as they are now."""
        for p in [k for k in live if k not in self._consumers]:
            q = self._inflight[p]
            while q and p in live:
                self._settle(p, q.popleft(), live)
        if name in live:
            self._gen[name] += 1
            self._publish_again(name, self._done[name], self._gen[name], live)

    def _recover(self, name: str, live: dict[str, Any]) -> None:
        """Actor ``name`` died: wait for Ray to restart it (``restart_timeout_s``), then publish
        to it again the bars from the one it went on from up to those already published; one
        that does not come back is failed. The calls still in flight to it are waited for
        first (they failed, or reached the new incarnation, which skipped or took them)."""
        handle, q = live[name], self._inflight[name]
        self._gen[name] += 1
        gen = self._gen[name]
        while q:
            try:
                ray.get(q.popleft())
            except (RayActorError, RayTaskError):
                pass
        try:
            back = when_back(handle.resume_bar, timeout_s=self._restart_timeout_s or 0.0)
        except (RayActorError, RayTaskError, ray.exceptions.GetTimeoutError) as exc:
            self._fail(name, exc, live)  # dead for good (restarts exhausted), or not back in time
            return
        self.restarts[name] = int(back["restarts"])
        self._done[name] = bar = int(back["bars"])
        self._publish_again(name, bar, gen, live)

    def _publish_again(self, name: str, bar: int, gen: int, live: dict[str, Any]) -> None:
        """Publish to ``name`` the chunks it was sent from the one holding bar ``bar`` on (the
        first run's chunks, so a consumer gets the producers' results of each; it takes
        only the bars it lacks), with backpressure; a producer's new results replace its
        failed ones for the consumers."""
        import bisect

        handle, q, end, base = live[name], self._inflight[name], self._sent[name], self._live_base
        k = max(bisect.bisect_right(self._chunks, (bar, float("inf"))) - 1, 0)
        first = self._chunks[0][0] if self._chunks else end
        # bars before this stream's first chunk (it went on after a restart of this actor): the panel's
        before = [(lo, min(first, lo + self._step)) for lo in range(bar, min(first, base), self._step)]
        for lo, hi in before + self._chunks[k:]:
            if lo >= end:
                break
            chunk = self._chunk(lo, hi, self._paced) if lo < base else self._live_chunks[lo - base]
            while len(q) >= self._max_inflight and name in live and self._gen[name] == gen:
                self._settle(name, q.popleft(), live)
            if name not in live or self._gen[name] != gen:
                return  # failed, or crashed again: that recovery published the rest
            if name in self._consumers:
                q.append(handle.on_chunk.remote(chunk, list(self._produced.get(lo, {}).values()), first_bar=lo))
            else:
                q.append(handle.on_chunk.remote(chunk, first_bar=lo))
                if self._consumers:
                    self._produced.setdefault(lo, {})[name] = q[-1]


class _BarShipper:
    """Collects published bars as ``bars`` rows and ships them to the recorder in batches, from
    bar ``skip_before`` on, each shipment tagged with the bars it covers (``MARKET_KEY``)."""

    def __init__(self, recorder: Any, run_id: str, symbols: tuple[str, ...], skip_before: int = 0,
                 epoch: int = 0) -> None:
        self._recorder = recorder
        self._run_id = run_id
        self._symbols = np.asarray(symbols, dtype=object)
        self._parts: list[dict[str, np.ndarray]] = []
        self._rows = 0
        self._inflight: Any = None
        self._last = time.monotonic()
        self._skip_before, self._epoch, self._through = skip_before, epoch, skip_before

    def add(self, chunk: dict[str, Any], first_bar: int) -> None:
        """Queue the bars of one chunk (``ts_ns`` [T], fields [T, S]) whose first bar is bar
        ``first_bar`` of the run; a bar exists where close is not NaN."""
        n = len(chunk["ts_ns"])
        if first_bar + n <= self._skip_before:
            return
        if first_bar < self._skip_before:
            chunk = chunk_tail(chunk, self._skip_before - first_bar)
        self._through = max(self._through, first_bar + n)
        t, s = np.nonzero(~np.isnan(chunk["close"]))
        if len(t):
            part = {"ts": chunk["ts_ns"][t], "symbol": self._symbols[s]}
            part.update({f: chunk[f][t, s] for f in ("open", "high", "low", "close", "volume")})
            self._parts.append(part)
            self._rows += len(t)
        if self._rows >= BARS_SHIP_ROWS or time.monotonic() - self._last >= BARS_SHIP_EVERY_S:
            self.ship(wait=False)

    def ship(self, wait: bool) -> None:
        """Send what is queued (after the previous shipment was written); ``wait`` for it."""
        if self._inflight is not None and (wait or self._parts):
            ray.get(self._inflight)
            self._inflight = None
        if self._parts:
            cols = {k: np.concatenate([p[k] for p in self._parts]) for k in self._parts[0]}
            cols["run_id"] = np.full(len(cols["ts"]), self._run_id, dtype=object)
            self._inflight = self._recorder.append.remote(
                {"bars": cols}, (MARKET_KEY, self._epoch, {MARKET_KEY: self._through}))
            self._parts, self._rows = [], 0
        self._last = time.monotonic()
        if wait and self._inflight is not None:
            ray.get(self._inflight)
            self._inflight = None
