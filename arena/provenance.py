"""What a run ran on: the code version."""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["code_version"]

_ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """``git:<sha>[+dirty]`` when run from a git checkout, else ``model-arena==<version>``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_ROOT, capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return f"git:{sha}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        try:
            return f"model-arena=={version('model-arena')}"
        except PackageNotFoundError:
            return "unknown"
