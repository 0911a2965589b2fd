"""GRANT / REVOKE enforced on both fronts against the real stack.

One workspace, two users of the tokens file: ada creates a schema, a table and a view; bob
may do nothing there until ada grants it. Bob's refused writes (REST and Thrift) answer
PERMISSION_DENIED and leave the Delta table's version where it was; reads through a view
need SELECT on the view only; a revoke takes effect on the next statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from databricks import sql
from databricks.sql.exc import ServerOperationError
from deltalake import DeltaTable

from gateway.pool.router import warehouse_id_for
from sqlgate.settings import Settings
from tests.fixtures.server import tokens_gateway

pytestmark = pytest.mark.e2e
URL = "/api/2.0/sql/statements"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings, Path]]:
    tmp = tmp_path_factory.mktemp("grants")
    lake = tmp / "lake"
    (lake / "main" / "default").mkdir(parents=True)
    tokens = {"tok-ada": {"workspace": "shop", "user": "ada"},
              "tok-bob": {"workspace": "shop", "user": "bob"}}
    with tokens_gateway(tmp, lake, tokens) as (url, settings):
        yield url, settings, lake


def rest(shop: tuple[str, Settings, Path], user: str, statement: str) -> dict[str, Any]:
    url, settings, _ = shop
    r = httpx.post(url + URL, headers={"Authorization": f"Bearer tok-{user}"}, timeout=60,
                   json={"statement": statement, "wait_timeout": "30s",
                         "warehouse_id": warehouse_id_for(settings, "shop")})
    assert r.status_code == 200, r.text
    return dict(r.json())


def ok(shop: tuple[str, Settings, Path], user: str, statement: str) -> list[list[Any]]:
    body = rest(shop, user, statement)
    assert body["status"]["state"] == "SUCCEEDED", (statement, body)
    return list(body.get("result", {}).get("data_array") or [])


def denied(shop: tuple[str, Settings, Path], user: str, statement: str) -> None:
    body = rest(shop, user, statement)
    assert body["status"]["state"] == "FAILED", (statement, body)
    assert body["status"]["error"]["error_code"] == "PERMISSION_DENIED", (statement, body)


def test_grants_on_both_fronts(shop: tuple[str, Settings, Path]) -> None:
    url, settings, lake = shop
    ok(shop, "ada", "CREATE SCHEMA main.sales")
    ok(shop, "ada", "CREATE TABLE main.sales.orders (id BIGINT, amount DECIMAL(10,2))")
    ok(shop, "ada", "INSERT INTO main.sales.orders VALUES (1, 9.50), (2, 20.00)")
    ok(shop, "ada", "CREATE VIEW main.sales.totals AS SELECT sum(amount) AS total "
                    "FROM main.sales.orders")
    table = str(lake / "main" / "sales" / "orders")
    version = DeltaTable(table).version()
    for statement in ("SELECT * FROM main.sales.orders", "SELECT * FROM main.sales.totals",
                      "INSERT INTO main.sales.orders VALUES (3, 1.00)",
                      "UPDATE main.sales.orders SET amount = 0",
                      "DELETE FROM main.sales.orders",
                      "MERGE INTO main.sales.orders t USING (SELECT 1 AS id) s ON t.id = s.id "
                      "WHEN MATCHED THEN DELETE",
                      "DROP TABLE main.sales.orders", "TRUNCATE TABLE main.sales.orders",
                      "GRANT SELECT ON TABLE main.sales.orders TO bob",
                      "CREATE TABLE main.sales.mine AS SELECT 1 AS a"):
        denied(shop, "bob", statement)
    assert DeltaTable(table).version() == version  # nothing written

    # Thrift: the same refusal through the connector
    path = f"/sql/1.0/warehouses/{warehouse_id_for(settings, 'shop')}"
    with sql.connect(server_hostname=url, http_path=path, access_token="tok-bob",
                     _connection_uri=url + path, enable_telemetry=False) as conn, \
            conn.cursor() as cur:
        with pytest.raises(ServerOperationError, match="INSUFFICIENT_PERMISSIONS"):
            cur.execute("DELETE FROM main.sales.orders WHERE id = 1")
        ok(shop, "ada", "GRANT USE SCHEMA, SELECT ON SCHEMA main.sales TO bob")
        cur.execute("SELECT count(*) FROM main.sales.orders")
        assert cur.fetchall()[0][0] == 2
    assert DeltaTable(table).version() == version

    ok(shop, "ada", "REVOKE SELECT ON SCHEMA main.sales FROM bob")
    ok(shop, "ada", "GRANT SELECT ON VIEW main.sales.totals TO bob")
    assert ok(shop, "bob", "SELECT total FROM main.sales.totals") == [["29.50"]]
    denied(shop, "bob", "SELECT * FROM main.sales.orders")
    ok(shop, "ada", "GRANT MODIFY, SELECT ON TABLE main.sales.orders TO bob")
    ok(shop, "bob", "INSERT INTO main.sales.orders VALUES (3, 1.00)")
    grants = ok(shop, "ada", "SHOW GRANTS ON TABLE main.sales.orders")
    assert ["ada", "OWN", "TABLE", "main.sales.orders"] in grants
    assert ["bob", "MODIFY", "TABLE", "main.sales.orders"] in grants
