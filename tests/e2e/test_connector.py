"""The unmodified databricks-sql-connector over Thrift/HTTP against the real stack:
uvicorn, the warm pool, worker processes, the TPC-H lake (SF 0.01)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from databricks import sql
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import StatementState
from databricks.sql.exc import DatabaseError, ServerOperationError

from fetch.jsonrows import rows_as_strings
from sqlgate.settings import Settings

pytestmark = pytest.mark.e2e
QUERIES = Path(__file__).resolve().parents[2] / "bench" / "queries" / "tpch"


def connect(url: str, token: str, settings: Settings, **kw: object) -> sql.client.Connection:
    """The recommended local call: plain HTTP through `_connection_uri`, telemetry off."""
    path = f"/sql/1.0/warehouses/{settings.gateway.warehouse_id}"
    return sql.connect(server_hostname=url, http_path=path, access_token=token,
                       _connection_uri=url + path, enable_telemetry=False, **kw)


@pytest.fixture(scope="module")
def conn(gateway_server: tuple[str, str, Settings]) -> Iterator[sql.client.Connection]:
    url, token, settings = gateway_server
    with connect(url, token, settings) as c:
        yield c


def test_fetch_styles_against_parquet_oracle(
    conn: sql.client.Connection, tpch_lake: tuple[Path, Path]
) -> None:
    oracle = pq.read_table(next(tpch_lake[1].glob("nation*")))
    want = sorted(zip(oracle.column("n_nationkey").to_pylist(),
                      oracle.column("n_name").to_pylist(), strict=True))
    with conn.cursor(arraysize=7) as cur:
        cur.execute("SELECT n_nationkey, n_name FROM main.tpch.nation ORDER BY n_nationkey")
        assert [d[0] for d in cur.description] == ["n_nationkey", "n_name"]
        first = cur.fetchone()
        some = cur.fetchmany(10)
        rest = cur.fetchall()
    got = [tuple(r) for r in [first, *some, *rest]]
    assert got == want


def test_fetchall_arrow_multi_page(conn: sql.client.Connection) -> None:
    with conn.cursor(arraysize=1000) as cur:
        cur.execute("SELECT o_orderkey, o_totalprice, o_orderdate FROM main.tpch.orders "
                    "ORDER BY o_orderkey LIMIT 5000")
        table = cur.fetchall_arrow()
    assert table.num_rows == 5000
    keys = table.column("o_orderkey").to_pylist()
    assert keys == sorted(keys) and len(set(keys)) == 5000
    assert str(table.schema.field("o_totalprice").type).startswith("decimal128")


def test_native_parameters(conn: sql.client.Connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT n_name FROM main.tpch.nation WHERE n_nationkey = :k", {"k": 3})
        assert cur.fetchall()[0][0] == "CANADA"
        cur.execute("SELECT count(*) AS n FROM main.tpch.nation WHERE n_name LIKE :p",
                    {"p": "I%"})
        assert cur.fetchone()[0] == 4  # INDIA, INDONESIA, IRAN, IRAQ


def test_catalog_rpcs(conn: sql.client.Connection) -> None:
    with conn.cursor() as cur:
        cur.catalogs()
        assert "main" in [r[0] for r in cur.fetchall()]
        cur.schemas(catalog_name="main")
        assert ("tpch", "main") in [(r[0], r[1]) for r in cur.fetchall()]
        cur.tables(catalog_name="main", schema_name="tpch")
        tables = {r.TABLE_NAME for r in cur.fetchall()}
        assert {"lineitem", "nation", "orders"} <= tables
        cur.columns(catalog_name="main", schema_name="tpch", table_name="nation")
        rows = cur.fetchall()
        cols = [(r.COLUMN_NAME, r.ORDINAL_POSITION) for r in rows]
        assert [c for c, _ in cols][:2] == ["n_nationkey", "n_name"]
        # the JDBC DatabaseMetaData.getColumns layout, all 23 columns, in order
        assert [d[0] for d in cur.description][-6:] == [
            "IS_NULLABLE", "SCOPE_CATALOG", "SCOPE_SCHEMA", "SCOPE_TABLE", "SOURCE_DATA_TYPE",
            "IS_AUTO_INCREMENT"]
        assert len(cur.description) == 23
        assert rows[0].IS_AUTO_INCREMENT == "NO" and rows[0].SOURCE_DATA_TYPE is None


def test_sql_error_then_session_still_works(conn: sql.client.Connection) -> None:
    with conn.cursor() as cur:
        with pytest.raises((ServerOperationError, DatabaseError)) as info:
            cur.execute("SELECT * FROM main.tpch.no_such_table")
        assert "no_such_table" in str(info.value).lower()
        cur.execute("SELECT 1 AS x")
        assert cur.fetchall()[0].x == 1


def test_execute_async_and_cancel(conn: sql.client.Connection) -> None:
    with conn.cursor() as cur:
        cur.execute_async("SELECT count(*) AS n FROM main.tpch.region")
        deadline = time.monotonic() + 60
        while cur.is_query_pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        cur.get_async_execution_result()
        assert cur.fetchall()[0].n == 5
    with conn.cursor() as cur:
        # A cross join that runs far longer than the test: cancelled mid-flight.
        cur.execute_async("SELECT count(*) FROM main.tpch.lineitem a, main.tpch.lineitem b "
                          "WHERE a.l_comment < b.l_comment")
        time.sleep(0.5)
        t0 = time.monotonic()
        cur.cancel()
        state = None
        while time.monotonic() - t0 < 30:
            state = cur.get_query_state()
            if state.name not in ("RUNNING", "PENDING"):
                break
            time.sleep(0.1)
        assert state is not None and state.name in ("CANCELLED", "CANCELED")


def test_cloud_fetch_on_large_result(
    conn: sql.client.Connection, gateway_server: tuple[str, str, Settings]
) -> None:
    limit = gateway_server[2].gateway.inline_byte_limit
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM main.tpch.lineitem ORDER BY l_orderkey, l_linenumber")
        queue = type(cur.active_result_set.results).__name__
        table = cur.fetchall_arrow()
    assert table.nbytes > limit, "the result must be over the inline limit"
    assert queue == "ThriftCloudFetchQueue"
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM main.tpch.lineitem")
        assert table.num_rows == cur.fetchone().n


@pytest.mark.parametrize("query", ["q01", "q03", "q06", "q13"])
def test_tpch_through_connector_equals_rest(
    query: str, gateway_server: tuple[str, str, Settings]
) -> None:
    url, token, settings = gateway_server
    text = (QUERIES / f"{query}.sql").read_text()
    with connect(url, token, settings, catalog="main", schema="tpch") as c, c.cursor() as cur:
        cur.execute(text)
        thrift_rows = rows_as_strings(cur.fetchall_arrow())
    w = WorkspaceClient(host=url, token=token)
    r = w.statement_execution.execute_statement(
        warehouse_id=settings.gateway.warehouse_id, statement=text, catalog="main",
        schema="tpch", wait_timeout="50s")
    assert r.status.state == StatementState.SUCCEEDED, r.status
    assert thrift_rows == (r.result.data_array or [])
    assert len(thrift_rows) > 0


def test_functions_listed_by_get_functions_run(conn: sql.client.Connection) -> None:
    """GetFunctions lists only what runs: every listed function's example, in one SELECT."""
    from gateway.thrift.jdbcmeta import BUILTINS

    with conn.cursor() as cur:
        cur.execute("SELECT " + ", ".join(BUILTINS.values()))
        (row,) = cur.fetchall()
    assert len(row) == len(BUILTINS)


