"""The `arena` command line, in process (typer's runner) on the session Ray instance."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from arena.cli import app

runner = CliRunner()


def _write_config(tmp_path, **over):
    raw = {
        "name": "cli-test",
        "data": {"source": "sample", "name": "us_equities_daily"},
        "capital": 10_000,
        "contenders": [
            {"name": "bench", "class": "buy_and_hold"},
            {"name": "sma", "class": "sma_crossover", "params": {"fast": 10, "slow": 30}},
        ],
        "store": f"duckdb://{tmp_path / 'cli.duckdb'}",
    }
    raw.update(over)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path, raw["store"]


@pytest.fixture(scope="module")
def cli_run(ray_session, tmp_path_factory):
    """A run on a user CSV (GOOGL daily bars from the bundle, a `date` column, no symbol column)."""
    from arena.data import SampleSource

    tmp = tmp_path_factory.mktemp("cli")
    frame = SampleSource("us_equities_daily").load()
    goog = frame[frame["symbol"] == "GOOGL"].drop(columns="symbol")
    goog.insert(0, "date", goog.pop("timestamp").dt.strftime("%Y-%m-%d"))
    goog.to_csv(tmp / "goog.csv", index=False)
    path, store = _write_config(tmp, data={"source": "csv", "path": "goog.csv", "symbol": "GOOG"})
    res = runner.invoke(app, ["run", str(path), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), store


@pytest.mark.ray
def test_run_json_has_the_leaderboard_fields(cli_run):
    out, store = cli_run
    assert out["run_id"].startswith("cli-test-")
    from arena.store import open_store

    assert open_store(store, read_only=True).get_run(out["run_id"])["symbols"] == ["GOOG"]
    rows = out["leaderboard"]
    assert {r["contender"] for r in rows} == {"bench", "sma"}
    for r in rows:
        for key in (
            "contender",
            "final_equity",
            "total_return",
            "sharpe",
            "sortino",
            "calmar",
            "max_drawdown",
            "trades",
        ):
            assert key in r


@pytest.mark.ray
def test_runs_leaderboard_and_why_read_the_store(cli_run):
    out, store = cli_run
    runs = json.loads(runner.invoke(app, ["runs", "--store", store, "--json"]).stdout)
    assert out["run_id"] in [r["run_id"] for r in runs]
    lb = runner.invoke(app, ["leaderboard", out["run_id"], "--store", store])
    assert lb.exit_code == 0 and "sma" in lb.stdout and "Sharpe" in lb.stdout
    from arena.store import open_store

    decision_id = open_store(store, read_only=True).decisions(out["run_id"], contender="sma", limit=1)[0]["decision_id"]
    why = runner.invoke(app, ["why", decision_id, "--store", store, "--json"])
    assert why.exit_code == 0
    d = json.loads(why.stdout)
    assert {e["feature"] for e in d["explanation"]} >= {"sma_fast", "sma_slow"}
    table = runner.invoke(app, ["why", decision_id, "--store", store])
    assert "sma_fast" in table.stdout and "risk:" in table.stdout


def test_unknown_run_and_decision_are_clear_errors(tmp_path):
    from arena.store import open_store

    store = f"duckdb://{tmp_path / 'empty.duckdb'}"
    open_store(store).close()
    res = runner.invoke(app, ["leaderboard", "nope", "--store", store])
    assert res.exit_code == 2 and "no run 'nope'" in res.output
    res = runner.invoke(app, ["why", "nope/x/1", "--store", store])
    assert res.exit_code == 2 and "no decision" in res.output


def test_config_errors_name_file_and_key(tmp_path):
    path, _ = _write_config(tmp_path, risk={"max_drawdwn": 0.2})
    res = runner.invoke(app, ["run", str(path)])
    assert res.exit_code == 2
    assert "cfg.yaml" in res.output and "risk.max_drawdwn" in res.output and "max_drawdown" in res.output


def test_contender_param_typo_is_rejected_before_running(tmp_path):
    path, _ = _write_config(tmp_path, contenders=[{"name": "s", "class": "sma_crossover", "params": {"fsat": 3}}])
    res = runner.invoke(app, ["run", str(path)])
    assert res.exit_code == 2 and "contenders[0].params" in res.output and "Did you mean 'fast'" in res.output


def test_data_list_shows_bundled_sets():
    res = runner.invoke(app, ["data", "list", "--json"])
    names = {m["name"] for m in json.loads(res.stdout)}
    assert {"us_equities_daily", "crypto_hourly"} <= names
    table = runner.invoke(app, ["data", "list"], terminal_width=250)
    assert table.exit_code == 0
    row = next(line for line in table.output.splitlines() if "us_equities_daily" in line)
    assert "1d" in row and "arch 8.0.0" in row and "None" not in row, row


def test_data_validate_reports_problems_without_running(tmp_path):
    f = tmp_path / "bars.csv"
    f.write_text(
        "date,open,high,low,close,volume\n"
        "2020-01-02,10,11,9,10.5,100\n"
        "2020-01-03,10,9,11,10.5,100\n"  # high < low
        "2020-01-03,10,11,9,10.5,100\n"  # duplicate timestamp
        "2020-01-06,10,11,9,10.5,-5\n"  # negative volume
    )
    res = runner.invoke(app, ["data", "validate", str(f), "--symbol", "XYZ", "--json"])
    assert res.exit_code == 1, "a file that would not load exits non-zero"
    report = json.loads(res.stdout)
    assert report["score"] < 100 and not report["valid"]
    text = json.dumps(report)
    assert "high" in text and "volume" in text
    table = runner.invoke(app, ["data", "validate", str(f), "--symbol", "XYZ"])
    assert table.exit_code == 1 and "bars.csv" in table.stdout


def test_data_validate_exits_0_on_a_file_written_by_to_csv(tmp_path):
    """``DataFrame.to_csv()`` writes the index as an unnamed first column: it loads."""
    from arena.data import SampleSource

    frame = SampleSource("us_equities_daily").load()
    f = tmp_path / "msft.csv"
    frame[frame["symbol"] == "MSFT"].head(200).to_csv(f)
    res = runner.invoke(app, ["data", "validate", str(f), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["valid"]


@pytest.mark.ray
def test_run_with_bad_data_file_names_file_row_and_column(ray_session, tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("date,open,high,low,close,volume\n2020-01-02,10,11,9,10.5,100\n2020-01-03,10,11,9,0,100\n")
    path, _ = _write_config(tmp_path, data={"source": "csv", "path": str(f), "symbol": "BAD"})
    res = runner.invoke(app, ["run", str(path)])
    assert res.exit_code == 2, res.output
    assert "bad.csv" in res.output and "line 3" in res.output and "'close'" in res.output


def test_data_validate_counts_gaps_against_an_exchange_calendar(tmp_path):
    f = tmp_path / "bars.csv"
    days = ["2019-12-23", "2019-12-24", "2019-12-26", "2019-12-27", "2019-12-30", "2019-12-31", "2020-01-03"]
    f.write_text("date,open,high,low,close,volume\n" + "".join(f"{d},10,11,9,10.5,100\n" for d in days))
    res = runner.invoke(app, ["data", "validate", str(f), "--symbol", "XYZ", "--calendar", "XNYS", "--json"])
    assert res.exit_code == 0, res.output
    entry = json.loads(res.stdout)["per_symbol"]["XYZ"]
    assert entry["missing_bars"] == 1 and entry["gaps"][0]["start"].startswith("2020-01-02")
    bad = runner.invoke(app, ["data", "validate", str(f), "--symbol", "XYZ", "--calendar", "NYSE_X"])
    assert bad.exit_code == 2 and "unknown exchange calendar 'NYSE_X'" in bad.output
