"""A local Ray head that outlives runs: ``arena up`` / ``arena down``.

Starting Ray costs seconds (GCS, raylet, agents, prestarted workers); an arena that
connects to a Ray already running pays only for its actors. ``arena up`` starts
``ray start --head --block`` as a background process of its own and records it in
``$ARENA_HOME/ray-head.json`` (default ``~/.cache/model-arena``); ``arena run`` and
the other commands connect to that head when no ``ray.address`` / ``RAY_ADDRESS`` is
given, and start a private local Ray otherwise. ``arena down`` stops exactly that
head (SIGTERM to its ``ray start --block``, which drains and stops its own node), not
any other Ray on the machine.

The head runs with Ray's token authentication (``RAY_AUTH_MODE=token``; the token is
in ``~/.ray/auth_token``), and the arena sets the same mode when it connects.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["HeadError", "arena_home", "down", "running", "state_file", "up"]

DEFAULT_PORT = 6390  # GCS port; Ray's own default 6379 is Redis's
_STARTED = re.compile(r"ray start --address='([^']+)'")


class HeadError(RuntimeError):
    """The local Ray head could not be started (the message quotes Ray's log)."""


def arena_home() -> Path:
    """``$ARENA_HOME``, default ``~/.cache/model-arena``: where the arena keeps its own files
    (the ``arena up`` head's record, rows a store rejected)."""
    return Path(os.environ.get("ARENA_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "model-arena"))


def state_file() -> Path:
    """``$ARENA_HOME/ray-head.json`` (default ``~/.cache/model-arena/ray-head.json``)."""
    return arena_home() / "ray-head.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> dict[str, Any] | None:
    """The head ``arena up`` started, when it is still running: ``{pid, address, port,
    num_cpus, log, started_at}``; None otherwise (a stale record is removed)."""
    path = state_file()
    try:
        head = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(head, dict) or not _alive(int(head.get("pid", 0) or 0)):
        path.unlink(missing_ok=True)
        return None
    return head


def up(num_cpus: int | None = None, port: int = DEFAULT_PORT, timeout_s: float = 90.0) -> dict[str, Any]:
    """Start the local head (or return the running one).

    Args:
        num_cpus: logical CPUs of the head (default: the machine's).
        port: its GCS port.
        timeout_s: how long to wait for Ray to come up.

    Returns:
        The head's record (see :func:`running`).

    Raises:
        HeadError: when Ray exits or does not come up within ``timeout_s`` (with the
            end of its log).
    """
    head = running()
    if head is not None:
        return head
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.with_name("ray-head.log")
    ray_cli = Path(sys.executable).with_name("ray")
    cmd = [str(ray_cli) if ray_cli.exists() else "ray", "start", "--head", "--block", f"--port={port}",
           "--include-dashboard=false", "--disable-usage-stats"]
    if num_cpus is not None:
        cmd.append(f"--num-cpus={int(num_cpus)}")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    address = None
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        found = _STARTED.search(text)
        if found:
            address = found.group(1)
            break
        if proc.poll() is not None:
            raise HeadError(f"ray start exited with status {proc.returncode}: {text[-2000:]}")
        time.sleep(0.2)
    if address is None:
        proc.send_signal(signal.SIGTERM)
        raise HeadError(f"Ray did not come up within {timeout_s:.0f} s; see {log}")
    head = {"pid": proc.pid, "address": address, "port": port, "num_cpus": num_cpus, "log": str(log),
            "started_at": time.time()}
    path.write_text(json.dumps(head))
    return head


def _forget_current_cluster(address: str) -> None:
    """Remove Ray's record of the machine's "current cluster" when it names our stopped
    head (``ray stop`` does it, a drained ``ray start --block`` does not), so that a
    later ``ray.init()`` does not try to join a cluster that is gone."""
    import tempfile

    for base in {os.environ.get("RAY_TMPDIR") or "/tmp", tempfile.gettempdir()}:
        current = Path(base) / "ray" / "ray_current_cluster"
        try:
            if current.read_text().strip() == address:
                current.unlink()
        except OSError:
            pass


def down(timeout_s: float = 45.0) -> bool:
    """Stop the head ``arena up`` started; False when none was running.

    Raises:
        HeadError: when it is still running ``timeout_s`` after SIGTERM (then SIGKILL was sent).
    """
    head = running()
    if head is None:
        return False
    pid = int(head["pid"])
    os.kill(pid, signal.SIGTERM)  # ray start --block drains and stops its own node's processes
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when we are its parent (tests)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    state_file().unlink(missing_ok=True)
    _forget_current_cluster(str(head.get("address", "")))
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        raise HeadError(f"the Ray head (pid {pid}) did not stop within {timeout_s:.0f} s; killed it")
    return True
