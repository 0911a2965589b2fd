"""Which state store a gateway uses: the one place that knows the implementations.

gateway/core/store.py is the interface only; gateway/core/sqlite.py and postgres.py implement
it (through relational.py). Picking one here keeps their import of the interface from
running back into a circle.
"""

from __future__ import annotations

from gateway.core.sqlite import SqliteStore
from gateway.core.store import StateStore


def open_state_store(url: str) -> StateStore:
    """The store a URL names: ``sqlite:///PATH`` (or a bare path) or ``postgresql://...``.

    >>> import tempfile, os
    >>> s = open_state_store("sqlite:///" + os.path.join(tempfile.mkdtemp(), "state.db"))
    >>> s.key("k", "v1"), s.key("k", "v2")
    ('v1', 'v1')
    """
    if url.startswith(("postgresql://", "postgres://")):
        # Imported here: psycopg is an optional dependency, needed only for a shared store.
        from gateway.core.postgres import PostgresStore

        return PostgresStore(url)
    # As SQLAlchemy spells it: sqlite:///relative/path, sqlite:////absolute/path.
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SqliteStore(path)


__all__ = ["open_state_store"]
