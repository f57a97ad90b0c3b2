"""The market-data actor: loads a bar source, fans bars out to the contenders and
sends the bars it published to the recorder (table ``bars``)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import ActorUnavailableError, RayActorError, RayTaskError

from arena.data import data_sha256, source_from_spec, to_panel
from arena.runner import chunk_of

__all__ = ["BARS_SHIP_EVERY_S", "BARS_SHIP_ROWS", "PROGRESS_EVERY_S", "MarketDataActor"]

PROGRESS_EVERY_S = 0.1  # seconds between progress reports to the driver
BARS_SHIP_EVERY_S = 0.25  # seconds between shipments of published bars to the recorder
BARS_SHIP_ROWS = 50_000  # bar rows that trigger a shipment sooner


@ray.remote(num_cpus=0, max_restarts=0)
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
    """

    def __init__(self, spec: Mapping[str, Any], base_dir: str) -> None:
        self._spec = dict(spec)
        self._base_dir = Path(base_dir)
        self._panel: Any = None
        self.failed: dict[str, str] = {}

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

        Raises:
            ValueError: if a recorder is given without a run_id.
        """
        if recorder is not None and not run_id:
            raise ValueError("stream: a recorder needs the run_id to record bars under")
        bars = _BarShipper(recorder, run_id, self._panel.symbols) if recorder is not None else None
        n = len(self._panel)
        paced = mode == "paced"
        step = 1 if paced else chunk_bars
        inflight: dict[str, deque] = {name: deque() for name in contenders}
        live = dict(contenders)
        self._done = {name: 0 for name in contenders}
        self._inflight, self._step, self._paced, self._max_inflight = inflight, step, paced, max_inflight
        self._restart_timeout_s = restart_timeout_s
        self._sent = {name: 0 for name in contenders}  # bars published to each actor
        self._gen = {name: 0 for name in contenders}  # recoveries of each actor
        self.restarts: dict[str, int] = {}
        self._live_chunks: list[dict[str, Any]] = []  # live bars, kept to publish again after a restart
        self._last_ns = int(self._panel.timestamps[-1])
        next_t = last_report = time.perf_counter()

        def send(chunk: dict[str, Any], inline: bool, lo: int) -> None:
            if bars is not None:
                bars.add(chunk)
            # one copy in the object store shared by every contender, except for small
            # chunks (paced and live bars), which travel inline with the call: one hop less
            ref = chunk if inline else ray.put(chunk)
            results: list[Any] = []
            for name, handle in [(k, h) for k, h in live.items() if k not in consumers] + [
                (k, h) for k, h in live.items() if k in consumers
            ]:
                q = inflight[name]
                while len(q) >= max_inflight and name in live:
                    self._settle(name, q.popleft(), live)
                if name not in live:
                    continue
                if name in consumers:
                    q.append(handle.on_chunk.remote(ref, results, first_bar=lo))
                else:
                    q.append(handle.on_chunk.remote(ref, first_bar=lo))
                    results.append(q[-1])
                self._sent[name] = lo + len(chunk["ts_ns"])

        def settle_done() -> None:
            for name, q in inflight.items():  # settle the chunks already done, without waiting
                while q and name in live and not ray.wait([q[0]], timeout=0)[1]:
                    self._settle(name, q.popleft(), live)

        for lo in range(0, n, step):
            hi = min(n, lo + step)
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
        if mode == "live":  # the warm-up is out: from here on, each new minute as it completes
            self._feed = self._live_feed(live_settings or {}, alpaca_keys)
            for chunk in self._feed.chunks(max_bars=(live_settings or {}).get("live_bars")):
                if chunk is not None:
                    chunk["published_ns"] = np.full(1, time.time_ns(), dtype=np.int64)
                    self._live_chunks.append(chunk)
                    send(chunk, inline=True, lo=n)
                    n += 1
                    self._last_ns = int(chunk["ts_ns"][-1])
                now = time.perf_counter()
                if now - last_report >= PROGRESS_EVERY_S:
                    last_report = now
                    settle_done()
                    yield {"bars": n, "decided": self._decided(live, n), "failed": dict(self.failed),
                           "restarts": dict(self.restarts), "last_ns": self._last_ns, "feed": dict(self._feed.stats),
                           "idle_until": None if self._feed.idle_until is None else self._feed.idle_until.isoformat()}
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
                                "last_ns": self._last_ns, "restarts": dict(self.restarts)}
        if mode == "live":
            done["feed"] = dict(self._feed.stats)
        yield done

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
            self._done[name] = int(ray.get(ref)["bars"])
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
        deadline = time.monotonic() + (self._restart_timeout_s or 0.0)
        while True:  # a call to an actor being restarted fails at once: ask again until it is back
            try:
                back = ray.get(handle.resume_bar.remote(), timeout=max(deadline - time.monotonic(), 0.0))
                break
            except ActorUnavailableError as exc:
                if time.monotonic() >= deadline:
                    self._fail(name, exc, live)
                    return
                time.sleep(0.05)
            except (RayActorError, RayTaskError, ray.exceptions.GetTimeoutError) as exc:
                self._fail(name, exc, live)  # dead for good (restarts exhausted), or not back in time
                return
        self.restarts[name] = int(back["restarts"])
        self._done[name] = bar = int(back["bars"])
        end = self._sent[name]
        n_panel = len(self._panel)
        lo = bar
        while lo < end:
            hi = min(end, n_panel, lo + self._step) if lo < n_panel else lo + 1  # the first run's chunks
            chunk = self._chunk(lo, hi, self._paced) if lo < n_panel else self._live_chunks[lo - n_panel]
            while len(q) >= self._max_inflight and name in live and self._gen[name] == gen:
                self._settle(name, q.popleft(), live)
            if name not in live or self._gen[name] != gen:
                return  # failed, or crashed again: that recovery published the rest
            q.append(handle.on_chunk.remote(chunk, first_bar=lo))
            lo = hi


class _BarShipper:
    """Collects published bars as ``bars`` rows and ships them to the recorder in batches."""

    def __init__(self, recorder: Any, run_id: str, symbols: tuple[str, ...]) -> None:
        self._recorder = recorder
        self._run_id = run_id
        self._symbols = np.asarray(symbols, dtype=object)
        self._parts: list[dict[str, np.ndarray]] = []
        self._rows = 0
        self._inflight: Any = None
        self._last = time.monotonic()

    def add(self, chunk: dict[str, Any]) -> None:
        """Queue the bars of one chunk (``ts_ns`` [T], fields [T, S]); a bar exists where close is not NaN."""
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
            self._inflight = self._recorder.append.remote({"bars": cols})
            self._parts, self._rows = [], 0
        self._last = time.monotonic()
        if wait and self._inflight is not None:
            ray.get(self._inflight)
            self._inflight = None
