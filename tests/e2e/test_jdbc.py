"""The Hive JDBC driver (hive-jdbc 2.3.10, HiveServer2 over HTTP) against the real stack.

tests/e2e/jdbc/SqlgateJdbc.java is compiled with javac into a temporary folder against the
driver's jars (taken once from the pyspark source package into a cache outside the repo,
see tests/e2e/jdbc/jars.py), then run against a real gateway with the URL a user types:
``jdbc:hive2://127.0.0.1:PORT/default;transportMode=http;httpPath=sql/1.0/warehouses/ID``,
user ``token``, the token as password. Each check prints one JSON line; the tests read them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sqlgate.settings import Settings
from tests.e2e.jdbc import jars

pytestmark = [pytest.mark.e2e, pytest.mark.jdbc, pytest.mark.slow]
SOURCE = Path(__file__).parent / "jdbc" / "SqlgateJdbc.java"
# ~100 MB of text through FetchResults pages (no cloud fetch in Hive JDBC): 60,175 lineitem
# rows of ~1,650 characters each.
BIG_SQL = ("SELECT l_orderkey, repeat(l_comment || '|', 60) AS padded "
           "FROM main.tpch.lineitem")


@pytest.fixture(scope="module")
def jdbc_run(gateway_server: tuple[str, str, Settings],
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Compile and run the Java program once; its checks by name."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (java/javac) on this machine")
    folder = jars.fetch_jars()
    classes = tmp_path_factory.mktemp("jdbc-classes")
    cp = jars.classpath(folder)
    subprocess.run(["javac", "-d", str(classes), "-cp", cp, str(SOURCE)], check=True,
                   capture_output=True, text=True, timeout=120)
    url, token, settings = gateway_server
    port = url.rsplit(":", 1)[1]
    jdbc_url = (f"jdbc:hive2://127.0.0.1:{port}/default;transportMode=http;"
                f"httpPath=sql/1.0/warehouses/{settings.gateway.warehouse_id}")
    proc = subprocess.run(
        ["java", "-Xmx512m", "-cp", f"{cp}:{classes}", "SqlgateJdbc", jdbc_url, token, BIG_SQL],
        capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    checks = {}
    for line in proc.stdout.splitlines():
        if line.startswith("SQLGATE "):
            _, name, value = line.split(" ", 2)
            checks[name] = json.loads(value)
    assert checks, proc.stdout[-2000:] + proc.stderr[-2000:]
    return checks


def check(run: dict[str, Any], name: str) -> Any:
    """One check's value; a check that raised fails here with the Java exception's text."""
    value = run[name]
    assert not (isinstance(value, dict) and "error" in value), value
    return value


def test_select(jdbc_run: dict[str, Any]) -> None:
    assert check(jdbc_run, "select") == [["1", "a"]]


def test_every_type(jdbc_run: dict[str, Any]) -> None:
    t = check(jdbc_run, "types")
    values = {k: v["value"] for k, v in t.items() if isinstance(v, dict)}
    names = {k: v["type_name"] for k, v in t.items() if isinstance(v, dict)}
    assert values["c_boolean"] == "true" and values["c_tinyint"] == "1"
    assert values["c_smallint"] == "2" and values["c_int"] == "3" and values["c_bigint"] == "4"
    assert values["c_float"] == "1.5" and values["c_double"] == "2.25"
    assert values["c_decimal"] == "12345.67" and names["c_decimal"] == "decimal"
    assert values["c_string"] == "text" and values["c_null"] is None
    assert values["c_date"] == "2024-01-02" and names["c_date"] == "date"
    assert values["c_timestamp"] == "2024-01-02 03:04:05.123456"
    assert names["c_timestamp"] == "timestamp" and t["c_timestamp"]["type"] == 93
    assert values["c_timestamp_ntz"] == "2024-01-02 03:04:05.0"
    assert json.loads(values["c_array"]) == [1, 2, 3] and names["c_array"] == "array"
    assert json.loads(values["c_map"]) == {"a": 1} and names["c_map"] == "map"
    assert json.loads(values["c_struct"]) == {"x": 1, "y": "z"} and names["c_struct"] == "struct"
    assert t["getTimestamp"] == "2024-01-02 03:04:05.123456"
    assert t["getDate"] == "2024-01-02" and t["getBigDecimal"] == "12345.67"
    assert t["getLong"] == 4 and t["getBoolean"] is True


def test_big_result_pages_through_fetch_results(
    jdbc_run: dict[str, Any], tpch_lake: tuple[Path, Path]
) -> None:
    oracle = pq.read_table(next(tpch_lake[1].glob("lineitem*")),
                           columns=["l_orderkey", "l_comment"])
    comments = oracle.column("l_comment").cast(pa.string())
    big = check(jdbc_run, "big")
    assert big["rows"] == oracle.num_rows
    assert big["sum"] == pc.sum(oracle.column("l_orderkey")).as_py()
    want_chars = 60 * (pc.sum(pc.utf8_length(comments)).as_py()
                       + oracle.num_rows)
    assert big["chars"] == want_chars and want_chars > 90_000_000


def test_question_mark_parameters(jdbc_run: dict[str, Any]) -> None:
    assert check(jdbc_run, "params") == [["CANADA", "3"]]


def test_error_then_next_statement(jdbc_run: dict[str, Any]) -> None:
    err = check(jdbc_run, "error")
    assert err["message"] and "no_such_table" in err["message"].lower()
    assert err["sql_state"] == "42P01"
    assert err["after"] == [["2"]]


def test_database_metadata(jdbc_run: dict[str, Any]) -> None:
    md = check(jdbc_run, "metadata")
    assert md["product"] == "Spark SQL"
    assert "main" in md["catalogs"]
    assert md["schemas"] == ["tpch"]
    assert {"lineitem", "nation", "orders", "region"} <= set(md["tables"])
    assert md["columns"] == [["r_regionkey", -5, "BIGINT"], ["r_name", 12, "STRING"],
                             ["r_comment", 12, "STRING"]]
    assert md["table_types"] == ["TABLE", "VIEW"]
    assert {"BIGINT", "DECIMAL", "TIMESTAMP", "STRING"} <= set(md["type_info"])
    assert md["function_labels"][:3] == ["FUNCTION_CAT", "FUNCTION_SCHEM", "FUNCTION_NAME"]
    assert "sum" in md["functions"]
    assert md["primary_key_labels"] == ["TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME",
                                        "KEY_SEQ", "PK_NAME"]
    assert md["primary_keys"] == []
    assert md["imported_key_labels"][:4] == ["PKTABLE_CAT", "PKTABLE_SCHEM", "PKTABLE_NAME",
                                             "PKCOLUMN_NAME"]
    assert md["imported_keys"] == []
