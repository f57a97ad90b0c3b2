"""The reads the arena page needs besides the core API: a run's status, its fills, risk
verdicts, bars (OHLCV, for candles), a contender's positions over time, and the runs that
have a live event stream. Each is a plain JSON endpoint with a response model, documented
in /openapi.json like the rest; :func:`router` is mounted by :func:`serve.api.create_app`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from redis.exceptions import RedisError

import arena.live.reader as live_reader
from arena.live.schema import RUN_FINISHED, RUN_STARTED, STREAM_KEY_PREFIX, decode_entry, redact_url
from arena.store import Store
from arena.store.schema import KILL_SWITCH_EVENT_PREFIX
from serve.deps import EndQuery, StartQuery, StoreDep, bounds, contender_or_404, run_or_404
from serve.downsample import even_indices, ohlc_buckets
from serve.models import Bar, ErrorBody, FillOut, LiveRun, PositionPoint, ReconciliationOut, RunStatus, Verdict

__all__ = ["CONTENDER_STATES", "router"]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "unknown run, contender or symbol"},
    503: {"model": ErrorBody, "description": "store missing, unusable or busy"},
}

CONTENDER_STATES: dict[str, str] = {
    "CONTENDER_HALTED": "halted",
    "CONTENDER_SUSPENDED": "suspended",
    "CONTENDER_FAILED": "failed",
    "CONTENDER_RELEASED": "ok",
}
"""``events.kind`` → the contender status it leaves (the latest such event wins)."""

MaxPoints = Annotated[
    int,
    Query(ge=8, le=100_000, description="at most this many points per series, downsampled on the server"),
]


def _iso(ts_ns: np.ndarray) -> list[str]:
    """ISO-8601 UTC strings (``+00:00``) of ns timestamps, as the store's reads give them."""
    return [t.isoformat() for t in pd.to_datetime(np.asarray(ts_ns, dtype="int64"), utc=True)]


def _ns(iso: list[str]) -> np.ndarray:
    return pd.to_datetime(pd.Series(iso, dtype="object"), utc=True, format="ISO8601").astype("int64").to_numpy()


def _symbol_or_404(run: dict[str, Any], symbol: str) -> None:
    if symbol not in run["symbols"]:
        raise HTTPException(
            404, f"symbol {symbol!r} not found in run {run['run_id']!r} (symbols: {', '.join(run['symbols'])})"
        )


def run_status(store: Store, run: dict[str, Any]) -> dict[str, Any]:
    """The :class:`~serve.models.RunStatus` of a run row: contenders' latest halt /
    failure / release, and whether the kill switch is tripped (its latest event)."""
    run_id = run["run_id"]
    events = store.events(run_id)
    configured = [c.get("name") for c in (run.get("config") or {}).get("contenders", []) if isinstance(c, dict)]
    names = list(dict.fromkeys([n for n in configured if n] + store.contenders(run_id)))
    states = {name: {"contender": name, "status": "ok", "reason": None, "ts": None} for name in names}
    tripped, why = False, None
    for ev in events:
        if ev["kind"].startswith(KILL_SWITCH_EVENT_PREFIX):
            tripped = ev["kind"].endswith("TRIPPED")
            why = ev["reason"] if tripped else None
        state = CONTENDER_STATES.get(ev["kind"])
        if state is not None and ev["contender"]:
            ok = state == "ok"
            states[ev["contender"]] = {
                "contender": ev["contender"],
                "status": state,
                "reason": None if ok else ev["reason"],
                "ts": None if ok else ev["ts"],
            }
    return {
        "run_id": run_id,
        "status": run["status"],
        "n_bars": run["n_bars"],
        "kill_switch_tripped": tripped,
        "kill_switch_reason": why,
        "contenders": list(states.values()),
        "events": events,
    }


