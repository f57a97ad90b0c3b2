"""The arena's HTTP API as a plain FastAPI app (Ray Serve wraps it in ``serve.deployment``).

Every request opens the store read-only and closes it when the answer is
built. A cached connection would hold DuckDB's file lock and keep the arena's
recorder from opening the file for writing; reopening per request also means
answers always see the latest finished run. While a run is writing a DuckDB
store, requests answer 503 (store busy) with ``Retry-After``.

Endpoints (OpenAPI at ``/openapi.json``; Swagger UI at ``/docs`` and ReDoc at ``/redoc``, both
served from this package, see :mod:`serve.page`):

* ``GET /`` — the arena page (runs, a run, a contender, why, live; :mod:`serve.page`)
* ``GET /healthz``
* ``GET /runs``, ``GET /runs/{run_id}``, ``GET /runs/{run_id}/leaderboard``
* ``GET /runs/{run_id}/status`` — run status, kill switch, each contender ok / halted / failed
* ``GET /runs/{run_id}/contenders/{name}/equity?start=&end=&max_points=`` (LTTB on the server)
* ``GET /runs/{run_id}/contenders/{name}/positions?max_points=`` — units, value and weight per symbol
* ``GET /runs/{run_id}/fills?contender=&symbol=&start=&end=``
* ``GET /runs/{run_id}/risk-verdicts?contender=&action=&limit=``
* ``GET /runs/{run_id}/bars/{symbol}?start=&end=&max_points=`` — OHLCV for candles
* ``GET /runs/{run_id}/decisions?contender=&symbol=&start=&end=&limit=&offset=``
* ``GET /decisions/{decision_id}/why?top=`` (decision ids may contain ``/``)
* ``POST /kill-switch``, ``POST /kill-switch/reset``, ``POST /runs/{run_id}/contenders/{name}/release``
  (bearer token from ``ARENA_KILL_SWITCH_TOKEN``; :mod:`serve.control_views`)
* ``GET /runs/{run_id}/events`` — live events as Server-Sent Events (see :func:`create_app`'s
  ``events_url`` and :mod:`arena.live`); needs no store access while the run's stream exists
* ``GET /live/runs`` — runs with a live event stream (listed even while a DuckDB store is busy)

The page stays useful while a run writes: a QuestDB store answers reads during writes; a
DuckDB store answers 503 until the run ends, and the page then shows the run from its live
events alone and says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import FastAPI, Header, HTTPException, Query
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

import arena.explanations as explanations
import arena.live.reader as live_reader
from arena.live.schema import validate_events_url
from arena.secrets import redact, redact_url
from arena.store import Store, StoreBusyError, open_store, parse_store_url
import serve.control_views as control_views
import serve.run_views as run_views
from serve.control_views import KILL_SWITCH_TOKEN_ENV, token_digest  # noqa: F401 - imported from here by serve.deployment
import serve.trial_views as trial_views
from serve.cache import EndedRunCache
from serve.downsample import MIN_POINTS, equity_indices
from serve.deps import EndQuery, StartQuery, StoreDep, bounds, contender_or_404, run_or_404
from serve.page import mount_page
from serve.models import (
    DecisionOut,
    EquityPoint,
    ErrorBody,
    Health,
    LIVE_EVENTS_DOC,
    LIVE_EVENTS_RESPONSES,
    LeaderboardRow,
    Run,
    RunDetail,
    Why,
)

__all__ = ["KILL_SWITCH_TOKEN_ENV", "create_app", "token_digest"]

log = logging.getLogger(__name__)

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown run, contender, symbol or decision"}
}
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "store missing, unusable or busy"}
}

def _run_status(store_url: str, run_id: str) -> str | None:
    """A run's status as the store has it now, or None (no such run, or the store cannot answer)."""
    try:
        with open_store(store_url, read_only=True) as store:
            run = store.get_run(run_id)
    except (OSError, ValueError, StoreBusyError):
        return None
    return None if run is None else str(run["status"])


