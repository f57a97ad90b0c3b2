"""Snapshots of a contender actor's state on disk, so that a restarted actor goes on where
its last snapshot left off (config ``recovery``; plain Python, no Ray).

Layout: ``$ARENA_HOME/snapshots/<run_id>/<actor key>/`` holds ``setup.pkl`` (what the actor
was set up with) and ``bars-<bar:010d>.pkl`` files, each the state after that many bars
(``ContenderRunner.snapshot`` of every member, pickled). Every file is written to a
temporary name in the same folder, flushed to disk and renamed: a reader sees a whole file
or none. The two newest snapshots are kept.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
from pathlib import Path
from typing import Any

__all__ = ["SnapshotFolder", "snapshots_root", "write_atomic"]

_SNAP = re.compile(r"^bars-(\d{10})\.pkl$")
SNAPSHOT_FORMAT = "model-arena.contender-actor/1"


def snapshots_root(run_id: str) -> Path:
    """``$ARENA_HOME/snapshots/<run_id>`` (see :func:`arena.cluster.arena_home`)."""
    from arena.cluster import arena_home

    return arena_home() / "snapshots" / run_id


def write_atomic(path: Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder (created if need
    be) and a rename: a reader sees the whole file or the one before. ``fsync`` flushes it to
    the disk first (a power loss; a crashed process alone leaves the page cache).

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


class SnapshotFolder:
    """One contender actor's snapshot folder.

    Args:
        path: the folder (created on the first write).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def of(cls, run_id: str, key: str) -> SnapshotFolder:
        """The folder of actor ``key`` (a contender name or ``process:<name>``) in run ``run_id``."""
        return cls(snapshots_root(run_id) / re.sub(r"[^A-Za-z0-9_.-]", "_", key))

    def _write(self, name: str, data: bytes) -> Path:
        return write_atomic(self.path / name, data)

    def write_setup(self, data: bytes) -> Path:
        """Keep what the actor was set up with (bytes pickled by the actor: they hold Ray handles)."""
        return self._write("setup.pkl", data)

    def read_setup(self) -> bytes | None:
        """The bytes of :meth:`write_setup`, or None when the actor was never set up."""
        try:
            return (self.path / "setup.pkl").read_bytes()
        except FileNotFoundError:
            return None

    def save(self, bars: int, members: dict[str, Any]) -> Path:
        """Write the state after ``bars`` bars (member name → ``ContenderRunner.snapshot()`` plus
        the actor's own per-member entries) and drop all but the two newest snapshots.

        Raises:
            pickle.PicklingError, TypeError, AttributeError: a contender that cannot be pickled.
        """
        data = pickle.dumps({"format": SNAPSHOT_FORMAT, "bars": int(bars), "members": members},
                            protocol=pickle.HIGHEST_PROTOCOL)
        path = self._write(f"bars-{int(bars):010d}.pkl", data)
        for old in self._snapshots()[:-2]:
            old.unlink(missing_ok=True)
        return path

    def _snapshots(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if _SNAP.match(p.name))

    def latest(self) -> dict[str, Any] | None:
        """The newest snapshot that reads back whole (``{"bars", "members"}``), or None."""
        for path in reversed(self._snapshots()):
            try:
                with open(path, "rb") as fh:
                    snap = pickle.load(fh)
            except (OSError, EOFError, pickle.UnpicklingError):
                continue
            if isinstance(snap, dict) and snap.get("format") == SNAPSHOT_FORMAT:
                return snap
        return None

    def remove(self) -> None:
        """Delete the folder and everything in it."""
        shutil.rmtree(self.path, ignore_errors=True)