def positions(store: Store, run: dict[str, Any], contender: str, max_points: int) -> list[dict[str, Any]]:
    """A contender's position in every symbol it traded, after each of (at most
    ``max_points``, evenly spaced) bars: quantity from the cumulative signed fills, valued
    at the symbol's close on that bar (the last fill price when the run recorded no bar
    there), and its weight = market value / equity."""
    run_id = run["run_id"]
    eq = store.equity_columns(run_id, contender)
    fills = store.fills(run_id, contender=contender)
    if not len(eq["ts_ns"]) or not fills:
        return []
    pick = even_indices(len(eq["ts_ns"]), max_points)
    bar_ts, bar_index, equity = eq["ts_ns"][pick], eq["bar_index"][pick], eq["equity"][pick]
    frame = pd.DataFrame(fills)
    frame["ts_ns"] = _ns(frame["ts"].tolist())
    frame["signed"] = np.where(frame["side"] == "BUY", 1.0, -1.0) * frame["quantity"]
    iso = _iso(bar_ts)
    out: list[dict[str, Any]] = []
    for symbol in sorted(frame["symbol"].unique()):
        own = frame[frame["symbol"] == symbol]
        at = np.searchsorted(own["ts_ns"].to_numpy(), bar_ts, side="right")  # fills with ts <= the bar's
        held = np.concatenate([[0.0], np.cumsum(own["signed"].to_numpy())])[at]
        last_fill = np.concatenate([[np.nan], own["price"].to_numpy()])[at]
        price = last_fill
        bars = store.bars(run_id, symbol)
        if bars:
            b_ts = _ns([b["ts"] for b in bars])
            close = np.array([b["close"] for b in bars], dtype="float64")
            j = np.searchsorted(b_ts, bar_ts, side="right") - 1
            on_bar = (j >= 0) & (b_ts[np.clip(j, 0, None)] == bar_ts)
            price = np.where(on_bar, close[np.clip(j, 0, None)], last_fill)
        value = held * price
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(equity > 0, value / equity, np.nan)
        for k in range(len(pick)):
            if held[k] == 0.0 and (k == 0 or held[k - 1] == 0.0) and at[k] == 0:
                continue  # before its first fill
            out.append(
                {
                    "ts": iso[k],
                    "bar_index": int(bar_index[k]),
                    "symbol": symbol,
                    "quantity": float(held[k]),
                    "price": _finite(price[k]),
                    "market_value": _finite(value[k]),
                    "weight": _finite(weight[k]),
                }
            )
    return out


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def router() -> APIRouter:
    """The page's read endpoints (tags ``runs`` and ``live``)."""
    api = APIRouter()

    @api.get("/runs/{run_id}/status", response_model=RunStatus, responses=_NOT_FOUND, tags=["runs"])
    def status(run_id: str, store: StoreDep) -> dict[str, Any]:
        """Where the run stands: ``status`` (running / finished / failed / killed), whether the
        arena-wide kill switch is tripped (and why), each contender ``ok``, ``halted``,
        ``suspended`` or ``failed`` with its reason, and every arena event."""
        return run_status(store, run_or_404(store, run_id))

    @api.get("/runs/{run_id}/fills", response_model=list[FillOut], responses=_NOT_FOUND, tags=["runs"])
    def fills(
        run_id: str,
        store: StoreDep,
        contender: Annotated[str | None, Query(description="only this contender")] = None,
        symbol: Annotated[str | None, Query(description="only this symbol")] = None,
        start: StartQuery = None,
        end: EndQuery = None,
    ) -> list[dict[str, Any]]:
        """The run's fills (executions) in time order: quantity in units, price after
        slippage and commission in USD, with the decision that caused each."""
        start_utc, end_utc = bounds(start, end)
        run = run_or_404(store, run_id)
        if contender is not None:
            contender_or_404(store, run_id, contender)
        if symbol is not None:
            _symbol_or_404(run, symbol)
        return store.fills(run_id, contender, symbol, start_utc, end_utc)

    @api.get(
        "/runs/{run_id}/reconciliation", response_model=list[ReconciliationOut], responses=_NOT_FOUND, tags=["runs"]
    )
    def reconciliation(
        run_id: str,
        store: StoreDep,
        contender: Annotated[str | None, Query(description="only this mirrored contender")] = None,
    ) -> list[dict[str, Any]]:
        """Paper-account cross-checks (config ``broker.mirror``): per mirrored order, its paper fill
        against its internal fill (quantity and price differences) in time order, each row with
        its contender's running divergence (bps of traded value) and counts of orders the
        broker rejected or never filled. Empty for a run without mirroring."""
        run_or_404(store, run_id)
        if contender is not None:
            contender_or_404(store, run_id, contender)
        return store.reconciliation(run_id, contender)

    @api.get(
        "/runs/{run_id}/risk-verdicts", response_model=list[Verdict], responses=_NOT_FOUND, tags=["runs"]
    )
    def risk_verdicts(
        run_id: str,
        store: StoreDep,
        contender: Annotated[str | None, Query(description="only this contender")] = None,
        action: Annotated[
            list[str] | None, Query(description="only these actions (repeatable): ALLOW, SCALE, DENY")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=100_000, description="at most this many, earliest first")] = 10_000,
    ) -> list[dict[str, Any]]:
        """The risk guardian's verdicts in time order, with their reason codes."""
        run_or_404(store, run_id)
        if contender is not None:
            contender_or_404(store, run_id, contender)
        if action is not None:
            bad = sorted(set(action) - {"ALLOW", "SCALE", "DENY"})
            if bad:
                raise HTTPException(422, f"action: expected ALLOW, SCALE or DENY, got {', '.join(bad)}")
        return store.risk_verdicts(run_id, contender, action, limit)

    @api.get("/runs/{run_id}/bars/{symbol}", response_model=list[Bar], responses=_NOT_FOUND, tags=["runs"])
    def bars(
        run_id: str,
        symbol: str,
        store: StoreDep,
        start: StartQuery = None,
        end: EndQuery = None,
        max_points: MaxPoints = 5_000,
    ) -> list[dict[str, Any]]:
        """OHLCV bars of a symbol as the run saw them (for candles), in time order; more
        than ``max_points`` bars are merged into ``max_points`` candles of consecutive bars.
        Empty for a run that recorded no bars."""
        start_utc, end_utc = bounds(start, end)
        run = run_or_404(store, run_id)
        _symbol_or_404(run, symbol)
        rows = store.bars(run_id, symbol, start_utc, end_utc)
        if len(rows) <= max_points:
            return [{**r, "n_bars": 1} for r in rows]
        ts = _ns([r["ts"] for r in rows])
        cols = {k: np.array([r[k] for r in rows], dtype="float64") for k in ("open", "high", "low", "close", "volume")}
        ts_out, merged, counts = ohlc_buckets(ts, cols, max_points)
        iso = _iso(ts_out)
        return [
            {"symbol": symbol, "ts": iso[i], **{k: float(v[i]) for k, v in merged.items()}, "n_bars": int(counts[i])}
            for i in range(len(ts_out))
        ]

    @api.get(
        "/runs/{run_id}/contenders/{name}/positions",
        response_model=list[PositionPoint],
        responses=_NOT_FOUND,
        tags=["runs"],
    )
    def contender_positions(
        run_id: str, name: str, store: StoreDep, max_points: MaxPoints = 2_000
    ) -> list[dict[str, Any]]:
        """A contender's positions and weights over time, per symbol it traded: units held
        after each bar (from its fills), valued at the bar's close (USD), and the weight
        = market value / equity (fraction). At most ``max_points`` bars, evenly spaced."""
        run = run_or_404(store, run_id)
        contender_or_404(store, run_id, name)
        return positions(store, run, name, max_points)

    @api.get(
        "/live/runs",
        response_model=list[LiveRun],
        responses={503: {"model": ErrorBody, "description": "no events URL configured, or Redis unreachable"}},
        tags=["live"],
    )
    async def live_runs(request: Request) -> list[dict[str, Any]]:
        """Runs that have a live event stream in Redis, newest first, whether still going or
        finished: what the page lists when the store is busy (a DuckDB file being written)."""
        url: str | None = request.app.state.events_url
        if url is None:
            raise HTTPException(503, "live events are not configured: start the API with an events URL")
        client = live_reader.connect(url)
        try:
            found: list[dict[str, Any]] = []
            async for key in client.scan_iter(match=STREAM_KEY_PREFIX + "*", count=500, _type="stream"):
                first = await client.xrange(key, count=1)
                last = await client.xrevrange(key, count=1)
                if not first or not last:
                    continue
                # decode_responses=True: the entries hold str, which redis-py types as bytes | str
                found.append(_live_run(key.removeprefix(STREAM_KEY_PREFIX), first[0], last[0]))  # type: ignore[arg-type]
        except RedisError as exc:
            raise HTTPException(
                503, f"live events unavailable: cannot reach redis at {redact_url(url)} ({exc})"
            ) from None
        finally:
            await client.aclose()
        found.sort(key=lambda r: (r["started_at"] or "", r["run_id"]), reverse=True)
        return found

    return api


def _live_run(run_id: str, first: tuple[str, dict[str, str]], last: tuple[str, dict[str, str]]) -> dict[str, Any]:
    kind, data = decode_entry(first[1])
    started = json.loads(data) if kind == RUN_STARTED else {}
    return {
        "run_id": run_id,
        "name": started.get("name"),
        "started_at": started.get("started_at"),
        "contenders": list(started.get("contenders") or []),
        "symbols": list(started.get("symbols") or []),
        "capital": started.get("capital"),
        "finished": decode_entry(last[1])[0] == RUN_FINISHED,
        "last_event_id": last[0],
    }
