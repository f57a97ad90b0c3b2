"""The arena page on a recorded sweep: the run's ranking and significance line under the
leaderboard, and the sweep's heat map equal to the API's grid."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from conftest import RECORDED_CONFIG
from page_support import OfflinePage, serve_app

from serve.api import create_app

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def sweep_run(ray_session, tmp_path_factory) -> tuple[str, str]:
    from arena.config import parse_config
    from arena.topology import run_arena

    store = f"duckdb://{tmp_path_factory.mktemp('sweep') / 'arena.duckdb'}"
    cfg = parse_config({
        **RECORDED_CONFIG, "name": "page-sweep", "store": store, "rank_by": "sortino",
        "contenders": [{"name": "bench", "class": "buy_and_hold"},
                       {"name": "sma", "class": "sma_crossover", "process": "grid",
                        "sweep": {"fast": [5, 10], "slow": [30, 60]}}],
    })
    return store, run_arena(cfg).run_id


@pytest.fixture(scope="module")
def site(sweep_run) -> Iterator[str]:
    with serve_app(create_app(sweep_run[0])) as base:
        yield base


def test_the_run_view_names_its_ranking_and_maps_the_sweep(offline_page: OfflinePage, site, sweep_run) -> None:
    run_id = sweep_run[1]
    offline_page.open(f"{site}/#/run/{quote(run_id, safe='')}")
    page = offline_page.page
    page.wait_for_selector("#sweep-sma td", timeout=30_000)
    assert "annualized Sortino ratio" in page.locator("#ranked-by").inner_text()
    significance = page.locator("#significance").inner_text()
    assert "SPA p-value" in significance and "bench" in significance
    with httpx.Client(base_url=site, timeout=30) as api:
        (grid,) = api.get(f"/runs/{run_id}/sweeps").json()
    assert grid["metric"] == "sortino" and (grid["row_param"], grid["col_param"]) == ("fast", "slow")
    cells = page.locator("#sweep-sma tbody tr").all()
    shown = [[float(td.get_attribute("data-value")) for td in tr.locator("td").all()] for tr in cells]
    assert shown == grid["values"][::-1]  # the largest row value on top, as on a plot's y axis
    offline_page.shot("sweep")
