"""The databricks-sdk against `serve` over HTTPS (a self-signed certificate for 127.0.0.1).

The SDK talks through `requests`, which trusts a CA file named by ``REQUESTS_CA_BUNDLE``
(the SDK's own ``skip_verify`` is declared but not used); without it the certificate is
refused, which shows the server really speaks TLS with that certificate.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.sql import Disposition, Format, StatementState

from tests.fixtures.server import TOKEN

pytestmark = pytest.mark.e2e
WH = "sqlgate0000000001"


def test_sdk_over_https_with_a_ca_file(
    tls_gateway: tuple[int, str, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, _, ca = tls_gateway
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    w = WorkspaceClient(host=f"https://127.0.0.1:{port}", token=TOKEN)
    assert [wh.id for wh in w.warehouses.list()] == [WH]
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, wait_timeout="50s",
        statement="SELECT n_name FROM main.tpch.nation WHERE n_nationkey = 7")
    assert r.status.state == StatementState.SUCCEEDED, r.status
    assert r.result.data_array == [["GERMANY"]]
    # External links point back at the gateway over HTTPS, and download with the same CA.
    r = w.statement_execution.execute_statement(
        warehouse_id=WH, wait_timeout="50s", disposition=Disposition.EXTERNAL_LINKS,
        format=Format.ARROW_STREAM, statement="SELECT * FROM main.tpch.nation")
    assert r.status.state == StatementState.SUCCEEDED, r.status
    link = r.result.external_links[0].external_link
    assert link.startswith(f"https://127.0.0.1:{port}/")
    got = httpx.get(link, verify=ssl.create_default_context(cafile=str(ca)), timeout=30.0)
    assert got.status_code == 200 and len(got.content) > 0


def test_https_refuses_clients_that_do_not_trust_the_certificate(
    tls_gateway: tuple[int, str, Path],
) -> None:
    port = tls_gateway[0]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://127.0.0.1:{port}/healthz", timeout=10.0)
    assert httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False,
                     timeout=10.0).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10.0)  # plain HTTP is not served
