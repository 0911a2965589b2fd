"""SELECT ... FROM system.query.history through the real pool: the workers run the SQL over the
rows the gateway attaches (the caller's workspace only)."""

from __future__ import annotations

import httpx
import pytest

from sqlgate.settings import Settings

pytestmark = pytest.mark.e2e
API = "/api/2.0/sql/statements"


def _run(url: str, token: str, sql: str) -> dict[str, object]:
    r = httpx.post(f"{url}{API}", headers={"Authorization": f"Bearer {token}"}, timeout=120,
                   json={"statement": sql, "warehouse_id": "sqlgate0000000001",
                         "wait_timeout": "50s"})
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_system_query_history_in_databricks_names(
        gateway_server: tuple[str, str, Settings]) -> None:
    url, token, _ = gateway_server
    first = _run(url, token, "SELECT count(*) AS n FROM main.tpch.nation")
    sid = first["statement_id"]
    got = _run(url, token, f"""
        SELECT statement_id, executed_by, statement_text, execution_status,
               compute.warehouse_id AS warehouse_id, total_duration_ms >= 0 AS timed,
               start_time <= end_time AS ordered, statement_type, produced_rows
        FROM system.query.history WHERE statement_id = '{sid}'""")
    assert got["status"] == {"state": "SUCCEEDED"}, got
    columns = [c["name"] for c in got["manifest"]["schema"]["columns"]]  # type: ignore[index]
    row = dict(zip(columns, got["result"]["data_array"][0], strict=True))  # type: ignore[index]
    assert row == {"statement_id": sid, "executed_by": "token",
                   "statement_text": "SELECT count(*) AS n FROM main.tpch.nation",
                   "execution_status": "FINISHED", "warehouse_id": "sqlgate0000000001",
                   "timed": "true", "ordered": "true", "statement_type": "SELECT",
                   "produced_rows": "1"}
