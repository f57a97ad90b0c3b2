"""Request dependencies shared by the API's routes: the store per request, the 404s of
unknown runs and contenders, and the time bounds of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request

from arena.secrets import redact
from arena.store import Store, StoreBusyError, open_store

__all__ = [
    "EndQuery",
    "StartQuery",
    "StoreDep",
    "as_utc",
    "bounds",
    "contender_or_404",
    "get_store",
    "run_or_404",
]

StartQuery = Annotated[
    dt.datetime | None,
    Query(description="only rows with ts >= start; ISO-8601, read as UTC when it has no offset"),
]
EndQuery = Annotated[
    dt.datetime | None,
    Query(description="only rows with ts <= end; ISO-8601, read as UTC when it has no offset"),
]


def get_store(request: Request) -> Iterator[Store]:
    """Per-request dependency: the app's store opened read-only, closed after the answer."""
    store_url: str = request.app.state.store_url
    try:
        store = open_store(
            store_url, read_only=True, busy_timeout_s=request.app.state.busy_timeout_s
        )
    except StoreBusyError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "1"}) from None
    except FileNotFoundError as exc:
        raise HTTPException(503, f"store {store_url!r} not found: {exc}") from None
    except (ValueError, NotImplementedError) as exc:
        raise HTTPException(503, f"store {store_url!r} is not usable: {exc}") from None
    except ConnectionError as exc:  # a store server (QuestDB) that does not answer
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None
    try:
        yield store
    finally:
        store.close()


StoreDep = Annotated[Store, Depends(get_store)]


def run_or_404(store: Store, run_id: str) -> dict[str, Any]:
    """The run's row, credentials redacted (:func:`arena.secrets.redact`), or 404."""
    run = store.get_run(run_id)
    if run is None:
        raise HTTPException(404, f"run {run_id!r} not found")
    return redact(run)


def contender_or_404(store: Store, run_id: str, name: str) -> None:
    names = store.contenders(run_id)
    if name not in names:
        raise HTTPException(
            404, f"contender {name!r} not found in run {run_id!r} (contenders: {', '.join(names)})"
        )


def bounds(
    start: dt.datetime | None, end: dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Query bounds in UTC (naive → UTC); start after end → 422."""
    start_utc = as_utc(start, "start")
    end_utc = as_utc(end, "end")
    if start_utc is not None and end_utc is not None and start_utc > end_utc:
        raise HTTPException(
            422, f"start {start_utc.isoformat()} is after end {end_utc.isoformat()}"
        )
    return start_utc, end_utc


_EARLIEST = dt.datetime(1677, 9, 22, tzinfo=dt.UTC)  # int64 ns since the epoch: the stores' range
_LATEST = dt.datetime(2262, 4, 11, tzinfo=dt.UTC)


def as_utc(value: dt.datetime | None, what: str = "timestamp") -> dt.datetime | None:
    """``value`` in UTC (naive → UTC).

    Raises:
        HTTPException: 422 naming ``what``, for an instant outside 1677-09-22 … 2262-04-11 UTC
            (the range of int64 nanoseconds, which bar timestamps are).
    """
    if value is None:
        return None
    try:
        utc = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not _EARLIEST <= utc <= _LATEST:
        raise HTTPException(
            422, f"{what} {value.isoformat()} is out of range: expected an instant between "
            f"{_EARLIEST.date()} and {_LATEST.date()} (UTC)"
        )
    return utc
