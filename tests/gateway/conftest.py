"""In-process gateway fixtures: the real app over the fake backend, through TestClient."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # starlette 1.x prefers httpx2 for its TestClient; httpx is what this project ships.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from gateway.app import build_app
from sqlgate.settings import Settings
from tests.gateway.fakes import FakeBackend

TOKEN = "dapi-test-token"


@pytest.fixture
def gw_settings(tmp_path) -> Settings:  # type: ignore[no-untyped-def]
    """Settings with tightened limits and a known token."""
    return Settings().replace(
        token=TOKEN,
        results=str(tmp_path / "results"),
        max_body_bytes=64 * 1024,
        max_statement_bytes=16 * 1024,
        inline_byte_limit=1024 * 1024,
        max_statements=50,
        shutdown_grace_s=0.5,
    )


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(gw_settings: Settings, backend: FakeBackend) -> Iterator[TestClient]:
    """A TestClient (lifespan on) with the bearer token set."""
    app = build_app(gw_settings, backend=backend)
    with TestClient(app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        yield c
