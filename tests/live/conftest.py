"""Fixtures for the live-event tests: a real Redis started with scripts/redis.sh.

The session's Redis listens on 127.0.0.1:6390 (``ARENA_TEST_REDIS_PORT``). If it
cannot be started the tests that need it are skipped with the reason, except
under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from live_support import TEST_PORT, redis_sh


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis (scripts/redis.sh on TEST_PORT), stopped at the end of the session."""
    res = redis_sh("start", TEST_PORT)
    if res.returncode != 0:
        output = (res.stderr or res.stdout).strip()
        reason = f"cannot start redis on 127.0.0.1:{TEST_PORT} with scripts/redis.sh: {output}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield f"redis://127.0.0.1:{TEST_PORT}/0"
    redis_sh("stop", TEST_PORT)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the session's Redis (replies decoded)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def run_id(redis_client: redis.Redis) -> Iterator[str]:
    """A fresh run id whose stream is deleted after the test."""
    rid = f"test-{uuid.uuid4().hex[:10]}"
    yield rid
    redis_client.delete(f"arena:events:{rid}")
