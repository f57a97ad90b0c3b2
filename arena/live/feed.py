"""A run's live feed: turns what the recorder writes into live events.

The recorder actor (``arena.actors.recorder``) hands every call to a
:class:`RunEventFeed`; the feed publishes, in the order received:

========================  ================================================================
kind                      payload
========================  ================================================================
``run_started``           ``run_id``, ``name``, ``started_at``, ``symbols``, ``contenders``,
                          ``capital`` (USD), ``seed``, ``periods_per_year``, ``data_sha256``,
                          ``code_version``
``fill``                  a ``fills`` row: ``contender``, ``decision_id``, ``client_order_id``,
                          ``symbol``, ``side``, ``quantity`` (units), ``price``,
                          ``commission``, ``slippage`` (USD), ``ts``/``ts_ns``
``risk_verdict``          a ``risk_verdicts`` row: ``verdict_id``, ``contender``,
                          ``decision_id``, ``symbol``, ``action`` (ALLOW/SCALE/DENY),
                          ``scale``, ``reasons``, ``details``, ``requested``, ``approved``,
                          ``ts``/``ts_ns``
``halt``                  an ``events`` row of a contender (``kind`` CONTENDER_HALTED,
                          CONTENDER_SUSPENDED, CONTENDER_RELEASED, CONTENDER_FAILED),
                          ``reason``, ``details``, ``ts``/``ts_ns``
``kill_switch``           an ``events`` row KILL_SWITCH_TRIPPED / KILL_SWITCH_RESET
``reconciliation``        a ``reconciliation`` row (paper-account cross-check of a mirrored
                          order: quantities, prices, their differences, the running
                          ``running_divergence_bps``, ``rejected_orders``, ``unfilled_orders``)
``broker``                an ``events`` row BROKER_UNAVAILABLE / BROKER_RECOVERED /
                          BROKER_AUTH_FAILED (once per episode of broker trouble)
``leaderboard``           ``{run_id, final, wall_time, rows}``: the live standings
                          (:class:`~arena.live.snapshot.LiveLeaderboard`), at most once per
                          ``snapshot_every_s`` of wall time while equity arrives, and once
                          with ``final: true`` at the end
``run_finished``          ``run_id``, ``status`` (finished/finished_with_failures/killed/failed), ``ended_at``,
                          ``n_bars``, ``leaderboard`` (the rows the run recorded, as
                          ``GET /runs/{id}/leaderboard``; empty for a failed run) and
                          ``standings`` (the final live rows); always the last entry
========================  ================================================================

Every payload also carries ``run_id``. A payload that cannot be built is
logged with its traceback and skipped: the live feed never fails the
recorder (the rows are in the store regardless).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from arena.live.publisher import RedisEventStream
from arena.live.schema import (
    BROKER,
    FILL,
    HALT,
    KILL_SWITCH,
    LEADERBOARD,
    RECONCILIATION,
    RISK_VERDICT,
    RUN_FINISHED,
    RUN_STARTED,
    jsonable,
    ts_fields,
)
from arena.live.snapshot import LiveLeaderboard

__all__ = ["Event", "RunEventFeed", "row_payload"]

log = logging.getLogger(__name__)

_STATUS_OF_EVENT = {
    "CONTENDER_HALTED": "halted",
    "CONTENDER_SUSPENDED": "suspended",
    "CONTENDER_RELEASED": "ok",
    "CONTENDER_FAILED": "failed",
}

Event = tuple[str, dict[str, Any]]


def row_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    """A store row as an event payload: ``*_json`` keys lose the suffix, ``ts`` (ns)
    becomes ``ts`` (ISO-8601 UTC) plus ``ts_ns``; values made JSON-safe."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "ts":
            out.update(ts_fields(value))
        elif key.endswith("_json"):
            out[key[: -len("_json")]] = jsonable(value)
        else:
            out[key] = jsonable(value)
    return out


def _records(rows: Any) -> Sequence[Mapping[str, Any]]:
    """Row dicts of a batch value: a list of dicts, a DataFrame, or an Arrow table
    (:func:`arena.records.to_batch`: its ``ts`` back to ns, its ``*_json`` text decoded,
    internal columns left out)."""
    if hasattr(rows, "to_pylist") and hasattr(rows, "schema"):
        return _arrow_rows(rows)
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        return rows.to_dict("records")
    return rows


def _equity_columns(rows: Any) -> Any:
    """Equity rows as ``update_frame`` takes them; an Arrow table becomes columns with ``ts`` in ns."""
    if not (hasattr(rows, "to_pylist") and hasattr(rows, "schema")):
        return rows
    import pyarrow as pa

    cols = {n: rows.column(n).to_numpy() for n in ("contender", "bar_index", "equity")}
    cols["ts"] = rows.column("ts").cast(pa.int64()).to_numpy() * 1000
    return cols


def _arrow_rows(batch: Any) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.compute as pc

    out = batch.drop_columns([n for n in ("seq",) if n in batch.schema.names])
    for i, field in enumerate(out.schema):
        if pa.types.is_timestamp(field.type):
            ns = pc.multiply(out.column(i).cast(pa.int64()), 1000)
            out = out.set_column(i, field.name, ns)
    rows = out.to_pylist()
    json_cols = [n for n in out.schema.names if n.endswith("_json")]
    for r in rows:
        for n in json_cols:
            if r[n] is not None:
                r[n] = json.loads(r[n])
    return rows


