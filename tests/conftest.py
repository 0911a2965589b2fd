"""Shared fixtures live in tests/fixtures/, one module per noun, loaded here as plugins.

- tests.fixtures.lake: a small generated TPC-H lake (Delta) and its source parquet (the oracle);
- tests.fixtures.s3: an S3-compatible server (moto) on 127.0.0.1, one bucket per test;
- tests.fixtures.server: a real uvicorn running the gateway on a free port;
- tests.fixtures.tls: a self-signed certificate and a gateway serving HTTPS with it;
- tests.fixtures.postgres: a real PostgreSQL on 127.0.0.1, one database per test.
"""

import importlib.util

pytest_plugins = [
    name
    for name in (
        "tests.fixtures.lake", "tests.fixtures.s3", "tests.fixtures.server", "tests.fixtures.tls",
        "tests.fixtures.postgres", "tests.fixtures.node",
    )
    if importlib.util.find_spec(name) is not None
]
