"""A recorded run shared by the report, plot, notebook and CLI-view tests: the notebook
example (docs/notebook_example.py) run once per session, in process, on the session Ray."""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "notebook_example.py"


@dataclass(frozen=True)
class RecordedRun:
    """The notebook example's run: its ``arena.Run``, store URL, output folder and the
    example's variables."""

    run: Any
    store: str
    out: Path
    namespace: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.run.run_id


@pytest.fixture(scope="session")
def recorded_run(ray_session, tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    """Runs the notebook example (5 contenders of configs/local.yaml on 2015-06 .. 2017-11 daily bars)
    into a fresh DuckDB store; every cell must run."""
    tmp = tmp_path_factory.mktemp("recorded")
    store = f"duckdb://{tmp / 'arena.duckdb'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("ARENA_EXAMPLE_STORE", store)
    mp.setenv("ARENA_EXAMPLE_OUT", str(tmp / "out"))
    mp.delenv("ARENA_EVENTS_URL", raising=False)
    try:
        namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    finally:
        mp.undo()
    return RecordedRun(run=namespace["run"], store=store, out=tmp / "out", namespace=namespace)
