"""The demo's self-signed certificate (sqlgate/tlscert.py): usable by a TLS client, kept
while valid, remade when missing."""

from __future__ import annotations

import ssl
from pathlib import Path

from sqlgate.tlscert import self_signed


def test_certificate_loads_and_is_reused(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "tls")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    assert client.cert_store_stats()["x509_ca"] == 1
    first = cert.read_bytes()
    assert self_signed(tmp_path / "tls")[0].read_bytes() == first
    cert.unlink()
    assert self_signed(tmp_path / "tls")[0].read_bytes() != first
    assert oct(key.stat().st_mode & 0o777) == "0o600"
