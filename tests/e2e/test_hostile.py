"""Hostile statements through the real stack (uvicorn, the pool, worker processes): each
ends as a clear FAILED or 4xx in the API's shape, never a 5xx, an INTERNAL_ERROR or a path."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sqlgate.settings import Settings

pytestmark = pytest.mark.e2e
URL = "/api/2.0/sql/statements"


def _post(server: tuple[str, str, Settings], body: dict[str, Any]) -> httpx.Response:
    url, token, settings = server
    body = {"warehouse_id": settings.gateway.warehouse_id, "wait_timeout": "30s", **body}
    return httpx.post(url + URL, json=body, headers={"Authorization": f"Bearer {token}"},
                      timeout=60)


@pytest.mark.parametrize(("statement", "code"), [
    ("SELECT " + "(" * 5000 + "1" + ")" * 5000, "PARSE_SYNTAX_ERROR"),
    ("SELECT * FROM `..`.outside.secret", "INVALID_IDENTIFIER"),
    ("CREATE TABLE `..`.`..`.t2 AS SELECT 1 AS a", "INVALID_IDENTIFIER"),
    ("SELECT * FROM main.tpch.`%2e%2e`", "INVALID_IDENTIFIER"),
    ("SELECT * FROM main.tpch.nope", "TABLE_OR_VIEW_NOT_FOUND"),
])
def test_hostile_statements_fail_clearly(gateway_server: tuple[str, str, Settings],
                                         statement: str, code: str) -> None:
    r = _post(gateway_server, {"statement": statement})
    assert r.status_code == 200, r.text
    status = r.json()["status"]
    assert status["state"] == "FAILED", status
    error = status["error"]
    assert error["error_code"] != "INTERNAL_ERROR" and code in error["message"], error
    lake = str(gateway_server[2].engine.lake)
    assert lake not in error["message"]


def test_a_parameter_type_is_not_sql(gateway_server: tuple[str, str, Settings]) -> None:
    r = _post(gateway_server, {"statement": "SELECT :p AS x", "parameters": [
        {"name": "p", "value": "1", "type": "INT) FROM read_text('/etc/passwd') --"}]})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
