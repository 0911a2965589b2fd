"""gateway.server: the start banner, public URL defaulting, and POST timing under wait_timeout."""

from __future__ import annotations

import time

from gateway.server import banner, with_public_url
from sqlgate.settings import Settings
from tests.gateway.conftest import TestClient


def test_demo_banner_has_everything_to_try_it() -> None:
    s = Settings().replace(port=8123)
    text = banner(s, "dapi123", demo=True)
    assert "http://127.0.0.1:8123" in text and "sqlgate0000000001" in text
    assert "curl" in text and "Bearer dapi123" in text and "WorkspaceClient" in text
    assert "dapi123" not in banner(s, None, demo=False)


def test_public_url_follows_the_port_unless_set() -> None:
    assert with_public_url(Settings().replace(port=9001)).fetch.public_url == (
        "http://127.0.0.1:9001"
    )
    custom = Settings().replace(port=9001, public_url="https://gw.example.com")
    assert with_public_url(custom).fetch.public_url == "https://gw.example.com"


def test_post_answers_within_wait_timeout(client: TestClient) -> None:
    t0 = time.monotonic()
    r = client.post("/api/2.0/sql/statements", json={
        "statement": "SLEEP 30", "warehouse_id": "sqlgate0000000001", "wait_timeout": "5s"})
    elapsed = time.monotonic() - t0
    assert r.json()["status"]["state"] == "RUNNING"
    assert 4.9 <= elapsed < 7.0
