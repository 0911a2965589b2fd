"""The Statement Execution API in-process: shapes, validation, lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.waiting import eventually
from tests.gateway.conftest import TestClient
from tests.gateway.fakes import FakeBackend

WH = "sqlgate0000000001"
URL = "/api/2.0/sql/statements"


def execute(client: TestClient, sql: str, **fields: Any) -> Any:
    return client.post(URL, json={"statement": sql, "warehouse_id": WH, **fields})


def test_select_inline_json_array(client: TestClient) -> None:
    r = execute(client, "SELECT 1 AS a, 'x' AS b, NULL::INT AS c, 1.5::DECIMAL(5,2) AS d")
    assert r.status_code == 200
    body = r.json()
    assert body["statement_id"].startswith("01f0")
    assert body["status"] == {"state": "SUCCEEDED"}
    m = body["manifest"]
    assert m["format"] == "JSON_ARRAY"
    assert [c["name"] for c in m["schema"]["columns"]] == ["a", "b", "c", "d"]
    assert m["schema"]["columns"][3]["type_precision"] == 5
    assert m["total_row_count"] == 1 and m["truncated"] is False
    assert "total_byte_count" not in m
    assert body["result"]["data_array"] == [["1", "x", None, "1.50"]]
    assert "next_chunk_index" not in body["result"]
    assert body["sqlgate"]["lane"] == "short"


def test_get_and_chunk_and_row_offset_ignored(client: TestClient) -> None:
    sid = execute(client, "SELECT 42 AS x").json()["statement_id"]
    got = client.get(f"{URL}/{sid}").json()
    assert got["result"]["data_array"] == [["42"]]
    chunk = client.get(f"{URL}/{sid}/result/chunks/0?row_offset=0").json()
    assert chunk["data_array"] == [["42"]] and chunk["chunk_index"] == 0
    bad = client.get(f"{URL}/{sid}/result/chunks/3")
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_many_chunks_any_order(client: TestClient) -> None:
    # Small inline chunk target so a modest result spans several chunks.
    import gateway.rest.render as render

    old = render.INLINE_CHUNK_BYTES
    render.inline_layout.__defaults__ = (64 * 1024,)
    try:
        body = execute(client, "SELECT range AS i, 'row' || range AS s FROM range(20000)").json()
    finally:
        render.inline_layout.__defaults__ = (old,)
    m = body["manifest"]
    n = m["total_chunk_count"]
    assert n > 2 and m["total_row_count"] == 20000
    assert body["result"]["next_chunk_index"] == 1
    link = body["result"]["next_chunk_internal_link"]
    assert link.startswith(f"{URL}/{body['statement_id']}/result/chunks/1?row_offset=")
    rows: dict[int, list[Any]] = {}
    for i in reversed(range(n)):
        c = client.get(f"{URL}/{body['statement_id']}/result/chunks/{i}").json()
        assert c["row_offset"] == m["chunks"][i]["row_offset"]
        assert len(c["data_array"]) == c["row_count"]
        assert ("next_chunk_index" in c) == (i < n - 1)
        rows[i] = c["data_array"]
    flat = [r for i in range(n) for r in rows[i]]
    assert [int(r[0]) for r in flat] == list(range(20000))


def test_sql_error_is_200_failed(client: TestClient) -> None:
    r = execute(client, "SELECT * FROM no_such_table")
    assert r.status_code == 200
    status = r.json()["status"]
    assert status["state"] == "FAILED"
    assert status["error"]["error_code"] == "BAD_REQUEST"
    assert "no_such_table" in status["error"]["message"]
    assert status["sql_state"] == "42000"
    assert "manifest" not in r.json()


def test_row_limit_truncates(client: TestClient, backend: FakeBackend) -> None:
    body = execute(client, "SELECT * FROM range(10)", row_limit=3).json()
    assert body["manifest"]["truncated"] is True
    assert body["manifest"]["total_row_count"] == 3
    assert backend.tasks[-1].row_limit == 3


def test_parameters_are_passed(client: TestClient, backend: FakeBackend) -> None:
    body = execute(
        client, "SELECT :n + 1 AS x, :s AS s",
        parameters=[{"name": "n", "value": "41", "type": "INT"}, {"name": "s", "value": None}],
    ).json()
    assert body["result"]["data_array"] == [["42", None]]
    assert backend.tasks[-1].parameters[0].type == "INT"


def test_wait_timeout_zero_then_poll(client: TestClient) -> None:
    body = execute(client, "SLEEP 0.3", wait_timeout="0s").json()
    assert body["status"]["state"] in ("PENDING", "RUNNING")
    sid = body["statement_id"]

    def state() -> str:
        value: str = client.get(f"{URL}/{sid}").json()["status"]["state"]
        return value

    assert eventually(lambda: state() == "SUCCEEDED"), state()


def test_wait_timeout_cancel(client: TestClient, backend: FakeBackend) -> None:
    body = execute(client, "SLEEP 30", wait_timeout="5s", on_wait_timeout="CANCEL").json()
    assert body["status"]["state"] == "CANCELED"


def test_cancel_and_close(client: TestClient, backend: FakeBackend) -> None:
    sid = execute(client, "SLEEP 30", wait_timeout="0s").json()["statement_id"]
    r = client.post(f"{URL}/{sid}/cancel", json={})
    assert r.status_code == 200 and r.json() == {}
    assert client.get(f"{URL}/{sid}").json()["status"]["state"] == "CANCELED"
    done = execute(client, "SELECT 1").json()["statement_id"]
    assert client.delete(f"{URL}/{done}").status_code == 200
    assert client.get(f"{URL}/{done}").json()["status"]["state"] == "CLOSED"
    gone = client.get(f"{URL}/{done}/result/chunks/0")
    assert gone.status_code == 404


def test_reject_before_execution_is_429(client: TestClient) -> None:
    r = execute(client, "REJECT")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert r.json()["error_code"] == "RESOURCE_EXHAUSTED"


def test_inline_limit_fails_statement(client: TestClient) -> None:
    body = execute(client, "SELECT repeat('x', 1000) AS s FROM range(5000)").json()
    assert body["status"]["state"] == "FAILED"
    err = body["status"]["error"]
    assert err["error_code"] == "BAD_REQUEST"
    assert err["message"].startswith("Inline byte limit exceeded.")
    assert "at most 1048576 bytes" in err["message"]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"statement": ""}, "statement"),
        ({"statement": 5}, "statement"),
        ({"warehouse_id": None}, "warehouse_id"),
        ({"wait_timeout": "4s"}, "wait_timeout"),
        ({"wait_timeout": "51s"}, "wait_timeout"),
        ({"wait_timeout": 10}, "wait_timeout"),
        ({"on_wait_timeout": "STOP"}, "on_wait_timeout"),
        ({"disposition": "INLINE", "format": "ARROW_STREAM"}, "must be JSON_ARRAY"),
        ({"format": "XML"}, "format"),
        ({"row_limit": -1}, "row_limit"),
        ({"row_limit": "abc"}, "row_limit"),
        ({"byte_limit": 1.5}, "byte_limit"),
        ({"parameters": {"a": 1}}, "parameters"),
        ({"parameters": [{"value": "1"}]}, "name"),
        ({"parameters": [{"name": "a", "value": 1}]}, "value"),
        ({"parameters": [{"name": "a", "type": "ARRAY<INT>"}]}, "not supported"),
        ({"catalog": 3}, "catalog"),
    ],
)
def test_invalid_fields_are_400(client: TestClient, fields: dict[str, Any], needle: str) -> None:
    body = {"statement": "SELECT 1", "warehouse_id": WH, **fields}
    r = client.post(URL, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert needle in r.json()["message"]


def test_accepts_float_wait_and_unknown_fields(client: TestClient) -> None:
    r = execute(client, "SELECT 1", wait_timeout="30.0s", query_tags=[],
                result_compression="LZ4_FRAME", disposition="INLINE_OR_EXTERNAL_LINKS")
    assert r.status_code == 200 and r.json()["status"]["state"] == "SUCCEEDED"


def test_unknown_session_is_not_found(client: TestClient) -> None:
    """session_id binds a statement to a session (gateway/rest/sessions.py): unknown is 404."""
    r = execute(client, "SELECT 1", session_id="x")
    assert r.status_code == 404 and r.json()["error_code"] == "NOT_FOUND"


def test_external_links_refused_without_store(client: TestClient) -> None:
    r = execute(client, "SELECT 1", disposition="EXTERNAL_LINKS", format="ARROW_STREAM")
    assert r.status_code == 400
    assert "EXTERNAL_LINKS" in r.json()["message"]


def test_body_limits(client: TestClient) -> None:
    big = client.post(URL, content=b"{" + b" " * 70_000 + b"}",
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error_code"] == "BAD_REQUEST"
    long_sql = execute(client, "SELECT 1 -- " + "x" * 20_000)
    assert long_sql.status_code == 413
    bad_json = client.post(URL, content=b"{nope", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["error_code"] == "BAD_REQUEST"


def test_unknown_statement_and_warehouse_404(client: TestClient) -> None:
    r = client.get(f"{URL}/01f0dead-beef-0000-0000-000000000000")
    assert r.status_code == 404 and r.json()["error_code"] == "NOT_FOUND"
    r = client.post(f"{URL}/nope/cancel", json={})
    assert r.status_code == 404
    r = client.post(URL, json={"statement": "SELECT 1", "warehouse_id": "other"})
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
