"""The reads the arena page uses: run status, fills, risk verdicts, bars, positions, live runs,
equity downsampled on the server, and the page and API docs served from the package."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serve_sample_run import PRICES, RUN_ID, bar_ts_ns, write_sample_run

from arena.store import DuckDBStore
from serve.api import create_app
from serve.downsample import equity_indices, ohlc_buckets


def test_status_names_halts_and_the_kill_switch(client: TestClient) -> None:
    status = client.get(f"/runs/{RUN_ID}/status").json()
    assert status["status"] == "killed" and status["n_bars"] == 5
    assert status["kill_switch_tripped"] is True and status["kill_switch_reason"] == "manual: api"
    states = {c["contender"]: (c["status"], c["reason"]) for c in status["contenders"]}
    assert states == {"momentum": ("ok", None), "sma_cross": ("halted", "MAX_DRAWDOWN")}
    assert [e["kind"] for e in status["events"]] == ["CONTENDER_HALTED", "KILL_SWITCH_TRIPPED"]


def test_fills_filter_by_contender_symbol_and_time(client: TestClient) -> None:
    every = client.get(f"/runs/{RUN_ID}/fills").json()
    assert len(every) == 10 and [f["ts"] for f in every] == sorted(f["ts"] for f in every)
    msft = client.get(f"/runs/{RUN_ID}/fills", params={"contender": "momentum", "symbol": "MSFT"}).json()
    assert [f["quantity"] for f in msft] == [100.0, 101.0, 102.0, 103.0, 104.0]
    late = client.get(f"/runs/{RUN_ID}/fills", params={"start": msft[3]["ts"]}).json()
    assert {f["ts"] for f in late} == {msft[3]["ts"], msft[4]["ts"]}
    unknown = client.get(f"/runs/{RUN_ID}/fills", params={"symbol": "TSLA"})
    assert unknown.status_code == 404
    assert "'TSLA'" in unknown.json()["detail"] and "AAPL, MSFT" in unknown.json()["detail"]
    assert client.get(f"/runs/{RUN_ID}/fills", params={"contender": "nobody"}).status_code == 404


def test_risk_verdicts_by_action(client: TestClient) -> None:
    scaled = client.get(f"/runs/{RUN_ID}/risk-verdicts", params={"action": ["SCALE", "DENY"]}).json()
    assert scaled and all(v["action"] == "SCALE" and v["reasons"] == ["MAX_POSITION_WEIGHT"] for v in scaled)
    assert {v["contender"] for v in scaled} == {"sma_cross"}
    every = client.get(f"/runs/{RUN_ID}/risk-verdicts", params={"contender": "momentum", "limit": 3}).json()
    assert len(every) == 3 and {v["action"] for v in every} == {"ALLOW"}
    bad = client.get(f"/runs/{RUN_ID}/risk-verdicts", params={"action": "MAYBE"})
    assert bad.status_code == 422 and "MAYBE" in bad.json()["detail"]


def test_positions_follow_the_fills(client: TestClient) -> None:
    points = client.get(f"/runs/{RUN_ID}/contenders/momentum/positions").json()
    msft = [p for p in points if p["symbol"] == "MSFT"]
    # momentum buys 100 + bar MSFT filled on the next bar: held after bar k = sum of fills up to it
    assert [p["quantity"] for p in msft] == [100.0, 201.0, 303.0, 406.0]
    last = msft[-1]
    assert last["price"] == pytest.approx(PRICES["MSFT"][3] * 1.0005)  # no bars recorded: the last fill price
    equity = 100_000.0 + 150.0 * 4
    assert last["weight"] == pytest.approx(406.0 * last["price"] / equity)
    assert client.get(f"/runs/{RUN_ID}/contenders/nobody/positions").status_code == 404


def test_bars_are_bucketed_into_candles(tmp_path: Path) -> None:
    path = tmp_path / "bars.duckdb"
    with DuckDBStore(path) as store:
        write_sample_run(store)
        n = 100
        closes = 100.0 + np.arange(n)
        store.append(
            "bars",
            pd.DataFrame(
                {
                    "run_id": RUN_ID,
                    "symbol": "AAPL",
                    "ts": [bar_ts_ns(0) + i * 60 * 10**9 for i in range(n)],
                    "open": closes - 0.5,
                    "high": closes + 1.0,
                    "low": closes - 1.0,
                    "close": closes,
                    "volume": 10.0,
                }
            ),
        )
    with TestClient(create_app(f"duckdb://{path}")) as client:
        full = client.get(f"/runs/{RUN_ID}/bars/AAPL").json()
        assert len(full) == 100 and full[0]["close"] == 100.0 and all(b["n_bars"] == 1 for b in full)
        merged = client.get(f"/runs/{RUN_ID}/bars/AAPL", params={"max_points": 10}).json()
        assert len(merged) == 10 and all(b["n_bars"] == 10 for b in merged)
        assert merged[0]["open"] == 99.5 and merged[0]["close"] == 109.0 and merged[0]["high"] == 110.0
        assert merged[0]["low"] == 99.0 and merged[0]["volume"] == 100.0 and merged[0]["ts"] == full[0]["ts"]
        assert client.get(f"/runs/{RUN_ID}/bars/MSFT").json() == []
        assert client.get(f"/runs/{RUN_ID}/bars/TSLA").status_code == 404


def test_ohlc_buckets_keep_the_extremes() -> None:
    rng = np.random.default_rng(3)
    close = 100 + np.cumsum(rng.normal(size=1003))
    cols = {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": np.ones(1003)}
    ts, merged, counts = ohlc_buckets(np.arange(1003), cols, 100)
    assert len(ts) <= 100 and counts.sum() == 1003
    assert merged["high"].max() == cols["high"].max() and merged["low"].min() == cols["low"].min()
    assert merged["close"][-1] == close[-1] and merged["open"][0] == close[0]


def test_equity_indices_keep_first_last_and_extremes() -> None:
    rng = np.random.default_rng(0)
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 50_000)))
    idx = equity_indices(np.arange(50_000, dtype="int64"), equity, 500)
    assert len(idx) <= 500 and idx[0] == 0 and idx[-1] == 49_999 and np.all(np.diff(idx) > 0)
    assert np.argmax(equity) in idx and np.argmin(equity) in idx
    trough = np.argmin(equity / np.maximum.accumulate(equity))
    assert trough in idx
    with pytest.raises(ValueError, match="max_points must be >= 8"):
        equity_indices(np.arange(10), np.ones(10), 3)


def test_equity_of_a_million_bars_downsampled_in_under_a_second(tmp_path: Path) -> None:
    n = 1_000_000
    rng = np.random.default_rng(1)
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0, 5e-4, n)))
    path = tmp_path / "long.duckdb"
    with DuckDBStore(path) as store:
        write_sample_run(store)
        ts0 = bar_ts_ns(10)
        frame = pd.DataFrame(
            {
                "run_id": RUN_ID,
                "contender": "long_runner",
                "ts": ts0 + np.arange(n, dtype="int64") * 60 * 10**9,
                "bar_index": np.arange(n),
                "equity": equity,
                "cash": equity,
                "gross_exposure": 0.0,
            }
        )
        store.append("equity", frame)
    with TestClient(create_app(f"duckdb://{path}")) as client:
        url = f"/runs/{RUN_ID}/contenders/long_runner/equity"
        client.get(url, params={"max_points": 2000})  # warm: the first request imports and opens
        t0 = time.perf_counter()
        answer = client.get(url, params={"max_points": 2000})
        elapsed_s = time.perf_counter() - t0
    assert answer.status_code == 200
    points = answer.json()
    print(f"equity of {n} bars → {len(points)} points in {elapsed_s:.3f} s")
    assert elapsed_s < 1.0, f"{elapsed_s:.2f} s"
    assert len(points) <= 2000
    bars = [p["bar_index"] for p in points]
    assert bars[0] == 0 and bars[-1] == n - 1
    values = [p["equity"] for p in points]
    assert max(values) == pytest.approx(equity.max()) and min(values) == pytest.approx(equity.min())
    assert int(np.argmax(equity)) in bars and int(np.argmin(equity)) in bars
    assert points[0]["ts"] == pd.Timestamp(ts0, tz="UTC").isoformat()


def test_equity_max_points_below_the_minimum_is_422(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}/contenders/momentum/equity", params={"max_points": 2})
    assert answer.status_code == 422
    full = client.get(f"/runs/{RUN_ID}/contenders/momentum/equity").json()
    assert client.get(f"/runs/{RUN_ID}/contenders/momentum/equity", params={"max_points": 100}).json() == full


def test_live_runs_without_an_events_url_is_503(client: TestClient) -> None:
    answer = client.get("/live/runs")
    assert answer.status_code == 503 and "events URL" in answer.json()["detail"]


_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
def test_page_and_docs_load_only_this_servers_files(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert not _EXTERNAL.search(html.replace('href="https://www.tradingview.com/"', "")), html
    for ref in re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html):
        assert client.get(ref).status_code == 200, ref


def test_static_files_are_package_data() -> None:
    from serve.page import STATIC_DIR

    assert (STATIC_DIR / "index.html").is_file() and (STATIC_DIR / "js" / "app.js").is_file()
    assert (STATIC_DIR / "vendor" / "lightweight-charts" / "NOTICE").is_file()
