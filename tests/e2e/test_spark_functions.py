"""Spark's answers through real clients: the differential suite's cases over `sqlgate serve`.

tests/engine/spark runs Spark's own answers (the committed fixtures) through the engine; this
sends a slice of them — the functions of whole families written this round and every case
over typed tables — through a real ``sqlgate serve`` with the unmodified databricks-sdk
(REST, JSON_ARRAY) and databricks-sql-connector (Thrift), and checks the client sees Spark's
rows, or an error where Spark raised.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from databricks import sql
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import StatementState

from tests.engine.spark import differential, tables
from tests.fixtures.serve import Served, serve

pytestmark = pytest.mark.e2e
TOKEN = "dapi-spark-e2e"
WAREHOUSE = "sqlgate0000000001"
# Whole functions whose Spark semantics are sqlgate's own code (UDFs, rewrites, the dialect).
FUNCTIONS = {
    "hash", "xxhash64", "crc32", "to_char", "to_varchar", "format_number", "to_number",
    "try_to_number", "months_between", "next_day", "convert_timezone", "make_interval",
    "hll_sketch_estimate", "theta_sketch_estimate", "kll_sketch_get_quantile_bigint",
    "arrays_zip", "zip_with", "array_sort", "map_zip_with", "json_tuple", "schema_of_json",
    "url_decode", "url_encode", "luhn_check", "soundex", "levenshtein", ">>>", "bit_count",
    "conv", "bin", "sentences", "is_valid_utf8", "to_base32", "explode", "posexplode_outer",
}


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    """The slice, kept to the cases the engine itself answers as Spark does."""
    chosen = [c for c in differential.load()
              if c["function"] in FUNCTIONS or c["family"] == "columns"]
    passing = [o.case for o in differential.run_all(chosen) if o.verdict == "pass"]
    assert len(passing) >= 100, len(passing)  # the slice is not silently empty
    return passing


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("spark-e2e")
    tables.create_tables(tmp / "lake")
    with serve(tmp, tmp / "lake", token=TOKEN) as gateway:
        yield gateway


def test_sdk_sees_sparks_rows(served: Served, cases: list[dict[str, Any]]) -> None:
    w = WorkspaceClient(host=served.url, token=TOKEN)
    differ = []
    for case in cases:
        r = w.statement_execution.execute_statement(
            warehouse_id=WAREHOUSE, statement=case["sql"], wait_timeout="30s")
        assert r.status is not None
        if "error" in case:
            if r.status.state != StatementState.FAILED:
                differ.append((case["sql"], "answered where Spark raised"))
            continue
        assert r.status.state == StatementState.SUCCEEDED, (case["sql"], r.status)
        rows = (r.result.data_array if r.result else None) or []
        if not differential.same_rows(rows, case["rows"], differential.ordered(case["sql"])):
            differ.append((case["sql"], rows, case["rows"]))
    assert differ == []


def test_connector_sees_sparks_values(served: Served, cases: list[dict[str, Any]]) -> None:
    """Scalar integer and string answers through Thrift, compared as Spark prints them."""
    simple = [c for c in cases if "error" not in c and len(c["rows"]) == 1
              and len(c["types"]) == 1 and c["types"][0] in ("INT", "BIGINT", "STRING")
              and c["rows"][0][0] is not None][:40]
    assert len(simple) >= 20, len(simple)
    with sql.connect(server_hostname="127.0.0.1", http_path=f"/sql/1.0/warehouses/{WAREHOUSE}",
                     access_token=TOKEN, enable_telemetry=False,
                     _connection_uri=f"{served.url}/sql/1.0/warehouses/{WAREHOUSE}"
                     ) as conn, conn.cursor() as cur:
        for case in simple:
            cur.execute(case["sql"])
            [(value,)] = cur.fetchall()
            assert str(value) == case["rows"][0][0], case["sql"]


def test_every_case_named_exists() -> None:
    """A typo in FUNCTIONS would quietly shrink the slice."""
    known = {c["function"] for c in differential.load()}
    assert FUNCTIONS - known == set()
