"""Concurrent HTTP load on the API: the shared part of ``benchmarks.questdb`` and
``benchmarks.api_load``. uvicorn serves ``serve.api.create_app`` over a store on loopback,
in a thread; asyncio httpx clients send requests and every latency is kept."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import numpy as np
import uvicorn

from serve.api import create_app

__all__ = ["free_port", "load", "measure"]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(base: str, paths: Sequence[str], clients: int, requests: int) -> list[float]:
    """``clients`` concurrent clients each GET ``requests`` of ``paths`` (round robin) from
    ``base``; returns every latency (ms).

    Raises:
        RuntimeError: for an answer that is not 200, naming the path.
    """
    latencies: list[float] = []

    async def client(k: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            for i in range(requests):
                path = paths[(k + i) % len(paths)]
                t0 = time.perf_counter()
                r = await c.get(path)
                latencies.append((time.perf_counter() - t0) * 1e3)
                if r.status_code != 200:
                    raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:200]}")

    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies


def measure(url: str, endpoints: Mapping[str, Sequence[str]], clients: int, requests: int,
            warmup: int = 2) -> dict[str, Any]:
    """Serve the API over the store at ``url`` and load each endpoint in turn.

    Returns:
        endpoint name → ``{p50_ms, p99_ms, requests_per_s, requests}`` (after ``warmup``
        requests per client that are not counted).
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(url), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        for name, paths in endpoints.items():
            asyncio.run(load(base, paths, clients, warmup))
            t0 = time.perf_counter()
            lat = np.asarray(asyncio.run(load(base, paths, clients, requests)))
            wall = time.perf_counter() - t0
            out[name] = {
                "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p99_ms": round(float(np.percentile(lat, 99)), 1),
                "requests_per_s": round(lat.size / wall, 1),
                "requests": int(lat.size),
            }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return out