def test_positional_parameters(conn: sql.client.Connection) -> None:
    """`?` markers bind in the order written (here the LIMIT's comes last in the text)."""
    with conn.cursor() as cur:
        cur.execute("WITH n AS (SELECT * FROM main.tpch.nation WHERE n_regionkey = ?) "
                    "SELECT n_name, ? AS tag FROM n WHERE n_nationkey >= ? "
                    "ORDER BY n_nationkey LIMIT ?", [1, "it's", 2, 2])
        assert [tuple(r) for r in cur.fetchall()] == [("BRAZIL", "it's"), ("CANADA", "it's")]
        with pytest.raises(ServerOperationError, match="UNBOUND_SQL_PARAMETER"):
            cur.execute("SELECT ? + ?", [1])


def test_current_catalog_and_schema_follow_the_session(
    gateway_server: tuple[str, str, Settings],
) -> None:
    url, token, settings = gateway_server
    with connect(url, token, settings, catalog="main", schema="tpch") as c, c.cursor() as cur:
        cur.execute("SELECT current_catalog(), current_schema(), current_database()")
        assert tuple(cur.fetchone()) == ("main", "tpch", "tpch")
        cur.execute("USE SCHEMA information_schema")
        cur.execute("SELECT current_schema() AS s")
        assert cur.fetchone().s == "information_schema"
        cur.execute("USE tpch")
        cur.execute("SELECT current_schema() AS s, count(*) AS n FROM region")
        row = cur.fetchone()
        assert (row.s, row.n) == ("tpch", 5)
