"""The shared state store: PostgreSQL, for several gateways on one lake (psycopg 3).

    store = PostgresStore("postgresql://sqlgate:secret@db.internal:5432/sqlgate")

psycopg is the optional dependency ``sqlgate[postgres]``; the URL is any libpq connection
string. Connections are pooled by `RelationalStore` (a few per gateway).
"""

from __future__ import annotations

from typing import Any

from gateway.core.relational import RelationalStore

# Seconds to wait for a connection; a state store that does not answer is an outage, and
# the gateway should say so quickly rather than hang its requests.
_CONNECT_TIMEOUT_S = 10


class PostgresStore(RelationalStore):
    """`StateStore` in a PostgreSQL database."""

    placeholder = "%s"
    blob_type = "BYTEA"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise ValueError(
                "state_store is a postgresql:// URL but psycopg is not installed: "
                "pip install 'sqlgate[postgres]'") from exc
        self._psycopg = psycopg
        super().__init__(url)

    def _connect(self) -> Any:
        return self._psycopg.connect(self.url, connect_timeout=_CONNECT_TIMEOUT_S)


__all__ = ["PostgresStore"]
