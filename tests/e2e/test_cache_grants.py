"""The result cache never answers a caller who may no longer read what the query reads.

Two real ``sqlgate serve`` processes on one lake, one PostgreSQL state store and one
result store, two users of the tokens file. Bob is granted SELECT, his query is cached on
A and found by B in the shared cache, then the grant is revoked through B: his next
statement on either gateway is PERMISSION_DENIED, never a cache hit. Ada's answer is never
Bob's entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from tests.fixtures.serve import Served, serve
from tests.fixtures.server import write_tokens

pytestmark = pytest.mark.e2e
API = "/api/2.0/sql/statements"
WAREHOUSE = "sqlgate0000000001"


@pytest.fixture
def pair(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Served, Served]]:
    lake = tmp_path / "lake"
    (lake / "main").mkdir(parents=True)
    tokens = write_tokens(tmp_path / "tokens.toml", {
        "tok-ada": {"workspace": "default", "user": "ada"},
        "tok-bob": {"workspace": "default", "user": "bob"}})
    common = {"state_store": postgres_url, "state_poll_s": 0.1}
    with serve(tmp_path, lake, name="a", tokens_file=tokens,
               settings={**common, "gateway_id": "gw-a"}) as a, \
            serve(tmp_path, lake, name="b", tokens_file=tokens,
                  settings={**common, "gateway_id": "gw-b"}) as b:
        yield a, b


def run(gw: Served, user: str, sql: str) -> dict[str, Any]:
    r = httpx.post(gw.url + API, headers={"Authorization": f"Bearer tok-{user}"}, timeout=120,
                   json={"statement": sql, "warehouse_id": WAREHOUSE, "wait_timeout": "50s"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ok(gw: Served, user: str, sql: str) -> dict[str, Any]:
    body = run(gw, user, sql)
    assert body["status"]["state"] == "SUCCEEDED", (sql, body)
    return body


def denied(gw: Served, user: str, sql: str) -> None:
    body = run(gw, user, sql)
    assert body["status"]["state"] == "FAILED", (sql, body)
    assert body["status"]["error"]["error_code"] == "PERMISSION_DENIED", body
    assert body.get("sqlgate", {}).get("cache") != "hit"


def test_revoke_takes_effect_on_the_next_statement_on_every_gateway(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    ok(a, "ada", "CREATE SCHEMA main.sales")
    ok(a, "ada", "CREATE TABLE main.sales.orders AS SELECT 1 AS id, 9.5 AS amount")
    query = "SELECT sum(amount) AS total FROM main.sales.orders"
    denied(a, "bob", query)
    ok(b, "ada", "GRANT USE SCHEMA, SELECT ON SCHEMA main.sales TO bob")
    first = ok(a, "bob", query)
    again = ok(a, "bob", query)
    assert (first["sqlgate"]["cache"], again["sqlgate"]["cache"]) == ("miss", "hit")
    # B finds A's entry in the shared cache (PostgreSQL), after its own fresh check.
    shared = ok(b, "bob", query)
    assert shared["sqlgate"]["cache"] == "hit" and shared["result"]["data_array"] == [["9.5"]]
    # Ada's run of the same text is her own entry, never Bob's.
    assert ok(a, "ada", query)["sqlgate"]["cache"] == "miss"
    ok(b, "ada", "REVOKE SELECT ON SCHEMA main.sales FROM bob")
    for gw in (a, b):
        denied(gw, "bob", query)
    # Granted again on one table only: the key moved with the privileges, so the first run
    # is a miss again (a fresh check), then a hit.
    ok(a, "ada", "GRANT SELECT ON TABLE main.sales.orders TO bob")
    assert [ok(a, "bob", query)["sqlgate"]["cache"] for _ in range(2)] == ["miss", "hit"]
    assert ok(a, "ada", query)["sqlgate"]["cache"] == "hit"


def test_an_external_result_cached_on_one_gateway_is_a_hit_on_the_other(
        pair: tuple[Served, Served]) -> None:
    a, b = pair
    ok(a, "ada", "CREATE SCHEMA main.ext")
    ok(a, "ada", "CREATE TABLE main.ext.t AS SELECT id FROM (SELECT explode(sequence(1, 500)) "
                 "AS id)")
    body = {"statement": "SELECT id FROM main.ext.t ORDER BY id", "warehouse_id": WAREHOUSE,
            "wait_timeout": "50s", "disposition": "EXTERNAL_LINKS", "format": "ARROW_STREAM"}
    auth = {"Authorization": "Bearer tok-ada"}
    answers = [httpx.post(gw.url + API, headers=auth, json=body, timeout=120).json()
               for gw in (a, b)]
    assert [x["sqlgate"]["cache"] for x in answers] == ["miss", "hit"], answers
    tables = [pa.ipc.open_stream(httpx.get(
        x["result"]["external_links"][0]["external_link"]).content).read_all()
        for x in answers]
    assert tables[0] == tables[1] and tables[1].num_rows == 500
