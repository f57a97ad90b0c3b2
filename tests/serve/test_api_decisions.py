"""HTTP API: decision listing with filters and paging, and the "why" of a decision."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from serve_sample_run import N_BARS, RUN_ID, SampleRun, bar_iso, decision_id


def _ids(client: TestClient, **params: object) -> list[str]:
    answer = client.get(f"/runs/{RUN_ID}/decisions", params=params)
    assert answer.status_code == 200, answer.text
    return [d["decision_id"] for d in answer.json()]


def test_decisions_default_page(client: TestClient, sample: SampleRun) -> None:
    # time order, then contender name
    assert _ids(client) == sorted(sample.decision_ids, key=lambda d: (d[-3:], d))


def test_decision_fields(client: TestClient) -> None:
    first = client.get(
        f"/runs/{RUN_ID}/decisions", params={"contender": "momentum", "limit": 1}
    ).json()[0]
    assert first["decision_id"] == decision_id("momentum", 0)
    assert first["ts"] == bar_iso(0)
    assert first["weights"] == {"AAPL": 0.1, "MSFT": 0.3}
    assert first["orders"][0]["symbol"] == "MSFT" and first["orders"][0]["side"] == "BUY"
    assert first["symbols"] == ["AAPL", "MSFT"]
    assert first["confidence"] == pytest.approx(0.55)
    assert {c["feature"] for c in first["explanation"]} == {"ret_1d", "ret_5d", "market_vol"}


def test_decisions_filters(client: TestClient) -> None:
    assert _ids(client, contender="sma_cross") == [
        decision_id("sma_cross", b) for b in range(N_BARS)
    ]
    assert _ids(client, symbol="MSFT") == [decision_id("momentum", b) for b in range(N_BARS)]
    assert _ids(client, symbol="AAPL", contender="sma_cross", start=bar_iso(3)) == [
        decision_id("sma_cross", 3),
        decision_id("sma_cross", 4),
    ]
    assert _ids(client, start=bar_iso(1), end=bar_iso(1)) == [
        decision_id("momentum", 1),
        decision_id("sma_cross", 1),
    ]


def test_decisions_paging(client: TestClient) -> None:
    everything = _ids(client, limit=1000)
    assert len(everything) == 2 * N_BARS
    assert (
        _ids(client, limit=4, offset=0)
        + _ids(client, limit=4, offset=4)
        + _ids(client, limit=4, offset=8)
        == everything
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"limit": "ten"},
        {"start": "2024-01-02 25:00"},
        {"offset": 2**63},
        {"start": "9999-12-31T23:59:59-05:00"},
        {"end": "0001-01-01T00:00:00+05:00"},
    ],
)
def test_bad_decision_parameters_are_422(client: TestClient, params: dict[str, object]) -> None:
    assert client.get(f"/runs/{RUN_ID}/decisions", params=params).status_code == 422


def test_unknown_contender_or_symbol_filter_is_404(client: TestClient) -> None:
    answer = client.get(f"/runs/{RUN_ID}/decisions", params={"contender": "lstm"})
    assert answer.status_code == 404 and "contender 'lstm' not found" in answer.json()["detail"]
    answer = client.get(f"/runs/{RUN_ID}/decisions", params={"symbol": "TSLA"})
    assert answer.status_code == 404
    assert (
        answer.json()["detail"]
        == f"symbol 'TSLA' not found in run '{RUN_ID}' (symbols: AAPL, MSFT)"
    )


def test_why_sorts_contributions_by_magnitude(client: TestClient) -> None:
    answer = client.get(f"/decisions/{decision_id('momentum', 2)}/why")
    assert answer.status_code == 200
    why = answer.json()
    contributions = [c["contribution"] for c in why["explanation"]]
    assert why["explanation"][0]["feature"] == "ret_5d"  # |-0.9| is the largest
    assert [abs(c) for c in contributions] == sorted((abs(c) for c in contributions), reverse=True)
    top = client.get(f"/decisions/{decision_id('momentum', 2)}/why", params={"top": 1}).json()
    assert [c["feature"] for c in top["explanation"]] == ["ret_5d"]


def test_why_carries_verdicts_order_events_and_fills(client: TestClient, sample: SampleRun) -> None:
    why = client.get(f"/decisions/{sample.scaled_decision_id}/why").json()
    assert why["decision_id"] == sample.scaled_decision_id
    (verdict,) = why["verdicts"]
    assert (verdict["action"], verdict["reasons"]) == ("SCALE", ["MAX_POSITION_WEIGHT"])
    assert verdict["requested"] == {"AAPL": 0.6} and verdict["approved"] == {"AAPL": 0.5}
    assert [e["status"] for e in why["order_events"]] == ["NEW", "ACCEPTED", "FILLED"]
    assert why["order_events"][0]["target_weight"] == 0.5
    (fill,) = why["fills"]
    assert (
        fill["side"] == "BUY"
        and fill["client_order_id"] == why["order_events"][0]["client_order_id"]
    )


def test_why_of_unknown_decision_is_404(client: TestClient) -> None:
    unknown = decision_id("momentum", 999)
    answer = client.get(f"/decisions/{unknown}/why")
    assert answer.status_code == 404
    assert answer.json() == {"detail": f"decision {unknown!r} not found"}
    assert client.get("/decisions/nope/why").json() == {"detail": "decision 'nope' not found"}
    known = decision_id("momentum", 1)
    assert client.get(f"/decisions/{known}/why", params={"top": 0}).status_code == 422
