"""Operator controls of running arenas: the kill switch, its reset, and releasing a contender.

A run registers its control address when its risk guardian is up: one JSON file per run in
``$ARENA_HOME/control/<run_id>.json`` (:func:`register`), holding the Ray address of the
run's cluster, the namespace, the guardian's actor name and the driver's host and pid. It is
removed when the run ends (:func:`unregister`). Controls reach only registered runs, by run
id or, explicitly, all of them: never whatever Ray cluster happens to run on the machine.

How a control reaches a run's guardian, from the process that asks:

* a process already connected to the run's cluster (a test, a driver, Serve on that
  cluster) calls the guardian directly;
* a process not connected to any Ray (``arena kill-switch``) connects to the run's cluster
  with Ray's token authentication (``RAY_AUTH_MODE=token``, the token in
  ``~/.ray/auth_token``, as Ray writes it), calls, and disconnects;
* a process connected to another cluster (the replicas of ``arena serve``, which starts its
  own Ray) runs ``python -m arena.control`` in a child process, which connects as above:
  one Ray driver cannot join two clusters. That costs a second or two per control.

A registration whose driver process is gone (the driver was killed) is *stale*: it is not
listed, and :func:`mark_interrupted` marks such a run ``interrupted`` in the store the next
time a process opens it for writing (a new run's recorder does).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from arena.cluster import arena_home

NAMESPACE = "model-arena"
"""Ray namespace of every arena actor."""
GUARDIAN_PREFIX = "guardian:"
"""A run's risk guardian is the named actor ``guardian:<run_id>`` in :data:`NAMESPACE`."""

CONTROL_TIMEOUT_S = 60.0
"""Longest a control waits for a child process (connecting to the run's Ray and calling)."""

__all__ = [
    "GUARDIAN_PREFIX",
    "NAMESPACE",
    "ControlEntry",
    "NoClusterError",
    "NoRunError",
    "mark_interrupted",
    "recover_store",
    "register",
    "registered",
    "release_contender",
    "reset_kill_switch",
    "running_arenas",
    "stop_run",
    "trip_kill_switch",
    "unregister",
]


class NoClusterError(RuntimeError):
    """The Ray cluster of a registered run could not be reached."""


class NoRunError(LookupError):
    """No registered running arena matches (a run id that is not running here, or none at all)."""


class _Gone(Exception):
    """The run's guardian is gone: the run ended between the listing and the call."""


@dataclass(frozen=True)
class ControlEntry:
    """How to reach one running arena.

    Attributes:
        run_id: the run.
        name: the run's name (``cfg.name``).
        ray_address: GCS address (``host:port``) of the run's Ray cluster.
        namespace: Ray namespace of its actors.
        guardian: actor name of its risk guardian.
        host: host name of the driver process.
        pid: driver process id.
        registered_at_ns: wall-clock registration time, ns since the epoch.
    """

    run_id: str
    name: str
    ray_address: str
    namespace: str
    guardian: str
    host: str
    pid: int
    registered_at_ns: int

    def driver_alive(self) -> bool:
        """False only when the driver ran on this host and its process is gone."""
        if self.host != socket.gethostname():
            return True  # cannot tell from here
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: it exists
            return True
        return True


def _folder() -> Path:
    return arena_home() / "control"


def register(run_id: str, name: str, ray_address: str) -> Path:
    """Register a running arena's control address (written atomically). Called by the
    driver once the run's guardian is up.

    Returns:
        The registration file.
    """
    entry = ControlEntry(run_id, name, ray_address, NAMESPACE, GUARDIAN_PREFIX + run_id,
                         socket.gethostname(), os.getpid(), time.time_ns())
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.json"
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(asdict(entry)))
    os.replace(tmp, path)
    return path


def unregister(run_id: str) -> None:
    """Remove a run's registration (the run ended); a missing one is fine."""
    (_folder() / f"{run_id}.json").unlink(missing_ok=True)


