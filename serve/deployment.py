"""The arena API as a Ray Serve application.

:class:`ArenaAPI` is a Serve deployment whose ingress is the FastAPI app from
:func:`serve.api.create_app`. Because that app is built from a store URL, the
deployment uses Serve's late-bound ingress (``@serve.ingress()`` with
``__serve_build_asgi_app__``): each replica builds its own app from the URL it
was bound with, instead of pickling an app made in the driver.

Examples:
    >>> from serve.deployment import run_serve
    >>> run_serve("duckdb:///data/arena.duckdb", port=8000, blocking=False)  # doctest: +SKIP
    'http://127.0.0.1:8000'
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from arena.live.schema import validate_events_url
from arena.store import parse_store_url
from serve.api import KILL_SWITCH_TOKEN_ENV, create_app, token_digest

__all__ = ["APP_NAME", "ArenaAPI", "build", "run_serve"]

APP_NAME = "arena"
"""Serve application name used by :func:`run_serve`."""


@serve.deployment(name="ArenaAPI", ray_actor_options={"num_cpus": 0.1})
@serve.ingress()
class ArenaAPI:
    """Serve replica answering the arena HTTP API over one store.

    Args:
        store_url: the store to read, e.g. ``duckdb:///data/arena.duckdb``;
            every request opens it read-only (see :mod:`serve.api`).
        busy_timeout_s: how long a request waits for a locked store before 503.
        events_url: Redis URL of the live event streams (``GET /runs/{run_id}/events``);
            None → that endpoint answers 503.
        kill_switch_sha256: SHA-256 (hex) of the kill-switch token (:func:`serve.api.token_digest`);
            the token itself never reaches the replica.
    """

    def __init__(
        self, store_url: str, busy_timeout_s: float = 0.2, events_url: str | None = None,
        kill_switch_sha256: str | None = None,
    ) -> None:
        parse_store_url(store_url)
        self._store_url = store_url
        self._busy_timeout_s = busy_timeout_s
        self._events_url = events_url
        self._kill_switch_sha256 = kill_switch_sha256

    def __serve_build_asgi_app__(self) -> FastAPI:
        """Called by Serve once per replica, after ``__init__``: the replica's app."""
        return create_app(self._store_url, self._events_url, busy_timeout_s=self._busy_timeout_s,
                          kill_switch_sha256=self._kill_switch_sha256)


def build(
    store_url: str,
    *,
    num_replicas: int = 1,
    num_cpus: float = 0.1,
    busy_timeout_s: float = 0.2,
    events_url: str | None = None,
) -> Application:
    """The bound Serve application for ``store_url``, ready for ``serve.run``.

    Args:
        store_url: the store the API reads.
        num_replicas: API replicas.
        num_cpus: CPUs reserved per replica (the API is I/O-light).
        busy_timeout_s: how long a request waits for a locked store before 503.
        events_url: Redis URL of the live event streams; None → no live events (503).

    Raises:
        ValueError: if ``store_url`` or ``events_url`` is malformed.
    """
    parse_store_url(store_url)
    if events_url is not None:
        validate_events_url(events_url)
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
    actor_options: dict[str, Any] = {"num_cpus": num_cpus}
    # the replicas get the token's digest, not the token: a runtime environment's variables
    # are written in plain text to Ray's session logs, readable by every local user
    digest = token_digest(os.environ.get(KILL_SWITCH_TOKEN_ENV, ""))
    deployment: Any = ArenaAPI  # a serve.Deployment once decorated
    return deployment.options(num_replicas=num_replicas, ray_actor_options=actor_options).bind(
        store_url, busy_timeout_s, events_url, digest
    )


def run_serve(
    store_url: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    blocking: bool = True,
    *,
    name: str = APP_NAME,
    num_replicas: int = 1,
    events_url: str | None = None,
) -> str:
    """Start Serve's HTTP proxy on host:port and deploy the API at ``/``.

    Used by ``arena serve``. Connects to the running Ray instance, or starts a
    local one (Ray's default when none is initialized). If Serve is already
    running in the cluster, its HTTP host/port are kept (Ray logs a warning).

    Args:
        store_url: the store the API reads.
        host: interface to listen on ("0.0.0.0" to expose it).
        port: TCP port.
        blocking: block until Ctrl-C, then shut Serve down.
        name: Serve application name.
        num_replicas: API replicas.
        events_url: Redis URL of the live event streams (``arena serve --events``).

    Returns:
        The API's base URL, e.g. ``http://127.0.0.1:8000`` (once it answers).

    Raises:
        ValueError: if ``store_url`` or ``events_url`` is malformed or the port is out of range.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port must be in 1..65535, got {port}")
    app = build(store_url, num_replicas=num_replicas, events_url=events_url)
    serve.start(http_options={"host": host, "port": port})
    base_url = f"http://{host}:{port}"
    try:
        serve.run(app, name=name, route_prefix="/", blocking=blocking)
    except KeyboardInterrupt:
        serve.shutdown()
    return base_url
