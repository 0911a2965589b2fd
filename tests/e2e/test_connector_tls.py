"""databricks-sql-connector over HTTPS with its defaults: telemetry on (so it asks the
gateway for feature flags first) and Cloud Fetch downloads over TLS, trusting a
self-signed certificate for IP:127.0.0.1."""

from __future__ import annotations

import time

import pytest
from databricks import sql

from tests.fixtures.server import TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_connector_over_https_with_telemetry_and_cloud_fetch(
    tls_gateway: tuple[int, str, str],
) -> None:
    port, path, ca = tls_gateway
    t0 = time.monotonic()
    # server_hostname carries the port so the feature-flag GET (built from it alone) reaches
    # the gateway, which answers it: no stall; _connection_uri names the Thrift endpoint.
    with sql.connect(server_hostname=f"127.0.0.1:{port}", http_path=path,
                     _connection_uri=f"https://127.0.0.1:{port}{path}",
                     access_token=TOKEN, _tls_trusted_ca_file=ca) as conn:
        connect_s = time.monotonic() - t0
        with conn.cursor() as cur:
            cur.execute("SELECT o_orderkey, o_comment FROM main.tpch.orders ORDER BY o_orderkey")
            queue = type(cur.active_result_set.results).__name__
            table = cur.fetchall_arrow()
    assert connect_s < 5.0, f"connect took {connect_s:.1f}s (feature-flag stall?)"
    assert queue == "ThriftCloudFetchQueue"
    assert table.num_rows == 15000
    assert table.column("o_orderkey").to_pylist()[:3] == [1, 2, 3]
