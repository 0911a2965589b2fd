"""Workspaces see only their catalogs, on both fronts, against the real stack.

Two workspaces share one lake: alpha is bound to catalog ``alpha``, beta to ``beta``
(``catalogs = [...]`` in the tokens file). For beta, alpha's catalog does not exist: reads,
writes, SHOW, DESCRIBE, information_schema and the Thrift metadata calls all say "not
found" or leave it out, and alpha's table is unchanged afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from databricks import sql
from deltalake import DeltaTable, write_deltalake

from gateway.pool.router import warehouse_id_for
from sqlgate.settings import Settings
from tests.fixtures.server import tokens_gateway

pytestmark = pytest.mark.e2e
URL = "/api/2.0/sql/statements"


@pytest.fixture(scope="module")
def bound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings, Path]]:
    """(base_url, settings, lake) of a gateway whose two workspaces are bound to a catalog."""
    tmp = tmp_path_factory.mktemp("binding")
    lake = tmp / "lake"
    write_deltalake(str(lake / "alpha" / "priv" / "t"), pa.table({"secret": ["alpha-only"]}))
    write_deltalake(str(lake / "beta" / "own" / "u"), pa.table({"v": [1]}))
    tokens = {"tok-a": {"workspace": "alpha", "catalogs": ["alpha"]},
              "tok-b": {"workspace": "beta", "catalogs": ["beta"]}}
    with tokens_gateway(tmp, lake, tokens) as (url, settings):
        yield url, settings, lake


def _rest(url: str, settings: Settings, ws: str, statement: str) -> dict[str, Any]:
    r = httpx.post(url + URL, headers={"Authorization": f"Bearer tok-{ws[0]}"}, timeout=60,
                   json={"statement": statement, "wait_timeout": "30s",
                         "warehouse_id": warehouse_id_for(settings, ws)})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_rest_beta_cannot_see_alpha(bound: tuple[str, Settings, Path]) -> None:
    url, settings, lake = bound
    before = DeltaTable(str(lake / "alpha" / "priv" / "t")).version()
    for statement in (
        "SELECT * FROM alpha.priv.t", "SELECT count(*) FROM alpha.priv.t WHERE secret < 'b'",
        "DESCRIBE alpha.priv.t", "INSERT OVERWRITE alpha.priv.t SELECT 'beta was here'",
        "INSERT INTO alpha.priv.t VALUES ('beta was here')", "SHOW SCHEMAS IN alpha",
        "SHOW TABLES IN alpha.priv", "CREATE TABLE alpha.priv.new AS SELECT 1 AS a",
        "SELECT * FROM alpha.priv.t VERSION AS OF 0",
    ):
        body = _rest(url, settings, "beta", statement)
        assert body["status"]["state"] == "FAILED", (statement, body)
        message = body["status"]["error"]["message"]
        assert "not found" in message.lower() or "cannot be found" in message, message
        assert "alpha-only" not in json.dumps(body)
    shown = _rest(url, settings, "beta", "SHOW CATALOGS")
    assert shown["result"]["data_array"] == [["beta"]]
    tables = _rest(url, settings, "beta", "SELECT table_catalog, table_name FROM "
                   "information_schema.tables ORDER BY 1")
    assert tables["result"]["data_array"] == [["beta", "u"]]
    # beta's own catalog is its default; alpha still reads its own table
    own = _rest(url, settings, "beta", "SELECT v FROM own.u")
    assert own["result"]["data_array"] == [["1"]]
    mine = _rest(url, settings, "alpha", "SELECT secret FROM alpha.priv.t")
    assert mine["result"]["data_array"] == [["alpha-only"]]
    assert DeltaTable(str(lake / "alpha" / "priv" / "t")).version() == before
    assert not (lake / "alpha" / "priv" / "new").exists()


def test_thrift_beta_cannot_see_alpha(bound: tuple[str, Settings, Path]) -> None:
    url, settings, _ = bound
    path = f"/sql/1.0/warehouses/{warehouse_id_for(settings, 'beta')}"
    with sql.connect(server_hostname=url, http_path=path, access_token="tok-b",
                     _connection_uri=url + path, enable_telemetry=False) as conn, \
            conn.cursor() as cur:
        assert [r[0] for r in cur.catalogs().fetchall()] == ["beta"]
        assert cur.schemas(catalog_name="alpha").fetchall() == []
        assert cur.tables(catalog_name="alpha").fetchall() == []
        assert cur.columns(catalog_name="alpha").fetchall() == []
        assert [r[2] for r in cur.tables(catalog_name="beta").fetchall()] == ["u"]
        for statement in ("SELECT * FROM alpha.priv.t", "INSERT INTO alpha.priv.t "
                          "VALUES ('x')", "SHOW TABLES IN alpha.priv"):
            with pytest.raises(sql.exc.DatabaseError) as info:
                cur.execute(statement)
            assert "not found" in str(info.value).lower() or "cannot be found" in str(
                info.value)
