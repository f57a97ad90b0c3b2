"""Fixtures for the QuestDB tests: a real QuestDB server started with scripts/questdb.sh.

The main instance runs on the default ports (9000 HTTP, 8812 PG wire) and is
left running after the session (``scripts/questdb.sh stop`` stops it). Tests
that stop a server mid-run use a second instance on other ports and its own
data directory (:func:`second_questdb`), stopped at the end.

Without a server the tests skip with the reason, except under CI (``CI`` set),
where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "questdb.sh"
sys.path.insert(0, str(Path(__file__).parent))


@dataclass(frozen=True)
class QuestDBServer:
    """A QuestDB server started by scripts/questdb.sh (env: its ports and root)."""

    http_port: int
    pg_port: int
    env: dict[str, str]

    def url(self, prefix: str) -> str:
        return f"questdb://127.0.0.1:{self.http_port}?pg_port={self.pg_port}&prefix={prefix}"

    def run(self, action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), action], env=self.env, capture_output=True, text=True, timeout=120
        )

    def start(self) -> None:
        done = self.run("start")
        if done.returncode != 0:
            raise RuntimeError(f"scripts/questdb.sh start failed:\n{done.stdout}\n{done.stderr}")

    def stop(self) -> None:
        done = self.run("stop")
        if done.returncode != 0:
            raise RuntimeError(f"scripts/questdb.sh stop failed:\n{done.stdout}\n{done.stderr}")

    def answers(self) -> bool:
        try:
            r = httpx.get(f"http://127.0.0.1:{self.http_port}/exec", params={"query": "select 1"}, timeout=2)
        except httpx.HTTPError:
            return False
        return r.status_code == 200


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"QuestDB is required under CI: {reason}")
    pytest.skip(f"no QuestDB server: {reason}")


@pytest.fixture(scope="session")
def questdb() -> QuestDBServer:
    """The main QuestDB instance (default ports), started when it is not running."""
    server = QuestDBServer(9000, 8812, dict(os.environ))
    if not server.answers():
        try:
            server.start()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            _unavailable(str(exc))
    return server


@pytest.fixture
def prefix() -> str:
    """A fresh table prefix: each test gets its own tables."""
    return f"t{uuid.uuid4().hex[:8]}_"


@pytest.fixture
def qdb_url(questdb: QuestDBServer, prefix: str) -> Iterator[str]:
    """URL of a fresh arena store (own prefix) on the main instance; its tables are dropped after."""
    yield questdb.url(prefix)
    _drop_tables(questdb, prefix)


def _drop_tables(server: QuestDBServer, prefix: str) -> None:
    import psycopg

    from arena.store.schema import TABLES

    with psycopg.connect(
        f"host=127.0.0.1 port={server.pg_port} user=admin password=quest dbname=qdb", autocommit=True
    ) as con:
        for name in TABLES:
            con.execute(f'DROP TABLE IF EXISTS "{prefix}{name}"')


@pytest.fixture(scope="session")
def second_questdb(questdb: QuestDBServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuestDBServer]:
    """A second QuestDB instance (ports 9100/8912/9109/9103, own root), for fault tests."""
    root = tmp_path_factory.mktemp("questdb2")
    env = dict(
        os.environ,
        QDB_ROOT=str(root),
        QDB_HTTP_PORT="9100",
        QDB_PG_PORT="8912",
        QDB_ILP_PORT="9109",
        QDB_HTTP_MIN_PORT="9103",
        QDB_HEAP="512m",
    )
    server = QuestDBServer(9100, 8912, env)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(str(exc))
    yield server
    server.stop()
