"""The Node @databricks/sql driver against sqlgate over HTTPS (it refuses plain HTTP).

The set-up (tests/fixtures/node.py) installs the driver with npm into a cache directory
(skipped, with the reason, when node/npm are missing or the install fails), makes a
self-signed certificate for IP:127.0.0.1, and starts a gateway serving TLS over the lake.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.server import TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_node_driver_over_https(node_harness: Path, tls_gateway: tuple[int, str, Path]) -> None:
    port, path, ca = tls_gateway
    proc = subprocess.run(
        ["node", "run.js", str(port), path, TOKEN, str(ca)],
        cwd=node_harness, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    marked = [ln for ln in proc.stdout.splitlines() if ln.startswith("SQLGATE_RESULT ")]
    assert marked, proc.stdout[-2000:]
    out = json.loads(marked[-1].split(" ", 1)[1])
    assert out["select1"] == [{"x": 1}]
    assert out["paged"] == list(range(25))
    assert out["params"] == [{"n_name": "CANADA"}]
    assert out["ordinal"] == [{"n_name": "CANADA"}]
    typed = out["typed"][0]
    assert typed["b"] is True and typed["z"] is None and float(typed["d"]) == 1.25
    assert str(typed["dt"]).startswith("2024-01-0")
    assert "main" in out["catalogs"]
    assert out["columns"] == ["r_regionkey", "r_name", "r_comment"]
    assert out["cloud"] == {"rows": 15000, "first": 1}
    assert out["error"] and "no_such_table" in out["error"].lower()