def create_app(
    store_url: str,
    events_url: str | None = None,
    *,
    busy_timeout_s: float = 0.2,
    events_ping_s: float = 15.0,
    events_block_ms: int = 5000,
    artifacts: str | None = None,
    kill_switch_sha256: str | None = None,
) -> FastAPI:
    """Build the API over the store at ``store_url``.

    Args:
        store_url: any URL :func:`arena.store.open_store` accepts, e.g.
            ``duckdb:///data/arena.duckdb``.
        events_url: Redis URL of the runs' live event streams
            (``redis://127.0.0.1:6379/0``); None → ``GET /runs/{run_id}/events`` answers 503.
        busy_timeout_s: how long a request waits for a locked store before
            answering 503.
        events_ping_s: seconds between SSE keep-alive comments on a quiet stream.
        events_block_ms: how long one ``XREAD BLOCK`` waits for new entries (ms).
        artifacts: root of the runs' artifacts folders, for explanations computed on demand;
            None = ``$ARENA_ARTIFACTS``, else each run's configured ``artifacts``.
        kill_switch_sha256: SHA-256 (hex) of the kill switch's bearer token, as
            :func:`token_digest` gives it: what a Serve replica gets, so that the token itself
            is never in a runtime environment or a log; None = the token is read from
            ``ARENA_KILL_SWITCH_TOKEN`` in this process's environment, per request.

    Returns:
        The FastAPI app; test it with ``fastapi.testclient.TestClient``.

    Raises:
        ValueError: if ``store_url`` or ``events_url`` is malformed (checked now, not per request).
    """
    parse_store_url(store_url)
    if events_url is not None:
        validate_events_url(events_url)
    app = FastAPI(
        title="model-arena API",
        version="0.1.0",
        summary="Runs, leaderboards, equity curves and explained decisions of the model arena.",
        docs_url=None,  # served by serve.page from the package's own files (works offline)
        redoc_url=None,
    )
    app.state.store_url = store_url
    app.state.busy_timeout_s = busy_timeout_s
    app.state.events_url = events_url
    app.state.artifacts = artifacts
    app.state.kill_switch_sha256 = kill_switch_sha256
    app.add_middleware(EndedRunCache, run_status=lambda run_id: _run_status(store_url, run_id))
    mount_page(app)

    @app.get("/healthz", response_model=Health, responses=_UNAVAILABLE, tags=["health"])
    def healthz(store: StoreDep) -> dict[str, Any]:
        """The store can be opened read-only and queried."""
        store.list_runs()
        return {"status": "ok", "store": redact_url(store_url)}

    @app.get("/runs", response_model=list[Run], responses=_UNAVAILABLE, tags=["runs"])
    def list_runs(store: StoreDep) -> list[dict[str, Any]]:
        """All runs, newest first."""
        return [redact(r) for r in store.list_runs()]  # runs recorded before configs were redacted

    @app.get(
        "/runs/{run_id}",
        response_model=RunDetail,
        responses=_NOT_FOUND | _UNAVAILABLE,
        tags=["runs"],
    )
    def get_run(run_id: str, store: StoreDep) -> dict[str, Any]:
        """One run, with its contenders and kill-switch events."""
        run = run_or_404(store, run_id)
        return {
            **run,
            "contenders": store.contenders(run_id),
            "kill_switch_events": store.kill_switch_events(run_id),
        }

    @app.get(
        "/runs/{run_id}/leaderboard",
        response_model=list[LeaderboardRow],
        responses=_NOT_FOUND | _UNAVAILABLE,
        tags=["runs"],
    )
    def leaderboard(run_id: str, store: StoreDep) -> list[dict[str, Any]]:
        """The run's leaderboard, best rank first; empty until the run ends."""
        run_or_404(store, run_id)
        return store.leaderboard(run_id)

    @app.get(
        "/runs/{run_id}/contenders/{name}/equity",
        response_model=list[EquityPoint],
        responses=_NOT_FOUND | _UNAVAILABLE,
        tags=["runs"],
    )
    def equity(
        run_id: str,
        name: str,
        store: StoreDep,
        start: StartQuery = None,
        end: EndQuery = None,
        max_points: Annotated[
            int | None,
            Query(
                ge=MIN_POINTS,
                le=1_000_000,
                description="downsample on the server to at most this many points (LTTB, keeping the first and "
                "last bar, the highest and lowest equity and the deepest drawdown's trough); all points when absent",
            ),
        ] = None,
    ) -> list[dict[str, Any]]:
        """A contender's equity curve (USD per bar), optionally between start and end, and
        downsampled to ``max_points`` (a run of a million bars answers in well under a second)."""
        start_utc, end_utc = bounds(start, end)
        run_or_404(store, run_id)
        contender_or_404(store, run_id, name)
        if max_points is None:
            return store.equity_curve(run_id, name, start_utc, end_utc)
        return _downsampled_equity(store, run_id, name, start_utc, end_utc, max_points)

    @app.get(
        "/runs/{run_id}/decisions",
        response_model=list[DecisionOut],
        responses=_NOT_FOUND | _UNAVAILABLE,
        tags=["decisions"],
    )
    def decisions(
        run_id: str,
        store: StoreDep,
        contender: Annotated[str | None, Query(description="only this contender")] = None,
        symbol: Annotated[
            str | None, Query(description="only decisions touching this symbol")
        ] = None,
        start: StartQuery = None,
        end: EndQuery = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
        offset: Annotated[int, Query(ge=0, lt=2**63, description="rows to skip")] = 0,
    ) -> list[dict[str, Any]]:
        """A page of the run's decisions in time order."""
        start_utc, end_utc = bounds(start, end)
        run = run_or_404(store, run_id)
        if contender is not None:
            contender_or_404(store, run_id, contender)
        if symbol is not None and symbol not in run["symbols"]:
            known = ", ".join(run["symbols"])
            raise HTTPException(
                404, f"symbol {symbol!r} not found in run {run_id!r} (symbols: {known})"
            )
        return store.decisions(run_id, contender, symbol, start_utc, end_utc, limit, offset)

    @app.get(
        "/decisions/{decision_id:path}/why",
        response_model=Why,
        responses=_NOT_FOUND | _UNAVAILABLE,
        tags=["decisions"],
    )
    def why(
        decision_id: str,
        store: StoreDep,
        top: Annotated[
            int | None, Query(ge=1, le=1000, description="keep only the top contributions")
        ] = None,
    ) -> dict[str, Any]:
        """Why a decision was made: its contributions sorted by |contribution|
        (largest first), the risk verdicts on it, its order events and fills. A learned
        contender's decision that did not trade is explained on first request (from its
        checkpoint and recorded inputs) and the explanation kept in the store."""
        found = store.decision(decision_id)
        if found is None:
            raise HTTPException(404, f"decision {decision_id!r} not found")
        try:
            found, computed = explanations.resolve(store, found, app.state.artifacts)
        except explanations.ExplanationUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        if computed is not None:
            store.close()  # a DuckDB file takes a writer only when this process holds no reader
            explanations.cache(store_url, computed)
        explanation = sorted(
            found.get("explanation") or [],
            key=lambda c: (-abs(c["contribution"]), c["feature"], c["symbol"]),
        )
        found["explanation"] = explanation[:top] if top is not None else explanation
        return found

    @app.get(
        "/runs/{run_id}/events",
        response_class=EventSourceResponse,
        responses=LIVE_EVENTS_RESPONSES,
        tags=["live"],
        summary="Live events of a run (Server-Sent Events)",
        description=LIVE_EVENTS_DOC,
    )
    async def run_events(
        run_id: str,
        last_event_id: Annotated[
            str | None,
            Header(alias="Last-Event-ID", description="resume after this stream id (sent by EventSource on reconnect)"),
        ] = None,
        last_event_id_q: Annotated[
            str | None, Query(alias="last_event_id", description="resume after this stream id (if no header)")
        ] = None,
        from_: Annotated[
            Literal["start", "latest"],
            Query(alias="from", description="without a last event id: from the stream's start, or only new events"),
        ] = "start",
    ) -> EventSourceResponse:
        if events_url is None:
            raise HTTPException(
                503,
                "live events are not configured: start the API with an events URL "
                "(arena serve --events redis://127.0.0.1:6379/0, or ARENA_EVENTS_URL)",
            )
        resume = last_event_id or last_event_id_q
        try:
            after = live_reader.check_stream_id(resume) if resume else None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        client = live_reader.connect(events_url)
        try:
            exists = await live_reader.stream_exists(client, run_id)
            if not exists:
                await run_in_threadpool(_run_without_stream, store_url, busy_timeout_s, run_id)
            if after is None:
                after = await live_reader.latest_id(client, run_id) if from_ == "latest" else live_reader.START
        except RedisError as exc:
            await client.aclose()
            raise HTTPException(
                503, f"live events unavailable: cannot reach redis at {redact_url(events_url)} ({exc})"
            ) from None
        except BaseException:
            await client.aclose()
            raise

        async def entries() -> AsyncIterator[ServerSentEvent]:
            try:
                async for ev in live_reader.follow(client, run_id, after, block_ms=events_block_ms):
                    yield ServerSentEvent(data=ev.data, event=ev.kind, id=ev.id)
            except RedisError as exc:  # the client reconnects with Last-Event-ID and resumes
                log.warning("live events of run %s: redis error, ending the response: %s", run_id, exc)
            finally:
                await client.aclose()

        return EventSourceResponse(entries(), ping=events_ping_s, headers={"Cache-Control": "no-cache"})

    app.include_router(control_views.router())
    app.include_router(run_views.router())  # the page's reads, after the core routes in the docs
    app.include_router(trial_views.router())
    return app


