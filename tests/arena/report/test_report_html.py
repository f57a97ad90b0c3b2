"""The HTML report of a real recorded run, parsed: self-contained, every contender, the
leaderboard's own figures."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pytest

from arena.report.columns import STATISTIC_HELP, columns_for
from arena.report.html import render_report
from arena.store import open_store

# the only URLs an inline SVG carries: XML namespace names, never fetched
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
URL_ATTRS = {"src", "href", "xlink:href", "action", "data", "poster", "srcset", "formaction", "background"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.cells: dict[str, dict[str, str]] = {}
        self._row: str | None = None
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "tr" and "data-contender" in a:
            self._row = a["data-contender"]
            self.cells[self._row] = {}
        if tag == "td" and self._row is not None and "data-key" in a:
            self.cells[self._row][a["data-key"]] = a["data-value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._row = None


@pytest.fixture(scope="module")
def page(recorded_run):
    html = (recorded_run.out / "report.html").read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(html)
    return html, parser


@pytest.mark.ray
def test_report_has_no_external_resource(page):
    html, parser = page
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "iframe", "img", "object", "embed"), tag
        for key, value in attrs.items():
            if key in URL_ATTRS:
                assert value.startswith("#"), (tag, key, value)  # in-page anchors only
            if key.startswith("xmlns"):
                assert value in NAMESPACES, (key, value)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html), "a CSS url() other than an in-page reference"
    assert "@import" not in html
    found = set(re.findall(r"(?:https?:)?//[\w.-]+\.\w+[^\s\"'<>)]*", html))
    assert found <= NAMESPACES, found - NAMESPACES


@pytest.mark.ray
def test_report_has_every_contender_and_the_leaderboards_figures(page, recorded_run):
    _, parser = page
    with open_store(recorded_run.store, read_only=True) as st:
        rows = st.leaderboard(recorded_run.run_id)
        contenders = st.contenders(recorded_run.run_id)
    assert len(rows) == 5 and sorted(r["contender"] for r in rows) == contenders
    assert set(parser.cells) == set(contenders)
    for name in contenders:
        assert f"contender-{name}" in parser.ids
    for row in rows:
        shown = parser.cells[row["contender"]]
        for col in columns_for(rows):
            stored, text = row.get(col.key), shown[col.key]
            if isinstance(stored, float):
                assert math.isclose(float(text), stored, rel_tol=0, abs_tol=0), (row["contender"], col.key)
            elif stored is None:
                assert text == "", (row["contender"], col.key)
            else:
                assert text in (str(stored), f'"{stored}"'), (row["contender"], col.key, text)


@pytest.mark.ray
def test_report_explains_the_statistics_and_shows_provenance(page, recorded_run):
    html, parser = page
    with open_store(recorded_run.store, read_only=True) as st:
        run = st.get_run(recorded_run.run_id)
        pbo = st.leaderboard(recorded_run.run_id)[0]["pbo"]
    for key in ("psr", "dsr", "pbo"):
        sentence = STATISTIC_HELP[key].split(":")[0]
        assert sentence.replace("&", "&amp;") in html
    pbo_cell = next(a for t, a in parser.tags if a.get("data-key") == "pbo" and t == "b")
    assert float(pbo_cell["data-value"]) == pbo
    for value in (run["data_sha256"], run["code_version"], recorded_run.run_id):
        assert value in html
    assert f"<td class=\"l\">{run['seed']}</td>" in html
    assert "Ranked by annualized Sharpe ratio" in html
    assert "the buy-and-hold benchmark" in html


@pytest.mark.ray
def test_report_tables_count_the_runs_trades_and_scaled_orders(page, recorded_run):
    html, _ = page
    run = recorded_run.run
    board = run.leaderboard.set_index("contender")
    verdicts = run.risk_verdicts
    assert len(verdicts) > 0, "the example's 0.2 weight cap scales some orders"
    for name in board.index:
        n_trades = int(board.loc[name, "trades"])
        n_verdicts = int((verdicts["contender"] == name).sum())
        assert f"{n_trades} closed trades, net pnl" in html.split(f'id="contender-{name}"')[1].split("<h2")[0]
        section = html.split(f'id="contender-{name}"')[1].split("<h2")[0]
        assert f"{n_verdicts} orders scaled or denied" in section
        assert section.count("<tr><td class=\"l\">20") >= 3  # monthly rows of 2015, 2016, 2017


@pytest.mark.ray
def test_report_of_a_run_that_has_no_equity_is_refused(recorded_run):
    from arena.report.data import load_run

    with open_store(recorded_run.store, read_only=True) as st:
        data = load_run(st, recorded_run.run_id)
    empty = type(data)(**{**data.__dict__, "equity": data.equity.iloc[:0, :0]})
    with pytest.raises(ValueError, match="equity: expected at least one contender"):
        render_report(empty)


def test_report_shows_halts_with_their_reason_and_arena_events(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "serve"))
    from serve_sample_run import RUN_ID, write_sample_run

    from arena.report.data import load_run
    from arena.store import DuckDBStore

    with DuckDBStore(tmp_path / "s.duckdb") as st:
        write_sample_run(st)
        html = render_report(load_run(st, RUN_ID))
    parser = _Page()
    parser.feed(html)
    assert set(parser.cells) == {"momentum", "sma_cross"}
    assert parser.cells["sma_cross"]["sharpe"] == ""  # NaN in the store: shown as "–", no value
    assert 'title="MAX_DRAWDOWN">halted (MAX_DRAWDOWN)' in html
    section = html.split('id="contender-sma_cross"')[1].split("<h2")[0]
    assert "CONTENDER_HALTED" in section and "MAX_DRAWDOWN" in section
    assert "KILL_SWITCH_TRIPPED" in html.split('id="provenance"')[1] and "manual: api" in html
