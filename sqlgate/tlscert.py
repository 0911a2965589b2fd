"""A self-signed certificate for serving HTTPS on this machine (``sqlgate demo --tls``).

Drivers that only speak HTTPS (Node ``@databricks/sql``) or check certificates (the Python
connector's cloud fetch, JDBC) trust it through their CA option: the certificate is its own CA.
Valid for 127.0.0.1 and localhost; regenerated when missing or within a day of expiring.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path


def self_signed(directory: Path, days: int = 30) -> tuple[Path, Path]:
    """(cert.pem, key.pem) in `directory`: SAN IP:127.0.0.1 and DNS:localhost, a CA itself.

    An existing pair is kept while it is valid for at least another day.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    now = dt.datetime.now(dt.UTC)
    if cert_path.exists() and key_path.exists():
        old = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if old.not_valid_after_utc - now > dt.timedelta(days=1):
            return cert_path, key_path
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


__all__ = ["self_signed"]