class RunEventFeed:
    """Publishes one run's live events as its recorder receives rows.

    Args:
        stream: the run's :class:`~arena.live.publisher.RedisEventStream`.
        snapshot_every_s: least wall time between two leaderboard snapshots (seconds).
        clock: monotonic clock (seconds), replaceable in tests.
    """

    def __init__(
        self,
        stream: RedisEventStream,
        *,
        snapshot_every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if snapshot_every_s < 0:
            raise ValueError(f"snapshot_every_s must be >= 0 seconds, got {snapshot_every_s}")
        self.stream = stream
        self.run_id = stream.run_id
        self.snapshot_every_s = snapshot_every_s
        self._clock = clock
        self._board = LiveLeaderboard()
        self._last_snapshot = float("-inf")
        self._equity_since_snapshot = False
        self._final_rows: list[dict[str, Any]] = []
        self.finished = False

    def run_started(self, run: Mapping[str, Any]) -> None:
        """Publish ``run_started`` for the run record given to ``Store.create_run``."""
        config = run.get("config") or {}
        capital = config.get("capital")
        names = [c["name"] for c in config.get("contenders", []) if "name" in c]
        self._board = LiveLeaderboard(float(capital) if capital else None, names)
        payload = {
            "run_id": run.get("run_id", self.run_id),
            "name": run.get("name"),
            "started_at": run.get("started_at"),
            "symbols": list(run.get("symbols") or []),
            "contenders": names,
            "capital": capital,
            "seed": run.get("seed"),
            "periods_per_year": run.get("periods_per_year"),
            "data_sha256": run.get("data_sha256"),
            "code_version": run.get("code_version"),
        }
        self._publish([(RUN_STARTED, payload)])

    def on_batch(self, batch: Mapping[str, Any]) -> None:
        """Publish the events in a recorder batch (table → rows) and, when due, a snapshot."""
        try:
            events = self._events_of(batch)
        except Exception:  # noqa: BLE001 - the live feed must never fail the recorder
            log.exception("live events: could not build events of run %s from a batch of %s", self.run_id,
                          sorted(batch))
            return
        if self._equity_since_snapshot and self._clock() - self._last_snapshot >= self.snapshot_every_s:
            events.append(self._snapshot(final=False))
        self._publish(events)

    def run_finished(self, ended_at: Any, status: str, n_bars: int) -> None:
        """Publish the final ``leaderboard`` snapshot and ``run_finished`` (once; later calls are ignored)."""
        if self.finished:
            return
        self.finished = True
        final = self._snapshot(final=True)
        payload = {
            "run_id": self.run_id,
            "status": status,
            "ended_at": ended_at,
            "n_bars": n_bars,
            "leaderboard": self._final_rows,
            "standings": final[1]["rows"],
        }
        self._publish([final, (RUN_FINISHED, payload)])

    def close(self) -> None:
        """Close the Redis connection."""
        self.stream.close()

    # ------------------------------------------------------------------ internals
    def _events_of(self, batch: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        for table, rows in batch.items():
            if table == "equity":
                if len(rows):
                    self._board.update_frame(_equity_columns(rows))
                    self._equity_since_snapshot = True
            elif table == "fills":
                events.extend(self._row_events(FILL, rows))
            elif table == "risk_verdicts":
                events.extend(self._row_events(RISK_VERDICT, rows))
            elif table == "reconciliation":
                events.extend(self._row_events(RECONCILIATION, rows))
            elif table == "events":
                for r in _records(rows):
                    kind = str(r.get("kind", ""))
                    if kind.startswith("KILL_SWITCH"):
                        events.extend(self._row_events(KILL_SWITCH, [r]))
                    elif kind.startswith("BROKER_"):
                        events.extend(self._row_events(BROKER, [r]))
                    elif kind in _STATUS_OF_EVENT:
                        if r.get("contender"):
                            status = _STATUS_OF_EVENT[kind]
                            self._board.set_status(str(r["contender"]), status, str(r.get("reason", "")))
                        events.extend(self._row_events(HALT, [r]))
            elif table == "leaderboard":
                self._final_rows = [payload for _kind, payload in self._row_events(LEADERBOARD, rows)]
        return events

    def _row_events(self, kind: str, rows: Any) -> list[Event]:
        """``(kind, payload)`` per row; a row of no JSON form is logged and skipped (the store has it)."""
        out: list[Event] = []
        for r in _records(rows):
            try:
                out.append((kind, row_payload(r)))
            except (TypeError, ValueError):
                log.exception("live events: could not encode a %s event of run %s; skipped (the store has "
                              "the row)", kind, self.run_id)
        return out

    def _snapshot(self, final: bool) -> Event:
        self._last_snapshot = self._clock()
        self._equity_since_snapshot = False
        return (
            LEADERBOARD,
            {
                "run_id": self.run_id,
                "final": final,
                "wall_time": dt.datetime.now(dt.UTC),
                "rows": self._board.rows(),
            },
        )

    def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        try:
            self.stream.publish_many(events)
        except (TypeError, ValueError):  # cannot happen for rows checked by _row_events; logged if it does
            log.exception("live events: could not encode %d events of run %s", len(events), self.run_id)
