"""The Node @databricks/sql driver against sqlgate over HTTPS (it refuses plain HTTP).

The set-up installs the driver with npm into a cache directory (skipped, with the reason,
when node/npm are missing or the install fails), makes a self-signed certificate for
IP:127.0.0.1 with `cryptography`, and starts a gateway serving TLS over the TPC-H lake.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sqlgate.settings import EngineSettings
from tests.fixtures.server import TOKEN, free_socket, running_gateway, server_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HARNESS = Path(__file__).parent / "node"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (SAN IP), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def node_harness() -> Path:
    """The harness directory with @databricks/sql installed (cached across runs)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not installed")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sqlgate-node-e2e"
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "run.js"):
        shutil.copy(HARNESS / name, cache / name)
    if not (cache / "node_modules" / "@databricks" / "sql").is_dir():
        try:
            proc = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=cache, capture_output=True, text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install @databricks/sql timed out")
        if proc.returncode != 0:
            pytest.skip(f"npm install @databricks/sql failed: {proc.stderr.strip()[-300:]}")
    return cache


@pytest.fixture(scope="module")
def tls_gateway(
    engine_settings: EngineSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, str, Path]]:
    """(port, warehouse http path, CA file) of a gateway serving HTTPS."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(tmp)
    sock = free_socket()
    port = sock.getsockname()[1]
    settings = server_settings(
        engine_settings, tmp / "results", port, tls_cert=str(cert), tls_key=str(key),
        public_url=f"https://127.0.0.1:{port}", inline_byte_limit=256 * 1024)
    with running_gateway(settings, sock=sock):
        yield port, f"/sql/1.0/warehouses/{settings.gateway.warehouse_id}", cert


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
    typed = out["typed"][0]
    assert typed["b"] is True and typed["z"] is None and float(typed["d"]) == 1.25
    assert str(typed["dt"]).startswith("2024-01-0")
    assert "main" in out["catalogs"]
    assert out["columns"] == ["r_regionkey", "r_name", "r_comment"]
    assert out["cloud"] == {"rows": 15000, "first": 1}
    assert out["error"] and "no_such_table" in out["error"].lower()
