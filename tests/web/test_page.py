"""The arena page in a real headless Chromium on a real recorded run, with every request to
anything but this machine aborted: runs, a run (one equity series per contender, the
leaderboard of the API), a contender (fills on the candles, verdicts on the timeline), why
(the contributions of the API, in its order), and /docs and /redoc offline."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from page_support import OfflinePage, serve_app

from serve.api import create_app

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(recorded_run) -> Iterator[str]:
    with serve_app(create_app(recorded_run[0])) as base:
        yield base


@pytest.fixture(scope="module")
def api(site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, timeout=30) as client:
        yield client


def _run_url(site: str, run_id: str) -> str:
    return f"{site}/#/run/{quote(run_id, safe='')}"


def test_runs_view_lists_the_run(offline_page: OfflinePage, site, recorded_run, api) -> None:
    run_id = recorded_run[1]
    offline_page.open(f"{site}/#/")
    row = offline_page.page.locator(f"#runs-table tr[data-run-id='{run_id}']")
    assert row.count() == 1
    text = row.inner_text()
    assert "page-test" in text and run_id in text and "finished" in text
    for name in ("bench", "sma_10_30", "rsi_reversion", "fragile"):
        assert name in text
    assert api.get(f"/runs/{run_id}").json()["data_sha256"][:12] in text
    offline_page.shot("runs")


def test_equity_chart_draws_one_series_per_contender(offline_page: OfflinePage, site, recorded_run, api) -> None:
    run_id = recorded_run[1]
    offline_page.open(_run_url(site, run_id))
    page = offline_page.page
    page.wait_for_selector("#leaderboard")
    drawn = page.evaluate("window.arena.equity.info()")
    contenders = api.get(f"/runs/{run_id}").json()["contenders"]
    assert sorted(s["name"] for s in drawn) == sorted(contenders)
    for series in drawn:
        points = api.get(f"/runs/{run_id}/contenders/{series['name']}/equity", params={"max_points": 2000}).json()
        assert series["points"] == len(points) > 100, series
    legend = page.locator("#equity-legend [data-contender='bench']").inner_text()
    assert "benchmark" in legend
    page.click("#log-switch")
    assert page.locator("#equity-card").get_attribute("data-scale") == "log"
    page.click("#log-switch")
    assert page.locator("#equity-card").get_attribute("data-scale") == "linear"
    box = page.locator("#equity-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.3)
    hovered = page.locator("#equity-legend").inner_text()
    assert "latest" not in hovered and all(name in hovered for name in contenders)
    offline_page.shot("run")


def test_leaderboard_rows_equal_the_api(offline_page: OfflinePage, recorded_run, api) -> None:
    run_id = recorded_run[1]
    page = offline_page.page
    board = api.get(f"/runs/{run_id}/leaderboard").json()

    def rows() -> list[tuple[str, int, float | None, str]]:
        out = []
        for tr in page.locator("#leaderboard tbody tr").all():
            sharpe = tr.locator("td[data-key='sharpe']").get_attribute("data-value")
            out.append((
                tr.get_attribute("data-contender"),
                int(tr.locator("td[data-key='rank']").get_attribute("data-value")),
                float(sharpe) if sharpe else None,
                tr.locator("td[data-key='status']").inner_text(),
            ))
        return out

    shown = rows()
    assert [(c, r, s) for c, r, s, _ in shown] == [(b["contender"], b["rank"], b["sharpe"]) for b in board]
    assert "annualized Sharpe" in page.locator("#ranked-by").inner_text()
    failed = next(status for c, _, _, status in shown if c == "fragile")
    assert "failed" in failed and "model blew up at bar 300" in failed
    for stat in ("psr", "dsr", "pbo"):
        assert page.locator(f"#leaderboard th[data-key='{stat}']").get_attribute("title")
    assert "deflated Sharpe ratio" in page.locator("#stats-help").inner_text()
    page.click("#leaderboard th[data-key='total_return']")  # sort: largest return first
    by_return = [c for c, *_ in rows()]
    ranked = sorted(board, key=lambda b: -(b["total_return"] if b["total_return"] is not None else -1e9))
    assert by_return == [b["contender"] for b in ranked]
    assert page.locator("#kill-switch-box").inner_text() == "", "no kill switch without the token"


def test_contender_view_marks_fills_and_verdicts(offline_page: OfflinePage, site, recorded_run, api) -> None:
    run_id = recorded_run[1]
    offline_page.open(f"{site}/#/run/{quote(run_id, safe='')}/c/bench?symbol=MSFT")
    page = offline_page.page
    page.wait_for_selector("#candles-chart")
    fills = api.get(f"/runs/{run_id}/fills", params={"contender": "bench", "symbol": "MSFT"}).json()
    assert fills and page.locator("#candles").get_attribute("data-markers") == str(len(fills))
    scaled = api.get(f"/runs/{run_id}/risk-verdicts", params={"contender": "bench", "action": ["SCALE", "DENY"]}).json()
    assert scaled, "the benchmark's 0.25 weights are scaled to the 0.2 cap"
    assert page.locator("#risk-timeline rect.tick").count() == len(scaled)
    assert page.locator("#weights-chart").count() == 1
    positions = api.get(f"/runs/{run_id}/contenders/bench/positions").json()
    held = {p["symbol"]: p["quantity"] for p in positions}  # the last point of each symbol
    shown = {
        tr.get_attribute("data-symbol"): float(tr.locator("td").nth(1).inner_text().replace(",", ""))
        for tr in page.locator("#positions tbody tr").all()
    }
    assert shown == held and held
    offline_page.shot("contender")


def test_clicking_a_decision_shows_its_contributions_in_order(
    offline_page: OfflinePage, site, recorded_run, api
) -> None:
    run_id = recorded_run[1]
    offline_page.open(f"{site}/#/run/{quote(run_id, safe='')}/c/sma_10_30")
    page = offline_page.page
    row = page.locator("#decisions tbody tr").nth(2)
    decision_id = row.get_attribute("data-decision-id")
    row.click()
    page.wait_for_selector("#contributions .contrib-row[data-feature]")
    why = api.get(f"/decisions/{quote(decision_id)}/why").json()
    shown = [
        (r.get_attribute("data-feature"), r.get_attribute("data-symbol"), float(r.get_attribute("data-contribution")))
        for r in page.locator("#contributions .contrib-row[data-feature]").all()
    ]
    assert shown == [(c["feature"], c["symbol"], c["contribution"]) for c in why["explanation"]]
    assert len(shown) >= 2 and shown == sorted(shown, key=lambda s: -abs(s[2]))
    assert page.locator("#why-decision").inner_text() == decision_id
    assert page.locator("#why-verdicts tbody tr").count() == len(why["verdicts"])
    assert page.locator("#why-orders tbody tr").count() == len(why["order_events"])
    offline_page.shot("why", full_page=False)
    page.click("#why-close")
    assert page.locator("#why").is_hidden()


def test_docs_and_redoc_render_offline(offline_page: OfflinePage, site) -> None:
    page = offline_page.page
    page.goto(f"{site}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
    assert "model-arena API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock-tag-section", timeout=20_000)
    assert page.locator(".opblock").count() >= 15
    offline_page.shot("docs", full_page=False)
    page.goto(f"{site}/redoc")
    page.wait_for_selector("h1", timeout=30_000)
    assert "model-arena API" in page.locator("h1").first.inner_text()
    offline_page.shot("redoc", full_page=False)


METHODS = ("shap", "integrated_gradients", "attention", "variable_selection", "rule", "stacking", "policy")


@pytest.fixture(scope="module")
def methods_site(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A store with the API tests' sample run plus one decision explained by each method."""
    from serve_sample_run import RUN_ID, bar_ts_ns, write_sample_run

    from arena.store import DuckDBStore

    path = tmp_path_factory.mktemp("methods") / "arena.duckdb"
    with DuckDBStore(path) as store:
        write_sample_run(store)
        store.append(
            "decisions",
            [
                {
                    "decision_id": f"{RUN_ID}/momentum/{method}",
                    "run_id": RUN_ID,
                    "contender": "momentum",
                    "ts": bar_ts_ns(2),
                    "bar_index": 2,
                    "weights_json": {"MSFT": 0.3},
                    "predictions_json": {"MSFT": 0.004},
                    "explanation_json": [
                        {"feature": f"f{k}", "value": 1.0 + k, "contribution": (-1) ** k * (3.0 - k) / 10,
                         "method": method, "symbol": "MSFT"}
                        for k in range(3)
                    ],
                }
                for method in METHODS
            ],
        )
    with serve_app(create_app(f"duckdb://{path}")) as base:
        yield base, RUN_ID


def test_why_renders_every_method_the_same_way(offline_page: OfflinePage, methods_site) -> None:
    site, run_id = methods_site
    page = offline_page.page
    for method in METHODS:
        decision_id = f"{run_id}/momentum/{method}"
        offline_page.open(f"{site}/#/why/{quote(decision_id)}")
        page.wait_for_selector("#contributions .contrib-row[data-feature]")
        rows = page.locator("#contributions .contrib-row[data-feature]")
        assert [r.get_attribute("data-method") for r in rows.all()] == [method] * 3
        assert [r.get_attribute("data-feature") for r in rows.all()] == ["f0", "f1", "f2"]  # by |contribution|
        assert page.locator("#contributions .bar.neg").count() == 1
        assert page.locator("#contributions .bar.pos").count() == 2
        assert "MSFT 0.400 %" in page.locator("#why").inner_text()  # the prediction, as a percentage
