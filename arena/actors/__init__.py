"""The arena's Ray actors, one module each. Only ``arena.topology`` creates them and
wires them together. Nothing is imported here, so that a worker hosting one actor
imports only what that actor needs (faster start-up); :func:`when_back` imports Ray when
called."""

from __future__ import annotations

from typing import Any

__all__ = ["when_back"]


def when_back(method: Any, *args: Any, timeout_s: float) -> Any:
    """``ray.get(method.remote(*args))`` of an actor that Ray may be restarting: a call to it
    fails at once while it is (``ActorUnavailableError``), so it is made again every 50 ms,
    each wait bounded by what is left of ``timeout_s`` seconds.

    Raises:
        ray.exceptions.ActorUnavailableError: still not back after ``timeout_s``.
        ray.exceptions.GetTimeoutError: back, but the call did not answer in time.
        ray.exceptions.RayActorError: dead for good (its restarts exhausted).
        ray.exceptions.RayTaskError: the method raised.
    """
    import time

    import ray

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return ray.get(method.remote(*args), timeout=max(deadline - time.monotonic(), 0.0))
        except ray.exceptions.ActorUnavailableError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