def _entries() -> list[ControlEntry]:
    out = []
    for path in sorted(_folder().glob("*.json")):
        try:
            out.append(ControlEntry(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):  # a file being replaced, or not ours
            continue
    return out


def registered(address: str | None = None) -> list[ControlEntry]:
    """The registered arenas whose driver is alive, by run id.

    Args:
        address: only those on the Ray cluster at this GCS address (``host:port``).
    """
    return [e for e in _entries() if e.driver_alive() and (address is None or e.ray_address == address)]


def running_arenas(address: str | None = None) -> list[str]:
    """Run ids of the registered running arenas (see :func:`registered`)."""
    return [e.run_id for e in registered(address)]


def _targets(run_id: str | None, all_runs: bool, address: str | None) -> list[ControlEntry]:
    if (run_id is None) == (not all_runs):
        raise ValueError("name one run (run_id) or ask for all runs (all_runs=True), not both or neither")
    found = registered(address)
    if run_id is not None:
        found = [e for e in found if e.run_id == run_id]
        if not found:
            where = f" on the Ray cluster at {address}" if address else ""
            raise NoRunError(f"no running arena with run_id {run_id!r}{where}")
    elif not found:
        raise NoRunError("no running arena is registered" + (f" on the Ray cluster at {address}" if address else ""))
    return found


def _call(entry: ControlEntry, method: str, *args: Any) -> Any:
    """Call ``method`` on the run's guardian, from wherever this process is (see the module)."""
    import ray

    if ray.is_initialized():
        if ray.get_runtime_context().gcs_address == entry.ray_address:
            return _on_guardian(entry, method, *args)
        return _call_in_child(entry, method, *args)
    _token_auth()
    try:
        ray.init(address=entry.ray_address, namespace=entry.namespace, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError) as exc:
        raise NoClusterError(f"run {entry.run_id!r}: cannot reach its Ray cluster at {entry.ray_address}: "
                             f"{exc}") from None
    try:
        return _on_guardian(entry, method, *args)
    finally:
        ray.shutdown()


def _on_guardian(entry: ControlEntry, method: str, *args: Any) -> Any:
    import ray

    try:
        handle = ray.get_actor(entry.guardian, namespace=entry.namespace)
    except ValueError:  # no such named actor
        raise _Gone(entry.run_id) from None
    try:
        return ray.get(getattr(handle, method).remote(*args), timeout=CONTROL_TIMEOUT_S)
    except ray.exceptions.RayActorError:
        raise _Gone(entry.run_id) from None
    except ray.exceptions.RayTaskError as exc:
        raise exc.as_instanceof_cause() from None


def _call_in_child(entry: ControlEntry, method: str, *args: Any) -> Any:
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    cmd = [sys.executable, "-m", "arena.control", json.dumps({"entry": asdict(entry), "method": method,
                                                                "args": list(args)})]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=CONTROL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise NoClusterError(f"run {entry.run_id!r}: no answer from its Ray cluster at {entry.ray_address} "
                             f"within {CONTROL_TIMEOUT_S:g} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise NoClusterError(f"run {entry.run_id!r}: the control process failed: "
                             f"{(done.stderr.strip().splitlines() or ['no output'])[-1][:500]}")
    answer = json.loads(lines[-1])
    if answer.get("gone"):
        raise _Gone(entry.run_id)
    if "value_error" in answer:
        raise ValueError(answer["value_error"])
    if "error" in answer:
        raise NoClusterError(f"run {entry.run_id!r}: {answer['error']}")
    return answer["result"]


def _token_auth() -> None:
    from arena.topology import _token_auth as enable

    enable()


def _each(targets: list[ControlEntry], method: str, *args: Any) -> list[str]:
    done = []
    for entry in targets:
        try:
            _call(entry, method, *args)
        except _Gone:
            continue  # the run ended in the meantime
        done.append(entry.run_id)
    return done


def trip_kill_switch(reason: str, run_id: str | None = None, *, all_runs: bool = False,
                     address: str | None = None) -> list[str]:
    """Trip the arena-wide kill switch of one registered running arena, or of all of them.

    From then on the guardian denies every order that would increase exposure (reason
    ``ARENA_KILL_SWITCH``); the trip is recorded as an event of the run. It lasts until
    :func:`reset_kill_switch`.

    Args:
        reason: why (recorded with the trip).
        run_id: the run; or ``all_runs=True`` for every registered one.
        address: only runs on the Ray cluster at this GCS address.

    Returns:
        The run ids whose guardian was tripped.

    Raises:
        ValueError: empty reason, or neither / both of ``run_id`` and ``all_runs``.
        NoRunError: no matching registered running arena.
        NoClusterError: a run's Ray cluster could not be reached.
    """
    if not reason.strip():
        raise ValueError("a kill-switch reason is required")
    return _each(_targets(run_id, all_runs, address), "trip_kill_switch", reason)


def reset_kill_switch(run_id: str | None = None, *, all_runs: bool = False, address: str | None = None) -> list[str]:
    """Reset the arena-wide kill switch of one registered running arena, or of all: orders
    are vetted by the other rules again. Recorded as an event. Returns the run ids reset.

    Raises:
        ValueError, NoRunError, NoClusterError: as :func:`trip_kill_switch`.
    """
    return _each(_targets(run_id, all_runs, address), "reset_kill_switch")


def release_contender(run_id: str, contender: str, *, address: str | None = None) -> list[str]:
    """Lift one contender's latches (drawdown halt, Sharpe-floor suspension) in a running arena.

    Returns:
        The reason codes that were latched (empty when none was).

    Raises:
        NoRunError: the run is not a registered running arena.
        NoClusterError: its Ray cluster could not be reached.
        ValueError: the run has no such contender.
    """
    (entry,) = _targets(run_id, False, address)
    try:
        return list(_call(entry, "release_contender", contender))
    except _Gone:
        raise NoRunError(f"run {run_id!r} ended before its contender could be released") from None


def stop_run(run_id: str) -> int:
    """Stop a running arena as SIGTERM to its driver would (``arena stop RUN_ID``): the driver
    stops publishing bars, snapshots every contender and the guardian, marks the run
    ``stopped`` (``arena run CONFIG --resume RUN_ID`` goes on with it) and exits within seconds.

    Returns:
        The driver's pid the signal went to.

    Raises:
        NoRunError: the run is not a registered running arena.
        NoClusterError: its driver runs on another host (stop it there).
    """
    import signal

    (entry,) = _targets(run_id, False, None)
    if entry.host != socket.gethostname():
        raise NoClusterError(f"run {run_id!r}: its driver runs on host {entry.host!r} (pid {entry.pid}); "
                             "run `arena stop` there")
    try:
        os.kill(entry.pid, signal.SIGTERM)
    except ProcessLookupError:
        raise NoRunError(f"run {run_id!r} ended before it could be stopped") from None
    return entry.pid


def mark_interrupted(store: Any) -> list[str]:
    """Mark ``interrupted`` the runs of ``store`` still ``running`` whose driver is gone.

    A run is found by its stale registration (its driver ran on this host and its process no
    longer exists): the run's driver was killed before it could mark the run's end. Its rows
    stay; ``n_bars`` is the count of bars with an equity row of the run. The registration is
    removed once the run is marked. Registrations of runs this store does not hold are left
    for the store that does.

    Args:
        store: a writable :class:`arena.store.Store`.

    Returns:
        The run ids marked.
    """
    import datetime as dt

    marked = []
    for entry in _entries():
        if entry.driver_alive():
            continue
        run = store.get_run(entry.run_id)
        if run is None:
            continue
        if run["status"] == "running":
            n_bars = len({row["ts"] for c in store.contenders(entry.run_id)
                          for row in store.equity_curve(entry.run_id, c)})
            store.finish_run(entry.run_id, dt.datetime.now(dt.UTC), "interrupted", n_bars)
            marked.append(entry.run_id)
        unregister(entry.run_id)
    return marked


def _main() -> None:
    """``python -m arena.control '{"entry": ..., "method": ..., "args": [...]}'``: one control
    call from a fresh process (see the module); prints ``{"result": ...}`` or ``{"error": ...}``."""
    parser = argparse.ArgumentParser(prog="python -m arena.control")
    parser.add_argument("request", help="JSON: entry (a ControlEntry), method, args")
    req = json.loads(parser.parse_args().request)
    entry = ControlEntry(**req["entry"])
    try:
        result = _call(entry, req["method"], *req["args"])
    except _Gone:
        print(json.dumps({"gone": True}))
        return
    except ValueError as exc:
        print(json.dumps({"value_error": str(exc)}))
        return
    except NoClusterError as exc:
        print(json.dumps({"error": str(exc)}))
        return
    print(json.dumps({"result": result}, default=str))


if __name__ == "__main__":
    _main()


def recover_store(store_url: str) -> list[str]:
    """Bring a store up to date before serving it: open it for writing once, so that a QuestDB
    store re-sends the spools earlier writers left (their runs' rows and final statuses arrive),
    and mark ``interrupted`` the runs whose driver is gone (:func:`mark_interrupted`). A DuckDB
    file another process is writing is left alone (that writer does it). ``arena serve`` calls
    this when it starts.

    Returns:
        The run ids marked interrupted.
    """
    from arena.store import StoreBusyError, open_store

    try:
        store = open_store(store_url)
    except StoreBusyError:
        return []
    try:
        return mark_interrupted(store)
    finally:
        store.close()
