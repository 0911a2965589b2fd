"""impyla over HTTP (Bearer via JWT mode, Basic via PLAIN) against the real stack.

impyla also calls GetLog and CloseImpalaOperation, which the front answers with
UNKNOWN_METHOD without reading their binary arguments.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from impala.dbapi import connect

from sqlgate.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.mark.filterwarnings("ignore:JWT authentication is running without SSL")
@pytest.mark.parametrize("mode", ["JWT", "PLAIN"])
def test_impyla_query(gateway_server: tuple[str, str, Settings], mode: str) -> None:
    url, token, settings = gateway_server
    auth = {"auth_mechanism": "JWT", "jwt": token} if mode == "JWT" else {
        "auth_mechanism": "PLAIN", "user": "token", "password": token}
    conn = connect(host="127.0.0.1", port=urlparse(url).port, use_http_transport=True,
                   http_path=f"sql/1.0/warehouses/{settings.gateway.warehouse_id}", **auth)
    try:
        cur = conn.cursor()
        cur.execute("SELECT r_regionkey, r_name FROM main.tpch.region ORDER BY r_regionkey")
        rows = cur.fetchall()
        assert [r[1] for r in rows] == ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
        cur.execute("SELECT count(*) FROM main.tpch.nation")
        assert cur.fetchone()[0] == 25
        # impyla's catalog calls send regex patterns ('.*' by default)
        cur.get_databases()
        assert "tpch" in [row[0] for row in cur.fetchall()]
        cur.get_tables(database_name="tpch")
        assert {"lineitem", "nation", "region"} <= {row[2] for row in cur.fetchall()}
        assert cur.database_exists("tpch") and not cur.database_exists("nope")
        assert cur.table_exists("region", database_name="tpch")
        cur.close()
    finally:
        conn.close()
