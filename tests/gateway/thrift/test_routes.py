"""The Thrift HTTP routes in the real app (in-process): auth, bounds, unknown methods."""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from databricks.sql.thrift_api.TCLIService import ttypes
from thrift.Thrift import TApplicationException

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from gateway.app import build_app
from gateway.thrift import wire
from sqlgate.settings import Settings
from tests.gateway.thrift.fakes import ScriptedBackend

TOKEN = "dapi-thrift-routes"
PATH = "/sql/1.0/warehouses/sqlgate0000000001"
CT = {"Content-Type": "application/x-thrift"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings().replace(token=TOKEN, results=str(tmp_path / "r"),
                                  max_body_bytes=64 * 1024, shutdown_grace_s=0.5)
    with TestClient(build_app(settings, backend=ScriptedBackend()),
                    raise_server_exceptions=False) as c:
        yield c


def call(client: TestClient, name: str, req: object, auth: str = f"Bearer {TOKEN}",
         path: str = PATH) -> object:
    r = client.post(path, content=wire.encode_call(name, 1, req),
                    headers={**CT, "Authorization": auth})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-thrift"
    return wire.decode_reply(r.content, name)


def test_open_execute_fetch_over_http(client: TestClient) -> None:
    s = call(client, "OpenSession", ttypes.TOpenSessionReq(client_protocol_i64=42247))
    resp = call(client, "ExecuteStatement", ttypes.TExecuteStatementReq(
        sessionHandle=s.sessionHandle, statement="ROWS 5", runAsync=True,
        getDirectResults=ttypes.TSparkGetDirectResults(maxRows=10, maxBytes=10**6)))
    rs = resp.directResults.resultSet.results
    assert rs.columns[0].i64Val.values == [0, 1, 2, 3, 4]


def test_basic_token_auth_and_cliservice_path(client: TestClient) -> None:
    basic = "Basic " + base64.b64encode(f"token:{TOKEN}".encode()).decode()
    s = call(client, "OpenSession", ttypes.TOpenSessionReq(client_protocol=5), auth=basic,
             path="/cliservice/")
    assert s.serverProtocolVersion == 5


@pytest.mark.parametrize("auth", ["Bearer wrong", "", "Basic !!!", "Basic " +
                                  base64.b64encode(b"token:wrong").decode()])
def test_bad_credentials_are_401_with_reason_phrase(client: TestClient, auth: str) -> None:
    r = client.post(PATH, content=wire.encode_call("OpenSession", 1, ttypes.TOpenSessionReq()),
                    headers={**CT, "Authorization": auth})
    assert r.status_code == 401
    assert r.headers["x-databricks-reason-phrase"]
    assert r.json()["error_code"] == "UNAUTHENTICATED"


def test_unknown_warehouse_is_404(client: TestClient) -> None:
    r = client.post("/sql/1.0/warehouses/nope", content=b"x",
                    headers={**CT, "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404


def test_unknown_method_and_garbage_get_application_exceptions(client: TestClient) -> None:
    body = wire.encode_call("CloseOperation", 3, ttypes.TCloseOperationReq(
        ttypes.TOperationHandle(ttypes.THandleIdentifier(b"\xff" * 16, b"\xfe" * 16), 0, True)))
    body = body.replace(b"\x00\x00\x00\x0eCloseOperation", b"\x00\x00\x00\x06GetLog")
    r = client.post(PATH, content=body, headers={**CT, "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    with pytest.raises(TApplicationException) as exc:
        wire.decode_reply(r.content, "CloseOperation")
    assert exc.value.type == TApplicationException.UNKNOWN_METHOD
    r = client.post(PATH, content=b"\x80\x01\x00\x01junk",
                    headers={**CT, "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    with pytest.raises(TApplicationException):
        wire.decode_reply(r.content, "OpenSession")


def test_body_over_limit_is_413(client: TestClient) -> None:
    r = client.post(PATH, content=b"\x00" * (65 * 1024),
                    headers={**CT, "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 413


def test_queue_full_is_429_with_retry_after(client: TestClient) -> None:
    s = call(client, "OpenSession", ttypes.TOpenSessionReq(client_protocol_i64=42248))
    r = client.post(PATH, content=wire.encode_call("ExecuteStatement", 2,
                    ttypes.TExecuteStatementReq(sessionHandle=s.sessionHandle,
                                                statement="REJECT", runAsync=True)),
                    headers={**CT, "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 429 and r.headers["retry-after"]


def test_feature_flags(client: TestClient) -> None:
    r = client.get("/api/2.0/connector-service/feature-flags/PYTHON/4.9.0")
    assert r.status_code == 200
    assert r.json() == {"flags": [], "ttl_seconds": 900}


def test_public_surface() -> None:
    import gateway.thrift as pkg

    assert sorted(pkg.__all__) == ["PUBLIC_PREFIXES", "ThriftService", "thrift_routes"]
