"""Store URLs, the scheme registry, and the one schema both DDL and validation come from."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from store_sample_rows import equity_rows

import arena.store.url as store_url
from arena.store import (
    TABLES,
    ColumnType,
    DuckDBStore,
    Store,
    open_store,
    parse_store_url,
    register_store_scheme,
    store_schemes,
)
from arena.store.duckdb_store import DUCKDB_TYPES, duckdb_ddl
from arena.store.arrow import arrow_schema
from arena.store.rows import to_arrow


def test_absolute_duckdb_url(tmp_path: Path) -> None:
    path = tmp_path / "abs.duckdb"
    with open_store(f"duckdb://{path}") as store:
        assert isinstance(store, DuckDBStore) and store.path == path
    assert path.is_file()


def test_relative_duckdb_url_and_plain_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("duckdb://sub/rel.duckdb") as store:
        assert store.path == tmp_path / "sub" / "rel.duckdb"
    with open_store("plain.duckdb") as store:
        assert store.path == tmp_path / "plain.duckdb"
    with open_store(tmp_path / "as_path.duckdb") as store:
        assert store.path == tmp_path / "as_path.duckdb"


def test_parse_store_url_forms() -> None:
    assert parse_store_url("duckdb:///data/a.duckdb") == ("duckdb", "/data/a.duckdb")
    assert parse_store_url("DuckDB://a.duckdb") == ("duckdb", "a.duckdb")
    assert parse_store_url("runs/a.duckdb") == ("duckdb", "runs/a.duckdb")
    assert parse_store_url("questdb://localhost:9009") == ("questdb", "localhost:9009")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db:5432", "unknown scheme 'postgres'"),
        ("arena.sqlite", "does not end with .duckdb"),
        (Path("arena.db"), "must end with .duckdb"),
        ("duckdb://", "names no location"),
        ("", "non-empty string"),
    ],
)
def test_malformed_urls_are_value_errors(url: str | Path, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)


def test_questdb_url_without_a_server_is_a_connection_error() -> None:
    # port 9 (discard) on loopback: nothing listens there
    with pytest.raises(ConnectionError, match="127.0.0.1:9 .*does not answer"):
        open_store("questdb://127.0.0.1:9?pg_port=9", read_only=True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("questdb://localhost:http", "port 'http' is not a number"),
        ("questdb://localhost:9000?pg_port=x", "pg_port 'x' is not a number"),
        ("questdb://localhost:9000?user=admin", "unknown query key 'user'"),
        ("questdb://localhost:9000?prefix=a-b", "prefix must be letters"),
    ],
)
def test_malformed_questdb_urls_are_value_errors(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url, read_only=True)


def test_a_new_scheme_plugs_into_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_url, "_SCHEMES", dict(store_url._SCHEMES))  # restored afterwards
    opened: list[tuple[str, bool]] = []

    def opener(location: str, read_only: bool, **options: object) -> Store:
        opened.append((location, read_only))
        return DuckDBStore(tmp_path / f"{location}.duckdb", read_only=False)

    register_store_scheme("testmem", opener)
    assert "testmem" in store_schemes()
    with pytest.raises(ValueError, match="already registered"):
        register_store_scheme("testmem", opener)
    with open_store("testmem://alpha") as store:
        assert store.list_runs() == []
    assert opened == [("alpha", False)]


def test_read_only_open_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(FileNotFoundError, match=r"missing\.duckdb"):
        open_store(missing, read_only=True)
    assert not missing.exists()


def test_ddl_is_generated_from_the_schema(store_path: Path) -> None:
    DuckDBStore(store_path).close()
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        for table in TABLES.values():
            found = con.execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table.name],
            ).fetchall()
            assert found == [
                (c.name, DUCKDB_TYPES[c.type], "YES" if c.nullable else "NO") for c in table.columns
            ]
    finally:
        con.close()
    assert 'PRIMARY KEY ("decision_id")' in duckdb_ddl(TABLES["decisions"])


def test_append_validation_uses_the_same_schema() -> None:
    for table in TABLES.values():
        assert arrow_schema(table).names == list(table.column_names)
        assert all(c.name.endswith("_json") == (c.type is ColumnType.JSON) for c in table.columns)
    batch = to_arrow(TABLES["equity"], equity_rows("run-1", "sma", 2))
    assert batch.schema == arrow_schema(TABLES["equity"])
    assert batch.num_rows == 2


def test_a_file_with_a_different_schema_is_refused(store_path: Path) -> None:
    con = duckdb.connect(str(store_path))
    con.execute("CREATE TABLE equity (run_id VARCHAR, ts TIMESTAMP)")
    con.close()
    with pytest.raises(ValueError, match=r"table 'equity' does not match .* column 1"):
        DuckDBStore(store_path)


def test_a_file_that_is_not_an_arena_store_is_refused(store_path: Path) -> None:
    duckdb.connect(str(store_path)).close()
    with pytest.raises(ValueError, match="is not an arena store: table 'runs' is missing"):
        DuckDBStore(store_path, read_only=True)
