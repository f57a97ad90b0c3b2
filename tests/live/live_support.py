"""Helpers of the live-event tests: scripts/redis.sh from Python, free ports."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REDIS_SH = REPO / "scripts" / "redis.sh"
TEST_PORT = int(os.environ.get("ARENA_TEST_REDIS_PORT", "6390"))


def redis_sh(action: str, port: int, cache_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/redis.sh action`` for ``port`` (and cache folder) and return its result."""
    env = {**os.environ, "REDIS_PORT": str(port)}
    if cache_dir is not None:
        env["ARENA_CACHE"] = str(cache_dir)
    return subprocess.run(["bash", str(REDIS_SH), action], env=env, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
