"""Fixtures for the browser tests of the arena page: Debian's Chromium driven by Playwright,
a real recorded arena run, the API served by uvicorn on a free local port, and a page that
can reach nothing but this machine.

Chromium comes from ``scripts/chromium.sh`` (``make test`` runs it; ``playwright install``
is never used). Without it the tests skip with the reason, except under CI (``CI`` set),
where they fail. Screenshots of every view go to ``test-artifacts/screens/``.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from page_support import OfflinePage

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ARENA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sys.path.insert(0, str(REPO / "tests" / "live"))  # live_support: scripts/redis.sh from Python, free ports
sys.path.insert(0, str(REPO / "tests" / "serve"))  # serve_sample_run: the API tests' sample run


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"the browser tests are required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's, via Playwright) for the whole session."""
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing: run scripts/chromium.sh (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def offline_page(browser) -> Iterator[OfflinePage]:
    """One page per test module, shared by its tests; checked for errors and outside requests."""
    page = OfflinePage(browser)
    yield page
    page.close()
    assert not page.errors, f"uncaught errors on the page: {page.errors}"
    assert not page.blocked, f"the page asked for files from elsewhere: {page.blocked}"


RECORDED_CONFIG = {
    "name": "page-test",
    "data": {"source": "sample", "name": "us_equities_daily", "since": "2015-01-01", "until": "2016-12-31"},
    "capital": 10_000,
    "seed": 7,
    "execution": {"fill_price": "next_open", "commission_bps": 1.0, "slippage_bps": 2.0, "sizing": "whole_shares"},
    # 4 symbols at 0.25 each against a 0.2 cap: the benchmark's orders are scaled
    "risk": {"max_position_weight": 0.2, "max_gross_leverage": 1.0, "max_drawdown": 0.5},
    "contenders": [
        {"name": "bench", "class": "buy_and_hold"},
        {"name": "sma_10_30", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}},
        {
            "name": "rsi_reversion",
            "class": "rsi_mean_reversion",
            "params": {"period": 14, "oversold": 30, "exit_level": 55},
        },
        {"name": "fragile", "class": "arena_test_contenders:FailsAtBar", "params": {"fail_at": 300}},
    ],
}


@pytest.fixture(scope="session")
def recorded_run(ray_session, tmp_path_factory) -> tuple[str, str]:
    """A real arena run on Ray (two years of the bundled daily bars, four contenders, one of
    which fails) recorded in a DuckDB store: ``(store_url, run_id)``."""
    from arena.config import parse_config
    from arena.topology import run_arena

    store = f"duckdb://{tmp_path_factory.mktemp('page') / 'arena.duckdb'}"
    cfg = parse_config({**RECORDED_CONFIG, "store": store})
    run_id = f"page-{uuid.uuid4().hex[:8]}"
    result = run_arena(cfg, run_id=run_id)
    assert result.status == "finished_with_failures", result.status  # one contender fails, on purpose
    return store, run_id


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the screenshots of the page's views are."""
    from page_support import SCREENS

    shots = sorted(SCREENS.glob("*.png")) if SCREENS.is_dir() else []
    if shots:
        terminalreporter.write_line(f"arena page screenshots: {SCREENS}/ ({', '.join(p.name for p in shots)})")
