"""databricks-sql-connector with ``use_sea=True``: the Statement Execution API over sessions
(POST/DELETE /api/2.0/sql/sessions/, statements bound to the session) against the real stack."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
import pytest
from databricks import sql
from databricks.sql.exc import Error

from sqlgate.settings import Settings

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::UserWarning")]


def sea_connect(url: str, token: str, settings: Settings, **kw: object) -> sql.client.Connection:
    """use_sea over plain HTTP: the SEA client builds its URL from server_hostname + _port."""
    return sql.connect(server_hostname="http://127.0.0.1", _port=urlparse(url).port,
                       http_path=f"/sql/1.0/warehouses/{settings.gateway.warehouse_id}",
                       access_token=token, use_sea=True, enable_telemetry=False, **kw)


def test_session_catalog_schema_and_named_parameters(
    gateway_server: tuple[str, str, Settings],
) -> None:
    url, token, settings = gateway_server
    with sea_connect(url, token, settings, catalog="main", schema="tpch",
                     session_configuration={"ANSI_MODE": "true"}) as conn, conn.cursor() as cur:
        # unqualified names resolve in the session's catalog and schema
        cur.execute("SELECT n_name FROM nation WHERE n_nationkey = :k", {"k": 3})
        assert cur.fetchall()[0][0] == "CANADA"
        cur.execute("SELECT current_catalog() AS c, current_schema() AS s")
        row = cur.fetchone()
        assert (row.c, row.s) == ("main", "tpch")
        cur.execute("SELECT o_orderkey FROM orders ORDER BY o_orderkey")
        assert len(cur.fetchall()) == 15_000


def test_session_confs_refused_and_sessions_closed(
    gateway_server: tuple[str, str, Settings],
) -> None:
    url, token, settings = gateway_server
    with pytest.raises(Error, match="400"):  # the connector shows the status only
        sea_connect(url, token, settings, session_configuration={"TIMEZONE": "Europe/Paris"})
    headers = {"Authorization": f"Bearer {token}"}
    wh = settings.gateway.warehouse_id
    with httpx.Client(base_url=url, headers=headers) as http:
        refused = http.post("/api/2.0/sql/sessions/", json={
            "warehouse_id": wh, "session_confs": {"timezone": "Europe/Paris"}})
        assert refused.status_code == 400 and "TIMEZONE" in refused.json()["message"]
        sid = http.post("/api/2.0/sql/sessions/", json={"warehouse_id": wh}).json()["session_id"]
        ok = http.post("/api/2.0/sql/statements", json={
            "statement": "SELECT 1 AS x", "warehouse_id": wh, "session_id": sid})
        assert ok.json()["status"]["state"] == "SUCCEEDED"
        assert http.request("DELETE", f"/api/2.0/sql/sessions/{sid}",
                            params={"warehouse_id": wh}).status_code == 200
        gone = http.post("/api/2.0/sql/statements", json={
            "statement": "SELECT 1 AS x", "warehouse_id": wh, "session_id": sid})
        assert gone.status_code == 404 and gone.json()["error_code"] == "NOT_FOUND"
        other = http.post("/api/2.0/sql/sessions/", json={"warehouse_id": "nope"})
        assert other.status_code == 404
