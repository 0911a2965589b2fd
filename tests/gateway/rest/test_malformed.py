"""Malformed REST input is a 4xx in the API's shape, never a 5xx."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import TestClient
from tests.gateway.fakes import FakeBackend

URL = "/api/2.0/sql/statements"
WH = "sqlgate0000000001"
JSON = {"Content-Type": "application/json"}


def _bad(client: TestClient, status: int, **kw: object) -> str:
    r = client.post(URL, **kw)  # type: ignore[arg-type]
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error_code", "message"}, body
    return str(body["message"])


@pytest.mark.parametrize("body", [
    b"[" * 30_000 + b"]" * 30_000,  # the decoder recursed once per level: 500
    b'{"statement": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    b'{"a": ' * 40 + b"1" + b"}" * 40,
    b'{"statement": "SELECT \'\\ud800\'", "warehouse_id": "' + WH.encode() + b'"}',
    b'{"statement": "SELECT 1", "warehouse_id": "w", "\\udfff": 1}',
    b"\xff\xfe{}",
])
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    assert "Malformed request body" in _bad(client, 400, content=body, headers=JSON)


@pytest.mark.parametrize("wait", ["\u0661\u0660s", "\uff11\uff10s", "10s\n", "\u0665s",
                                  "1e1s", " 10s"])
def test_wait_timeout_takes_ascii_digits_only(client: TestClient, wait: str) -> None:
    _bad(client, 400, json={"statement": "SELECT 1", "warehouse_id": WH, "wait_timeout": wait})


@pytest.mark.parametrize("field", ["row_limit", "byte_limit"])
def test_limits_take_ascii_digits_only(client: TestClient, field: str) -> None:
    _bad(client, 400, json={"statement": "SELECT 1", "warehouse_id": WH,
                            field: "\u0661\u0662"})


@pytest.mark.parametrize("typ", [
    "INT) FROM read_text('/etc/passwd') --", "INT; DROP TABLE x", "STRING COLLATE x",
    "DECIMAL(10,2)) --", "ARRAY<INT>", "MAP<STRING,INT>", "INTERVAL", "int\x00", "VARCHAR",
])
def test_parameter_types_follow_the_databricks_grammar(client: TestClient,
                                                       backend: FakeBackend, typ: str) -> None:
    _bad(client, 400, json={"statement": "SELECT :p", "warehouse_id": WH,
                            "parameters": [{"name": "p", "value": "1", "type": typ}]})
    assert backend.tasks == []


def test_good_parameter_types_are_canonical(client: TestClient, backend: FakeBackend) -> None:
    r = client.post(URL, json={"statement": "SELECT :p AS p", "warehouse_id": WH,
                               "parameters": [{"name": "p", "value": "1.5",
                                               "type": "decimal( 10, 2 )"}]})
    assert r.status_code == 200, r.text
    assert backend.tasks[-1].parameters[0].type == "DECIMAL(10,2)"
