"""The operator endpoints, behind the kill-switch bearer token: trip and reset the arena-wide
kill switch of a running arena (or, explicitly, of all), and release a contender's latches.

They reach the runs registered on the API's machine (:mod:`arena.control`), whichever Ray
cluster each runs on: ``arena run`` and ``arena serve`` started as the README says (each with
its own Ray) find each other through the registration. :func:`router` is mounted by
:func:`serve.api.create_app`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serve.models import (
    ErrorBody,
    KillSwitchRequest,
    KillSwitchReset,
    KillSwitchResetResponse,
    KillSwitchResponse,
    ReleaseResponse,
)

__all__ = ["KILL_SWITCH_TOKEN_ENV", "router", "token_digest"]

KILL_SWITCH_TOKEN_ENV = "ARENA_KILL_SWITCH_TOKEN"
"""Environment variable holding the kill switch's bearer token; unset → the controls are off."""

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    409: {"model": ErrorBody, "description": "no such running arena (or none at all)"},
    503: {"model": ErrorBody, "description": "controls disabled (no token configured), or the run's Ray unreachable"},
}


def token_digest(token: str) -> str | None:
    """SHA-256 (hex) of a bearer token, or None for an empty one (the controls are then off)."""
    return hashlib.sha256(token.encode()).hexdigest() if token else None


def _authorized(
    request: Request,
    credentials: Annotated[
        HTTPAuthorizationCredentials | None,
        Depends(HTTPBearer(auto_error=False, description=f"token from {KILL_SWITCH_TOKEN_ENV}")),
    ],
) -> None:
    want = request.app.state.kill_switch_sha256 or token_digest(os.environ.get(KILL_SWITCH_TOKEN_ENV, ""))
    if not want:
        raise HTTPException(503, f"kill switch disabled: no token configured (set {KILL_SWITCH_TOKEN_ENV} "
                                 "in the API server's environment)")
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(token_digest(given) or "-", want):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


async def _control(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one :mod:`arena.control` call off the event loop, its errors as HTTP answers."""
    import arena.control as control

    try:
        return await run_in_threadpool(call, *args, **kwargs)
    except control.NoRunError as exc:
        raise HTTPException(409, str(exc)) from None
    except control.NoClusterError as exc:
        raise HTTPException(503, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(404, str(exc)) from None


def router() -> APIRouter:
    """The control routes (``tags=["control"]``), each behind the bearer token."""
    import arena.control as control

    r = APIRouter(tags=["control"], dependencies=[Depends(_authorized)], responses=_RESPONSES)

    @r.post("/kill-switch", status_code=status.HTTP_202_ACCEPTED, response_model=KillSwitchResponse)
    async def kill_switch(body: KillSwitchRequest) -> dict[str, Any]:
        """Trip the arena-wide kill switch of one running arena (``run_id``) or of all
        (``all: true``): from then on its risk guardian denies every exposure-increasing order
        of every contender (reductions still pass), until reset. Answers the run ids tripped."""
        tripped = await _control(control.trip_kill_switch, body.reason, body.run_id, all_runs=body.all)
        if not tripped:
            raise HTTPException(409, "the arena(s) ended before the switch reached them")
        return {"tripped": tripped}

    @r.post("/kill-switch/reset", response_model=KillSwitchResetResponse)
    async def kill_switch_reset(body: KillSwitchReset) -> dict[str, Any]:
        """Reset the arena-wide kill switch of one running arena or of all: orders are vetted
        by the other rules again. Answers the run ids reset."""
        return {"reset": await _control(control.reset_kill_switch, body.run_id, all_runs=body.all)}

    @r.post("/runs/{run_id}/contenders/{name}/release", response_model=ReleaseResponse,
            responses={404: {"model": ErrorBody, "description": "the run has no such contender"}})
    async def release(run_id: str, name: str) -> dict[str, Any]:
        """Lift one contender's latches (drawdown halt, Sharpe-floor suspension) in a running
        arena; recorded as a ``CONTENDER_RELEASED`` event."""
        latched = await _control(control.release_contender, run_id, name)
        return {"run_id": run_id, "contender": name, "latched": latched}

    return r
