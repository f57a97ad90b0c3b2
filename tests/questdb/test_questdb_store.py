"""The QuestDB store against a real server: DDL, round trips, idempotent re-sends,
injection-safe reads and the spool while the server is down."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from arena.store import TABLES, DuckDBStore, open_store
from arena.store.questdb_store import QuestDBStore, questdb_type

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "arena" / "store"))
from serve_sample_run import RUN_ID, T0, write_sample_run  # noqa: E402

DAY = dt.timedelta(days=1)
from store_sample_rows import bar_rows, equity_rows, order_rows, run_record  # noqa: E402

from serve.api import create_app  # noqa: E402


def _pg(server):
    return psycopg.connect(
        f"host=127.0.0.1 port={server.pg_port} user=admin password=quest dbname=qdb", autocommit=True
    )


def _count(server, prefix: str, table: str) -> int:
    with _pg(server) as con:
        return con.execute(f'SELECT count() FROM "{prefix}{table}"').fetchone()[0]


def _all_reads(store, sample) -> dict:
    rid = sample.run_id
    return {
        "list_runs": store.list_runs(),
        "get_run": store.get_run(rid),
        "leaderboard": store.leaderboard(rid),
        "contenders": store.contenders(rid),
        "equity": [store.equity_curve(rid, c) for c in ("momentum", "sma_cross")],
        "decisions": store.decisions(rid),
        "decisions_page": store.decisions(rid, contender="momentum", symbol="MSFT", limit=2, offset=1),
        "why": [store.decision(d) for d in sample.decision_ids],
        "kill_switch": store.kill_switch_events(rid),
        "events": store.events(rid),
        "halts": store.events(rid, kind="CONTENDER_HALTED"),
        "equity_columns": [
            {k: v.tolist() for k, v in store.equity_columns(rid, c).items()} for c in ("momentum", "sma_cross")
        ],
        "equity_columns_bounded": {
            k: v.tolist() for k, v in store.equity_columns(rid, "momentum", T0 + DAY, T0 + 3 * DAY).items()
        },
        "fills": store.fills(rid),
        "fills_of": store.fills(rid, contender="momentum", symbol="MSFT", start=T0 + DAY),
        "verdicts": store.risk_verdicts(rid),
        "verdicts_of": store.risk_verdicts(rid, contender="sma_cross", actions=("SCALE", "DENY"), limit=2),
        "no_verdicts": store.risk_verdicts(rid, actions=()),
        "bars": [store.bars(rid, s) for s in ("AAPL", "MSFT")],
        "bars_bounded": store.bars(rid, "AAPL", end=dt.datetime(2024, 1, 2, tzinfo=dt.UTC)),
        "trials": store.trials(store.get_run(rid)["data_sha256"]),
        "run_trials": store.run_trials(rid),
    }


def test_ddl_has_designated_timestamps_symbols_and_dedup_keys(questdb, qdb_url, prefix) -> None:
    with open_store(qdb_url):
        pass
    with _pg(questdb) as con:
        for table in TABLES.values():
            name = prefix + table.name
            designated, wal, dedup, partition = con.execute(
                "SELECT designatedTimestamp, walEnabled, dedup, partitionBy FROM tables() WHERE table_name = %s",
                [name],
            ).fetchone()
            assert (designated, wal, dedup, partition) == (table.timestamp, True, True, table.partition)
            cols = con.execute(f"SELECT \"column\", type, upsertKey FROM table_columns('{name}')").fetchall()
            assert [(c, t) for c, t, _ in cols] == [(c.name, questdb_type(c)) for c in table.columns]
            keys = {c for c, _, key in cols if key}
            assert keys == {table.timestamp, *table.dedup_key}, name
    assert questdb_type(TABLES["orders"].column("contender")) == "SYMBOL"


def test_every_read_matches_the_duckdb_store(qdb_url, tmp_path) -> None:
    with open_store(qdb_url) as store:
        sample = write_sample_run(store)
        store.append("bars", bar_rows(RUN_ID, ("AAPL", "MSFT"), 3))
    with DuckDBStore(tmp_path / "a.duckdb") as duck:
        write_sample_run(duck)
        duck.append("bars", bar_rows(RUN_ID, ("AAPL", "MSFT"), 3))
    with open_store(qdb_url, read_only=True) as q, open_store(tmp_path / "a.duckdb", read_only=True) as d:
        assert _all_reads(q, sample) == _all_reads(d, sample)
        assert q.get_run(RUN_ID)["status"] == "killed"


def test_a_leaderboard_table_of_an_earlier_version_gains_the_new_columns(questdb, qdb_url, prefix) -> None:
    from arena.store.questdb_wire import questdb_ddl
    from arena.store.schema import _LEADERBOARD_EXTRA, Table

    full = TABLES["leaderboard"]
    old = Table(full.name, full.columns[: -len(_LEADERBOARD_EXTRA)], key=full.key, partition=full.partition)
    with _pg(questdb) as con:
        con.execute(questdb_ddl(old, prefix))
    with open_store(qdb_url) as store:
        store.append("leaderboard", [{"run_id": "r", "contender": "c", "rank": 1, "status": "ok",
                                      "beats_benchmark": 1, "ts": 0}])
        store.flush()
        assert store.leaderboard("r")[0]["beats_benchmark"] == 1
    with _pg(questdb) as con:
        cols = con.execute(f"SELECT \"column\" FROM table_columns('{prefix}leaderboard')").fetchall()
    assert [c for (c,) in cols] == list(full.column_names)


def test_resending_the_same_rows_adds_nothing(questdb, qdb_url, prefix) -> None:
    rows = {
        "equity": equity_rows("run-1", "sma", 5),
        "orders": order_rows("run-1", "sma", "d1", "o1", 0),
        "bars": bar_rows("run-1", ("AAPL",), 4),
    }
    with open_store(qdb_url) as store:
        store.create_run(run_record())
        for _ in range(2):
            for table, batch in rows.items():
                store.append(table, batch)
            store.flush()
        counts = {t: _count(questdb, prefix, t) for t in rows}
        assert counts == {t: len(batch) for t, batch in rows.items()}
    with open_store(qdb_url) as store:
        store.finish_run("run-1", run_record().started_at, "finished", 5)
        assert _count(questdb, prefix, "runs") == 1
        assert store.get_run("run-1")["status"] == "finished"


def test_hostile_ids_are_bound_parameters(qdb_url) -> None:
    with open_store(qdb_url) as store:
        sample = write_sample_run(store)
    hostile = "x' OR '1'='1"
    with open_store(qdb_url, read_only=True) as store:
        assert store.get_run(hostile) is None
        assert store.leaderboard(hostile) == []
        assert store.decisions(hostile) == []
        assert store.decision(hostile) is None
        assert store.decisions(sample.run_id, symbol="%") == []
    with TestClient(create_app(qdb_url)) as client:
        assert client.get(f"/runs/{hostile}").status_code == 404
        assert client.get(f"/runs/{hostile}/leaderboard").status_code == 404
        assert client.get(f"/decisions/{hostile}/why").status_code == 404
        assert client.get(f"/runs/{sample.run_id}").status_code == 200


def test_rows_written_while_the_server_is_down_arrive_once(second_questdb, prefix, tmp_path) -> None:
    server = second_questdb
    url = server.url(prefix)
    store = open_store(url, spool_dir=tmp_path / "spool", retry_interval_s=0.2)
    assert isinstance(store, QuestDBStore)
    try:
        store.create_run(run_record("spooled"))
        store.append("equity", equity_rows("spooled", "sma", 3))
        store.flush()
        server.stop()
        store.append("equity", equity_rows("spooled", "sma", 6)[3:])  # never raises
        store.append("bars", bar_rows("spooled", ("AAPL", "MSFT"), 2))
        store.flush()
        assert store._spool.pending and list((tmp_path / "spool").glob("*.jsonl"))
        server.start()
        store.append("equity", equity_rows("spooled", "mom", 2))
        import time

        time.sleep(0.3)
        store.flush()
        assert not store._spool.pending
        assert [p["bar_index"] for p in store.equity_curve("spooled", "sma")] == [0, 1, 2, 3, 4, 5]
        assert len(store.equity_curve("spooled", "mom")) == 2
        assert _count(server, prefix, "bars") == 4
    finally:
        if not server.answers():
            server.start()
        store.close()
    assert not list((tmp_path / "spool").glob("*.jsonl"))


def test_a_spool_left_at_close_is_resent_by_the_next_writer(second_questdb, prefix, tmp_path) -> None:
    server = second_questdb
    url = server.url(prefix)
    spool = tmp_path / "spool"
    store = open_store(url, spool_dir=spool, retry_interval_s=0.2)
    try:
        store.create_run(run_record("left"))
        store.flush()
        server.stop()
        store.append("equity", equity_rows("left", "sma", 4))
    finally:
        store.close()  # last attempt fails: the spool stays
        left = list(spool.glob("*.jsonl"))
        server.start()
    assert len(left) == 1
    with open_store(url, spool_dir=spool) as again:
        assert [p["bar_index"] for p in again.equity_curve("left", "sma")] == [0, 1, 2, 3]
    assert not left[0].exists()


def test_a_writer_opened_while_the_server_is_down_trades_on_and_sends_when_it_answers(
    second_questdb, prefix, tmp_path
) -> None:
    server = second_questdb
    url = server.url(prefix)
    server.stop()
    try:
        with pytest.raises(ConnectionError, match="does not answer"):
            open_store(url, read_only=True)  # a reader still says so at once
        store = open_store(url, spool_dir=tmp_path / "spool", retry_interval_s=0.2)  # a writer does not
        store.create_run(run_record("down-at-start"))
        store.append("equity", equity_rows("down-at-start", "sma", 5))
        store.finish_run("down-at-start", dt.datetime(2024, 1, 2, tzinfo=dt.UTC), "finished", 5)
        assert store._spool.pending, "everything is spooled"
    finally:
        server.start()
    import time

    time.sleep(0.3)
    store.close()  # the server answers: tables made, spool sent
    with open_store(url, read_only=True) as reader:
        assert reader.get_run("down-at-start")["status"] == "finished"
        assert [p["bar_index"] for p in reader.equity_curve("down-at-start", "sma")] == [0, 1, 2, 3, 4]
    assert not list((tmp_path / "spool").glob("*.jsonl"))
