"""``GET /decisions/{id}/why`` and ``arena why`` for a learned contender's deferred explanation:
computed on first request from the checkpoint and the recorded inputs, equal to the eager
explanation of the same decision, cached in the store's ``explanations`` table."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from arena.cli import app as cli_app
from arena.data import SampleSource, to_panel
from arena.local import replay_local
from arena.store import DuckDBStore, RunRecord
from contenders.ml.deferred import is_deferred
from contenders.ml.lightgbm_shap import LightGBMContender
from serve.api import create_app

RUN_ID = "deferred-run"
N_BARS, WARMUP = 320, 200


def _replay(folder: Path | None, explanations: str) -> list[dict[str, Any]]:
    panel = to_panel(SampleSource("us_equities_daily").load()).slice(0, N_BARS)
    model = LightGBMContender(seed=2, n_estimators=30, retrain_every_bars=50, explanations=explanations)
    model.artifacts_dir = folder
    runner, result = replay_local(model, panel, warmup_bars=WARMUP, run_id=RUN_ID, name="lgbm")
    assert result["status"] == "ok"
    return runner.drain_records()["decisions"]


@pytest.fixture(scope="module")
def deferred_run(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("deferred")
    artifacts = root / "artifacts"
    decisions = _replay(artifacts / RUN_ID / "lgbm", "on_demand")
    eager = {d["decision_id"]: d for d in _replay(None, "eager")}
    path = root / "arena.duckdb"
    with DuckDBStore(path) as store:
        store.create_run(
            RunRecord(
                run_id=RUN_ID, name="deferred", config={"artifacts": str(artifacts)}, data_source={},
                data_sha256="0" * 64, code_version="test", seed=2, started_at=dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
                symbols=("SPX", "IXIC", "GOOGL", "MSFT"), periods_per_year=252.0,
            )
        )
        store.append("decisions", decisions)
    deferred = [d["decision_id"] for d in decisions if is_deferred(d["explanation_json"])]
    assert len(deferred) >= 5
    untouched = root / "untouched.duckdb"  # no explanation cached in it, whatever the tests ask first
    shutil.copy(path, untouched)
    return {"url": f"duckdb://{path}", "path": path, "deferred": deferred, "eager": eager, "untouched": untouched}


def _cached(path: Path, decision_id: str) -> dict[str, Any] | None:
    with DuckDBStore(path, read_only=True) as store:
        return store.explanation(decision_id)


def test_why_computes_a_deferred_explanation_on_first_request_and_caches_it(deferred_run) -> None:
    did = deferred_run["deferred"][0]
    want = deferred_run["eager"][did]["explanation_json"]
    assert _cached(deferred_run["path"], did) is None
    with TestClient(create_app(deferred_run["url"])) as client:
        first = client.get(f"/decisions/{did}/why")
        assert first.status_code == 200, first.text
        got = first.json()["explanation"]
        assert got and not is_deferred(got)
        assert {e["method"] for e in got} == {"shap"}
        key = lambda e: (e["symbol"], e["feature"])  # noqa: E731
        assert sorted(got, key=key) == sorted(want, key=key)  # what the eager path explained
        cached = _cached(deferred_run["path"], did)
        assert cached is not None and sorted(cached["explanation"], key=key) == sorted(want, key=key)
        again = client.get(f"/decisions/{did}/why")
        assert again.json()["explanation"] == got
        top = client.get(f"/decisions/{did}/why", params={"top": 3}).json()["explanation"]
        assert top == got[:3]


def test_every_decision_is_explained_from_the_users_side(deferred_run) -> None:
    with TestClient(create_app(deferred_run["url"])) as client:
        page = client.get(f"/runs/{RUN_ID}/decisions", params={"limit": 1000}).json()
        assert len(page) == N_BARS - WARMUP
        for d in page[:: max(1, len(page) // 12)]:
            expl = client.get(f"/decisions/{d['decision_id']}/why").json()["explanation"]
            assert expl and not is_deferred(expl)
            for sym, pred in d["predictions"].items():
                total = sum(e["contribution"] for e in expl if e["symbol"] == sym)
                assert total == pytest.approx(pred, abs=1e-9)  # SHAP base + values = the prediction


def test_arena_why_explains_a_deferred_decision(deferred_run) -> None:
    did = deferred_run["deferred"][-1]
    out = CliRunner().invoke(cli_app, ["why", did, "--store", deferred_run["url"], "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["explanation"] and not is_deferred(d["explanation"])
    want = deferred_run["eager"][did]["explanation_json"]
    assert sorted(d["explanation"], key=lambda e: (e["symbol"], e["feature"])) == sorted(
        want, key=lambda e: (e["symbol"], e["feature"])
    )
    assert _cached(deferred_run["path"], did) is not None


def test_missing_artifacts_answer_503_naming_the_folder(deferred_run, tmp_path) -> None:
    did = deferred_run["deferred"][1]
    url = f"duckdb://{deferred_run['untouched']}"
    with TestClient(create_app(url, artifacts=str(tmp_path / "nowhere"))) as client:
        r = client.get(f"/decisions/{did}/why")
    assert r.status_code == 503 and "nowhere" in r.json()["detail"]


def test_a_deferred_explanation_without_the_ml_extra_answers_503_with_the_install_hint(
    deferred_run, monkeypatch
) -> None:
    """A core install (no lightgbm) reading a learned contender's run: the model's library
    is missing when the checkpoint loads; the answer says how to install it, not a 500."""
    import arena.explanations

    def no_lightgbm(folder, bar):
        raise ModuleNotFoundError("No module named 'lightgbm'", name="lightgbm")

    monkeypatch.setattr(arena.explanations, "explain_recorded", no_lightgbm)
    did = deferred_run["deferred"][2]
    with TestClient(create_app(f"duckdb://{deferred_run['untouched']}")) as client:
        r = client.get(f"/decisions/{did}/why")
    assert r.status_code == 503, r.text
    assert "'lightgbm'" in r.json()["detail"] and "pip install 'model-arena[ml]'" in r.json()["detail"]
    out = CliRunner().invoke(cli_app, ["why", did, "--store", f"duckdb://{deferred_run['untouched']}"])
    assert out.exit_code == 2 and "pip install 'model-arena[ml]'" in " ".join(out.output.split())
