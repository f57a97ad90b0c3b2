"""The market-data actor: loads a bar source and fans bars out to the contenders."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import RayActorError, RayTaskError

from arena.data import data_sha256, source_from_spec, to_panel
from arena.runner import chunk_of


PROGRESS_EVERY_S = 0.1  # seconds between progress reports to the driver


@ray.remote(num_cpus=0, max_restarts=0)
class MarketDataActor:
    """Loads the configured source once, then publishes its bars in timestamp
    order to every contender actor, in chunks of ``chunk_bars`` timestamps.

    Backpressure: at most ``max_inflight`` chunks are outstanding per
    contender; the publisher waits for the oldest before sending more, so no
    queue grows without bound. ``replay`` mode publishes as fast as the
    slowest contender consumes; ``paced`` mode publishes one bar every
    ``bar_interval_s`` seconds of wall clock and stamps each bar's publication
    time (for latency measurement).
    """

    def __init__(self, spec: Mapping[str, Any], base_dir: str) -> None:
        self._spec = dict(spec)
        self._base_dir = Path(base_dir)
        self._panel: Any = None
        self.failed: dict[str, str] = {}

    def _load(self) -> None:
        source = source_from_spec(self._spec, base_dir=self._base_dir)
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
    ) -> Iterator[dict[str, Any]]:
        """Publish every bar; yields progress ``{"bars": n_published, "failed": {name: reason}}``
        at most every ``PROGRESS_EVERY_S`` seconds, and once at the end with ``"done": True``.
        A contender actor that dies is dropped (reason recorded); the others go on."""
        n = len(self._panel)
        paced = mode == "paced"
        step = 1 if paced else chunk_bars
        inflight: dict[str, deque] = {name: deque() for name in contenders}
        live = dict(contenders)
        next_t = last_report = time.perf_counter()
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            if paced:
                next_t += bar_interval_s
                delay = next_t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            chunk = self._chunk(lo, hi, paced)
            # one copy in the object store shared by every contender, except for small
            # chunks (paced bars), which travel inline with the call: one hop less
            ref = chunk if paced else ray.put(chunk)
            for name, handle in list(live.items()):
                q = inflight[name]
                if len(q) >= max_inflight:
                    self._settle(name, q.popleft(), live)
                    if name not in live:
                        continue
                q.append(handle.on_chunk.remote(ref))
            now = time.perf_counter()
            if now - last_report >= PROGRESS_EVERY_S:
                last_report = now
                yield {"bars": hi, "failed": dict(self.failed)}
        for name, q in inflight.items():
            while q and name in live:
                self._settle(name, q.popleft(), live)
        yield {"bars": n, "failed": dict(self.failed), "done": True}

    def _settle(self, name: str, ref: Any, live: dict[str, Any]) -> None:
        try:
            ray.get(ref)
        except (RayActorError, RayTaskError) as exc:
            self.failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:500]}"
            live.pop(name, None)
