"""Shared fixtures: one session-scoped local Ray instance for every Ray test."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# CI explores a fixed sequence of examples (reproducible verdicts); local runs explore
# new random examples each time, which is how new counterexamples are found.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# `arena run` reuses the Ray head of `arena up` recorded under ARENA_HOME: tests (and the
# `arena` processes they start) must never reach one they did not start
os.environ["ARENA_HOME"] = tempfile.mkdtemp(prefix="arena-home-tests-")

# the shared test support modules (tests/support) import by name in every test module
_SUPPORT = str(Path(__file__).parent / "support")
if _SUPPORT not in sys.path:
    sys.path.insert(0, _SUPPORT)


@pytest.fixture(scope="session")
def ray_session():
    """A real local Ray instance shared by the whole test session (4 logical CPUs, no dashboard)."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    support = str(Path(__file__).parent / "support")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (support, os.environ.get("PYTHONPATH")) if p)
    if support not in sys.path:
        sys.path.insert(0, support)
    if not ray.is_initialized():
        ray.init(
            address="local",  # a Ray of its own, never one that happens to run on the machine
            num_cpus=4,
            include_dashboard=False,
            log_to_driver=False,
            namespace="model-arena",
            configure_logging=False,
        )
    yield ray
    ray.shutdown()