def _downsampled_equity(
    store: Store,
    run_id: str,
    contender: str,
    start: dt.datetime | None,
    end: dt.datetime | None,
    max_points: int,
) -> list[dict[str, Any]]:
    """``GET .../equity?max_points=``: the curve read as columns, the kept points as rows."""
    cols = store.equity_columns(run_id, contender, start, end)
    keep = equity_indices(cols["ts_ns"], cols["equity"], max_points)
    stamps = pd.to_datetime(cols["ts_ns"][keep], utc=True)
    picked = {k: cols[k][keep].tolist() for k in ("bar_index", "equity", "cash", "gross_exposure")}
    return [
        {
            "run_id": run_id,
            "contender": contender,
            "ts": stamps[i].isoformat(),
            **{k: (None if isinstance(v[i], float) and v[i] != v[i] else v[i]) for k, v in picked.items()},
        }
        for i in range(len(keep))
    ]


def _run_without_stream(store_url: str, busy_timeout_s: float, run_id: str) -> None:
    """Raise the HTTP error for a run that has no live stream: 404 (unknown run, or one
    recorded without live events) or 503 (store busy or unusable)."""
    try:
        store = open_store(store_url, read_only=True, busy_timeout_s=busy_timeout_s)
    except StoreBusyError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from None
    except FileNotFoundError:
        raise HTTPException(404, f"run {run_id!r} not found (no live event stream, no store)") from None
    except (ValueError, NotImplementedError) as exc:
        raise HTTPException(503, f"store {store_url!r} is not usable: {exc}") from None
    except ConnectionError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
    try:
        run = store.get_run(run_id)
    finally:
        store.close()
    if run is None:
        raise HTTPException(404, f"run {run_id!r} not found")
    raise HTTPException(
        404,
        f"run {run_id!r} has no live event stream (it ran without an events URL, or the stream was "
        f"evicted); its recorded rows are at /runs/{run_id}",
    )
