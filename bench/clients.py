"""The clients a scenario drives: the REST Statement Execution API, Thrift, DuckDB in-process.

Each client runs one statement at a time (a scenario gives every stream its own client)
and answers a `Fetched`: rows and bytes received. Failures raise `ClientError`, carrying
the Databricks `error_code` when the server sent one.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import pyarrow as pa
import pyarrow.ipc

_RUNNING = ("PENDING", "RUNNING")
_POLL_FIRST_S = 0.01
_POLL_MAX_S = 0.25


class ClientError(RuntimeError):
    """A statement failed or could not be sent; `error_code` is Databricks style."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code


@dataclass(frozen=True)
class Target:
    """A running gateway: base URL, token, warehouse id."""

    url: str
    token: str
    warehouse_id: str = "sqlgate0000000001"
    # Process group of a gateway the harness started (its workers included), for /proc reads.
    pgid: int | None = None


@dataclass(frozen=True)
class Fetched:
    """What one statement returned to the client."""

    rows: int
    bytes: int = 0
    chunks: int = 0
    # Work after the rows arrived (closing the statement), run once the clock stopped.
    cleanup: Callable[[], None] | None = field(default=None, compare=False, repr=False)


class Client(Protocol):
    """Runs one statement at a time."""

    name: str

    def run(self, sql: str) -> Fetched: ...

    def close(self) -> None: ...


class RestClient:
    """The Statement Execution API over plain HTTP (httpx), polling like the SDK's users do.

    >>> c = RestClient(Target("http://127.0.0.1:8000", "t"))  # doctest: +SKIP
    >>> c.run("SELECT 1").rows                                 # doctest: +SKIP
    1
    """

    name = "rest"

    def __init__(
        self,
        target: Target,
        *,
        disposition: str = "INLINE",
        format: str = "JSON_ARRAY",
        catalog: str | None = None,
        schema: str | None = None,
        wait_timeout: str = "50s",
        timeout_s: float = 600.0,
        download_threads: int = 8,
    ) -> None:
        self.target = target
        self.disposition = disposition
        self.format = format
        self.catalog = catalog
        self.schema = schema
        self.wait_timeout = wait_timeout
        self.timeout_s = timeout_s
        self.download_threads = download_threads
        self._http = httpx.Client(
            base_url=target.url,
            headers={"Authorization": f"Bearer {target.token}"},
            timeout=httpx.Timeout(max(60.0, timeout_s)),
        )
        # Presigned links must be fetched without the API token.
        self._links = httpx.Client(timeout=httpx.Timeout(max(60.0, timeout_s)))

    def close(self) -> None:
        """Close both HTTP connection pools."""
        self._http.close()
        self._links.close()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; non-2xx answers raise ClientError with the server's error_code."""
        try:
            resp = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ClientError("IO_ERROR", f"{method} {path}: {exc}") from exc
        if resp.status_code >= 400:
            try:
                err = resp.json()
                code, message = err.get("error_code", "UNKNOWN"), err.get("message", "")
            except ValueError:
                code, message = "UNKNOWN", resp.text[:200]
            raise ClientError(code, f"HTTP {resp.status_code} {message}")
        return resp.json() if resp.content else {}

    def run(self, sql: str) -> Fetched:
        """Execute, poll until terminal (bounded by timeout_s), then read every chunk."""
        body: dict[str, Any] = {
            "statement": sql,
            "warehouse_id": self.target.warehouse_id,
            "wait_timeout": self.wait_timeout,
            "disposition": self.disposition,
            "format": self.format,
        }
        if self.catalog:
            body["catalog"] = self.catalog
        if self.schema:
            body["schema"] = self.schema
        deadline = time.monotonic() + self.timeout_s
        resp = self.request("POST", "/api/2.0/sql/statements", body)
        resp = self._wait(resp, deadline)
        state = resp.get("status", {}).get("state")
        if state != "SUCCEEDED":
            error = resp.get("status", {}).get("error") or {}
            raise ClientError(error.get("error_code", state or "UNKNOWN"),
                              error.get("message", f"statement ended {state}"))
        try:
            return self._read(resp)
        finally:
            if self.disposition != "INLINE":
                # As the connectors do (CloseOperation): the chunks leave the store now, so
                # repeated large results do not pile up on disk and skew later samples.
                self.request("DELETE", f"/api/2.0/sql/statements/{resp['statement_id']}")

    def _wait(self, resp: dict[str, Any], deadline: float) -> dict[str, Any]:
        statement_id = resp.get("statement_id")
        delay = _POLL_FIRST_S
        while resp.get("status", {}).get("state") in _RUNNING:
            if time.monotonic() >= deadline:
                self.request("POST", f"/api/2.0/sql/statements/{statement_id}/cancel", {})
                raise ClientError("DEADLINE_EXCEEDED", f"no answer within {self.timeout_s}s")
            time.sleep(delay)
            delay = min(delay * 2, _POLL_MAX_S)
            resp = self.request("GET", f"/api/2.0/sql/statements/{statement_id}")
        return resp

    def _read(self, resp: dict[str, Any]) -> Fetched:
        statement_id = resp["statement_id"]
        manifest = resp.get("manifest") or {}
        result = resp.get("result") or {}
        total = int(manifest.get("total_chunk_count") or (1 if result else 0))
        compression = manifest.get("result_compression")
        if result.get("external_links") is not None or self.disposition != "INLINE":
            first = {0: result} if result.get("chunk_index", 0) == 0 else {}

            def one(index: int) -> tuple[int, int]:
                data = first.get(index) or self.request(
                    "GET", f"/api/2.0/sql/statements/{statement_id}/result/chunks/{index}"
                )
                rows = nbytes = 0
                for link in data.get("external_links") or []:
                    r, b = self._download(link, compression)
                    rows, nbytes = rows + r, nbytes + b
                if data.get("data_array") is not None:
                    rows += len(data["data_array"])
                return rows, nbytes

            with ThreadPoolExecutor(max(1, min(self.download_threads, total))) as pool:
                parts = list(pool.map(one, range(total)))
            return Fetched(sum(p[0] for p in parts), sum(p[1] for p in parts), total)
        rows, index, chunks = 0, 0, 0
        data: dict[str, Any] | None = result
        # Inline chunks are chained by next_chunk_index; bounded by the manifest's count.
        while data is not None and chunks <= max(total, 1):
            rows += len(data.get("data_array") or [])
            chunks += 1
            nxt = data.get("next_chunk_index")
            if nxt is None:
                break
            index = int(nxt)
            data = self.request(
                "GET", f"/api/2.0/sql/statements/{statement_id}/result/chunks/{index}"
            )
        return Fetched(rows, 0, chunks)

    def _download(self, link: dict[str, Any], compression: str | None) -> tuple[int, int]:
        try:
            resp = self._links.get(link["external_link"], headers=link.get("http_headers"))
        except httpx.HTTPError as exc:
            raise ClientError("IO_ERROR", f"chunk download: {exc}") from exc
        if resp.status_code != 200:
            raise ClientError("IO_ERROR", f"chunk download: HTTP {resp.status_code}")
        payload = resp.content
        if compression == "LZ4_FRAME":
            import lz4.frame

            payload = lz4.frame.decompress(payload)
        if self.format == "ARROW_STREAM":
            reader = pyarrow.ipc.open_stream(io.BytesIO(payload))
            rows = sum(batch.num_rows for batch in reader)
        elif self.format == "CSV":
            rows = max(0, payload.count(b"\n") - (1 if link.get("chunk_index", 0) == 0 else 0))
        else:
            import json

            rows = len(json.loads(payload))
        return rows, len(resp.content)


