"""schemathesis against the gateway's own /openapi.json: generated requests never get a 5xx.

Runs against a real uvicorn with the fake backend; examples are few (positive and
negative data, 25 per operation), so this stays quick. tests/gateway/rest/test_malformed.py
holds the hostile bodies schemathesis does not generate (deep nesting, lone surrogates).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from gateway.app import build_app
from gateway.rest.openapi import SPEC
from sqlgate.settings import Settings
from tests.fixtures.server import TOKEN, running_gateway
from tests.gateway.fakes import FakeBackend

schema = schemathesis.openapi.from_dict(SPEC)


@pytest.fixture(scope="module")
def fuzz_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    s = Settings().replace(token=TOKEN, results=str(tmp_path_factory.mktemp("res")),
                           log_level="warning", shutdown_grace_s=0.5,
                           max_statement_bytes=4096, max_body_bytes=16384)
    with running_gateway(s, app=build_app(s, backend=FakeBackend())) as url:
        yield url


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_server_errors(case: schemathesis.Case, fuzz_url: str) -> None:
    response = case.call(base_url=fuzz_url, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=60)
    assert response.status_code < 500, (case.method, case.path, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error_code", "message"}
        assert "Traceback" not in body["message"]
