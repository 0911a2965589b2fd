"""The README's tour really works: its curl and Python blocks run against a real gateway.

The blocks are taken from README.md as written; only the demo address is pointed at the
test gateway's port and the token comes from the environment, as the README says.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.server import TOKEN

README = Path(__file__).resolve().parents[1] / "README.md"
DEMO_URL = "http://127.0.0.1:8000"

pytestmark = pytest.mark.e2e


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    first = blocks("sh")[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["make demo", "make test"]


def _env(token: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SQLGATE_TOKEN"] = token
    env["PYTHONPATH"] = str(README.parent)
    return env


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index: int, gateway_server) -> None:
    url, token, _ = gateway_server
    code = blocks("python")[index].replace(DEMO_URL, url).replace("127.0.0.1:8000", url[7:])
    done = subprocess.run(
        [sys.executable, "-c", code], env=_env(token), capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "the example printed nothing"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_example_runs(gateway_server) -> None:
    url, token, _ = gateway_server
    [curl] = [b for b in blocks("sh") if b.lstrip().startswith("curl")]
    done = subprocess.run(
        ["bash", "-c", curl.replace(DEMO_URL, url)], env=_env(token), capture_output=True,
        text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["status"]["state"] == "SUCCEEDED", body
    rows = body["result"]["data_array"]
    assert len(rows) == 3 and all(isinstance(v, str) for row in rows for v in row)


@pytest.mark.jdbc
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="no java on this machine")
def test_hive_jdbc_beeline_example_runs(gateway_server) -> None:
    url, token, _ = gateway_server
    [block] = [b for b in blocks("sh") if "BeeLine" in b]
    script = block.replace("127.0.0.1:8000", url[7:]).replace(".venv/bin/python", sys.executable)
    done = subprocess.run(["bash", "-c", script], env=_env(token), capture_output=True,
                          text=True, timeout=240, cwd=README.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "MIDDLE EAST" in done.stdout and "5 rows selected" in done.stderr + done.stdout


@pytest.mark.slow
def test_node_example_runs(node_harness: Path, tls_gateway) -> None:
    port, _, ca = tls_gateway
    [code] = blocks("js")
    script = node_harness / "readme_demo.js"
    script.write_text(code.replace("port: 8000", f"port: {port}")
                      .replace(".demo-tls/cert.pem", str(ca)))
    done = subprocess.run(["node", script.name], cwd=node_harness, env=_env(TOKEN),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ARGENTINA" in done.stdout and "CANADA" in done.stdout