class DuckDBClient:
    """DuckDB in-process over the same parquet files: the in-run baseline."""

    name = "duckdb"

    def __init__(self, conn: Any) -> None:
        self._cursor = conn.cursor()

    def run(self, sql: str) -> Fetched:
        """Run already-translated DuckDB SQL and materialize the result as Arrow."""
        import duckdb

        try:
            table: pa.Table = self._cursor.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise ClientError("BAD_REQUEST", str(exc).splitlines()[0]) from exc
        return Fetched(table.num_rows, table.nbytes, 1)

    def close(self) -> None:
        """Close this stream's cursor (the shared connection stays open)."""
        self._cursor.close()


def duckdb_baseline(files: dict[str, list[str]], threads: int, memory_limit: str = "4GB") -> Any:
    """One DuckDB connection with a view per table over exactly `files`."""
    import duckdb

    conn = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    for table, paths in files.items():
        listing = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        conn.execute(f'CREATE VIEW "{table}" AS SELECT * FROM read_parquet([{listing}])')
    return conn


class ThriftClient:
    """databricks-sql-connector over Thrift/HTTP against the gateway's Thrift front."""

    name = "thrift"

    def __init__(self, target: Target, http_path: str, catalog: str | None = None,
                 schema: str | None = None) -> None:
        from databricks import sql as dbsql

        self._conn = dbsql.connect(
            server_hostname="127.0.0.1",
            http_path=http_path,
            access_token=target.token,
            _connection_uri=f"{target.url}/{http_path.lstrip('/')}",
            enable_telemetry=False,
            catalog=catalog,
            schema=schema,
        )

    def run(self, sql: str) -> Fetched:
        """Execute and fetch every row as Arrow."""
        from databricks.sql.exc import Error

        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql)
                table = cursor.fetchall_arrow()
        except Error as exc:
            raise ClientError("BAD_REQUEST", str(exc)) from exc
        return Fetched(table.num_rows, table.nbytes, 1)

    def close(self) -> None:
        """Close the Thrift session."""
        self._conn.close()
