"""S3Client against servers that answer ranges badly: the right bytes or an OSError, never wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.io.s3http import S3Client
from tests.engine.io.conftest import put_files
from tests.fixtures.s3 import s3_client

BODY = bytes(range(256)) * 40  # 10,240 bytes, every offset distinguishable


class Handler(BaseHTTPRequestHandler):
    """``mode`` picks the misbehaviour: honest, ignore (200, whole object), wrong, 500."""

    mode = "honest"

    def do_GET(self) -> None:
        first, last = (int(x) for x in self.headers["Range"][len("bytes="):].split("-"))
        if self.mode == "error":
            self.send_response(500)
            body = b"<Error><Code>InternalError</Code></Error>"
        elif self.mode == "ignore":
            self.send_response(200)
            body = BODY
        else:
            shift = 1 if self.mode == "wrong" else 0
            first, last = first + shift, last + shift
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(BODY)}")
            body = BODY[first : last + 1]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[tuple[str, type[Handler]]]:
    handler = type("H", (Handler,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def client(endpoint: str) -> S3Client:
    return S3Client(endpoint, "key", "secret", "us-east-1", timeout_s=5)


@pytest.mark.parametrize("mode", ["honest", "ignore"])
def test_range_is_exact_whether_or_not_the_server_honours_it(
    server: tuple[str, type[Handler]], mode: str
) -> None:
    endpoint, handler = server
    handler.mode = mode
    c = client(endpoint)
    try:
        # The footer (the last bytes), a middle range and the whole object, twice each so a
        # reused keep-alive socket is exercised too.
        for _ in range(2):
            assert c.get_range("b", "k", len(BODY), len(BODY) - 8, len(BODY)) == BODY[-8:]
            assert c.get_range("b", "k", len(BODY), 1000, 3000) == BODY[1000:3000]
            assert c.get_range("b", "k", len(BODY), 0, len(BODY)) == BODY
    finally:
        c.close()


def test_wrong_range_size_or_status_is_an_error(server: tuple[str, type[Handler]]) -> None:
    endpoint, handler = server
    c = client(endpoint)
    try:
        handler.mode = "wrong"
        with pytest.raises(OSError, match="server sent"):
            c.get_range("b", "k", len(BODY), 100, 200)
        handler.mode = "honest"
        with pytest.raises(OSError, match="not the same object"):
            c.get_range("b", "k", len(BODY) + 1, 100, 200)
        handler.mode = "ignore"
        with pytest.raises(OSError, match="not the same object"):
            c.get_range("b", "k", len(BODY) - 1, 100, 200)
        handler.mode = "error"
        with pytest.raises(OSError, match=r"500.*InternalError"):
            c.get_range("b", "k", len(BODY), 100, 200)
    finally:
        c.close()


def test_reads_on_moto(s3_bucket: dict[str, str]) -> None:
    """Keys with spaces, the footer and the whole object, on the test server."""
    (file,) = put_files(s3_bucket, 1, prefix="dir with space/t")
    bucket, key = file.uri[len("s3://"):].split("/", 1)
    whole = s3_client(s3_bucket).get_object(Bucket=bucket, Key=key)["Body"].read()
    c = S3Client(s3_bucket["endpoint_url"], s3_bucket["access_key_id"],
                 s3_bucket["secret_access_key"], s3_bucket["region"])
    try:
        assert c.get_range(bucket, key, file.size, file.size - 8, file.size) == whole[-8:]
        assert c.get_range(bucket, key, file.size, 0, file.size) == whole
    finally:
        c.close()


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9000", None])
def test_signature_matches_botocore(endpoint: str | None) -> None:
    """moto does not check signatures, so the signature is checked against botocore's signer."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    c = S3Client(endpoint, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1")
    host, path = c._address("my-bucket", "dir with space/part-0.parquet")
    headers = c._sign(host, path, "bytes=10-19")
    scheme = "http" if endpoint else "https"
    request = AWSRequest("GET", f"{scheme}://{host}{path}", headers={
        k: v for k, v in headers.items() if k not in ("authorization", "host")})
    request.context["timestamp"] = headers["x-amz-date"]
    auth = S3SigV4Auth(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                       "s3", "eu-west-1")
    signature = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)),
                               request)
    assert headers["authorization"].endswith(f"Signature={signature}")
    assert "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date" in headers["authorization"]
