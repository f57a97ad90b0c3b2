"""Operator controls of running arenas: the arena-wide kill switch."""

from __future__ import annotations

import os

import ray

from arena.topology import GUARDIAN_PREFIX, NAMESPACE


class NoClusterError(RuntimeError):
    """No running Ray cluster (so no running arena) could be reached."""


def _connect() -> None:
    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS", "auto")
    try:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError) as exc:
        raise NoClusterError(f"no running Ray cluster at {address!r}: {exc}") from None


def running_arenas() -> list[str]:
    """Run ids of the arenas whose risk guardian is alive on the connected cluster."""
    _connect()
    names = ray.util.list_named_actors(all_namespaces=True)
    return sorted(
        a["name"][len(GUARDIAN_PREFIX) :]
        for a in names
        if a["namespace"] == NAMESPACE and a["name"].startswith(GUARDIAN_PREFIX)
    )


def trip_kill_switch(reason: str, run_id: str | None = None) -> list[str]:
    """Trip the arena-wide kill switch of one running arena (``run_id``) or of all.

    From then on the guardian denies every order that would increase exposure
    (reason ``ARENA_KILL_SWITCH``); the trip is recorded as an event of the run.

    Returns:
        The run ids whose guardian was tripped (empty when none is running).

    Raises:
        NoClusterError: no Ray cluster is reachable.
        ValueError: ``reason`` is empty.
    """
    if not reason.strip():
        raise ValueError("a kill-switch reason is required")
    targets = running_arenas()
    if run_id is not None:
        targets = [r for r in targets if r == run_id]
    tripped = []
    for rid in targets:
        try:
            handle = ray.get_actor(GUARDIAN_PREFIX + rid, namespace=NAMESPACE)
            tripped.append(ray.get(handle.trip_kill_switch.remote(reason)))
        except (ValueError, ray.exceptions.RayActorError):
            continue  # the run ended in the meantime
    return tripped
