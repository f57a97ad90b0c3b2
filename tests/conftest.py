"""Shared fixtures: one session-scoped local Ray instance for every Ray test."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """A real local Ray instance shared by the whole test session (2 CPUs, no dashboard)."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(
            num_cpus=4,
            include_dashboard=False,
            log_to_driver=False,
            namespace="model-arena-tests",
            configure_logging=False,
        )
    yield ray
    ray.shutdown()
