"""Stopping a run so that it can go on later, and checking that it can (plain Python, no Ray).

A stop (``arena stop RUN_ID``, SIGTERM or Ctrl-C to ``arena run``) ends the publishing of bars
after the chunk being sent, so that every contender actor has been sent the same bars; each
actor then snapshots its members after those bars (``ContenderActor.checkpoint``, the same
snapshot files as crash recovery, :mod:`arena.recovery`) once their records are written, the
guardian snapshots the arena-wide state, and this module writes the stop point beside them:

``$ARENA_HOME/snapshots/<run_id>/stop.json``
    ``{"format", "run_id", "bars", "last_ns", "first_ns", "mode", "live_from", "failed",
    "stopped_at"}``: the bars every contender had processed, the timestamp of the last one
    (ns since the epoch, UTC), the first bar's, the replay mode, the index of a live run's
    first streamed bar (its warm-up's length), the contender actors already failed (key →
    reason) and when (ISO 8601, UTC).
``$ARENA_HOME/snapshots/<run_id>/guardian.pkl``
    ``RiskGuardianActor.snapshot``.

``arena run CONFIG --resume RUN_ID`` checks with :func:`check_resumable` that the run is
``stopped``, that the config is the one it ran with (but for the keys of
:data:`MAY_DIFFER`) and, for a replay, that the data has the same sha256, then goes on from
the snapshots: the records continue after the stop's bar, with no gap and no duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from arena.recovery import SnapshotFolder, snapshots_root, write_atomic

__all__ = ["MAY_DIFFER", "StopPoint", "check_resumable", "config_differences", "guardian_file", "read_stop",
           "write_stop"]

STOP_FORMAT = "model-arena.stop/1"
MAY_DIFFER: frozenset[str] = frozenset({
    "ray", "events", "events_maxlen", "store", "replay.live_bars", "replay.bar_interval_s", "replay.chunk_bars",
    "replay.max_inflight_chunks",
})
"""Config keys (dotted) a resumed run may change: where it runs and records (``store`` must
still hold the run), how fast bars are published (pace, chunks, and ``replay.mode`` between
``paced`` and ``replay``: the decisions are the same), and ``replay.live_bars``, which counts
the live bars of each session."""


@dataclass(frozen=True)
class StopPoint:
    """Where a stopped run stopped (``stop.json``).

    Attributes:
        run_id: the run.
        bars: bars every contender actor had processed (the resumed run's first bar index).
        last_ns: timestamp of the last of them (ns since the epoch, UTC); None when none was.
        first_ns: timestamp of the run's first bar (ns), None when none was published.
        mode: ``replay.mode`` of the run (``replay``, ``paced`` or ``live``).
        live_from: a live run: the bars of its warm-up (bars before it are observed, not
            traded; a resumed run keeps the first session's count); 0 otherwise.
        failed: contender actor key → reason, for the actors already failed for good.
        stopped_at: when it stopped (ISO 8601, UTC).
    """

    run_id: str
    bars: int
    last_ns: int | None
    first_ns: int | None
    mode: str
    live_from: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    stopped_at: str = ""


def _stop_file(run_id: str) -> Path:
    return snapshots_root(run_id) / "stop.json"


def guardian_file(run_id: str) -> Path:
    """``$ARENA_HOME/snapshots/<run_id>/guardian.pkl``: the guardian's state at the stop."""
    return snapshots_root(run_id) / "guardian.pkl"


def write_stop(point: StopPoint, guardian_state: bytes) -> Path:
    """Write the guardian's snapshot, then ``stop.json`` (last: a stop point names a whole stop).

    Returns:
        The path of ``stop.json``.
    """
    write_atomic(guardian_file(point.run_id), guardian_state)
    stamped = point if point.stopped_at else StopPoint(**{**asdict(point),
                                                          "stopped_at": dt.datetime.now(dt.UTC).isoformat()})
    path = _stop_file(point.run_id)
    write_atomic(path, json.dumps({"format": STOP_FORMAT, **asdict(stamped)}, indent=1).encode())
    return path


def read_stop(run_id: str) -> StopPoint:
    """The stop point of a stopped run.

    Raises:
        FileNotFoundError: no stop point (the run was not stopped here, or its snapshots were
            removed), naming the file and ``ARENA_HOME``.
        ValueError: a file in another format.
    """
    path = _stop_file(run_id)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"run {run_id!r} has no stop snapshot at {path} (it is kept under $ARENA_HOME, "
            "which must be the one the run was stopped with)") from None
    if raw.pop("format", None) != STOP_FORMAT:
        raise ValueError(f"{path}: not a stop point of format {STOP_FORMAT!r}")
    return StopPoint(**raw)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def config_differences(ran: Mapping[str, Any], now: Mapping[str, Any], may_differ: frozenset[str] = MAY_DIFFER,
                       ) -> list[str]:
    """Dotted config keys whose values differ between the config a run ran with and ``now``.

    Both are configs as plain data (``ArenaConfig.to_dict()``, redacted as the store keeps
    it); keys of ``ran`` that ``now`` lacks are provenance (e.g. ``walkforward``) and are not
    compared. Lists (the contenders) compare whole.

    Returns:
        Sorted keys, e.g. ``["contenders", "risk.max_drawdown"]``; empty when they agree.
    """
    def norm(x: Mapping[str, Any]) -> dict[str, Any]:
        return dict(_flatten(json.loads(json.dumps(x, default=str, sort_keys=True))))

    a, b = norm(ran), norm(now)
    keep = {k for k in b if not any(k == m or k.startswith(m + ".") for m in may_differ)}
    return sorted(k for k in keep if a.get(k) != b.get(k))


def check_resumable(run_id: str, row: Mapping[str, Any] | None, config_now: Mapping[str, Any],
                    data_sha256: str, actor_keys: list[str], symbols: list[str]) -> StopPoint:
    """Check that a stopped run can go on with this config and data.

    Args:
        run_id: the run to resume.
        row: its ``runs`` row (``Store.get_run``), None when the store has no such run.
        config_now: the config to resume with, as the store keeps configs (redacted ``to_dict()``).
        data_sha256: the sha256 of the data loaded now (compared for replays; a live run's
            warm-up history moves on, and its bars since the stop are backfilled).
        actor_keys: the contender actor keys of the config (a contender or a ``process`` group).
        symbols: the data's symbols now (they must be the run's, in its order).

    Returns:
        The run's :class:`StopPoint`.

    Raises:
        ValueError: no such run; not ``stopped``; a config that differs (naming the keys); data
            with another sha256 or other symbols; a contender actor without a snapshot.
        FileNotFoundError: no stop point.
    """
    if row is None:
        raise ValueError(f"--resume {run_id}: the store has no run {run_id!r}")
    if row["status"] != "stopped":
        raise ValueError(f"--resume {run_id}: the run is {row['status']}; only a stopped run can be resumed "
                         "(one stopped by `arena stop`, SIGTERM or Ctrl-C with its snapshots)")
    ran = row.get("config") or {}
    diff = config_differences(ran, config_now)
    modes = {(ran.get("replay") or {}).get("mode"), (config_now.get("replay") or {}).get("mode")}
    if modes <= {"paced", "replay"}:  # a stopped paced run may go on as a fast replay: the same decisions
        diff = [k for k in diff if k != "replay.mode"]
    if diff:
        raise ValueError(f"--resume {run_id}: the config differs from the one the run ran with in "
                         f"{', '.join(diff)}; resume it with that config")
    point = read_stop(run_id)
    if point.mode != "live" and row.get("data_sha256") != data_sha256:
        raise ValueError(f"--resume {run_id}: the data has changed (sha256 {data_sha256[:12]}…, the run ran on "
                         f"{str(row.get('data_sha256'))[:12]}…); a replay goes on only over the same bars")
    if list(row.get("symbols") or []) != list(symbols):
        raise ValueError(f"--resume {run_id}: the data's symbols {list(symbols)} are not the run's "
                         f"{list(row.get('symbols') or [])}")
    for key in actor_keys:
        if key not in point.failed and SnapshotFolder.of(run_id, key).latest() is None:
            raise ValueError(f"--resume {run_id}: contender actor {key!r} has no snapshot under "
                             f"{snapshots_root(run_id)}")
    return point
