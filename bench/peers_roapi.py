"""ROAPI (PyPI `roapi`, SQL over HTTP on Delta tables, DataFusion inside) as a peer.

Started on free 127.0.0.1 ports for its HTTP, Postgres and FlightSQL endpoints and always
stopped; queries go to `POST /api/sql` as DataFusion (Postgres-like) SQL.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.clients import ClientError, Fetched
from bench.data import TpchLake
from bench.local import LocalError, free_port

_READY_TIMEOUT_S = 60.0


def roapi_executable() -> str | None:
    """The roapi binary next to this Python, or on PATH; None when not installed."""
    local = Path(sys.executable).with_name("roapi")
    return str(local) if local.exists() else shutil.which("roapi")


class Roapi:
    """A roapi process serving every table of a TPC-H lake."""

    def __init__(self, lake: TpchLake, log_path: Path) -> None:
        exe = roapi_executable()
        if exe is None:
            raise LocalError("roapi is not installed (pip install roapi)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [exe, "-a", f"127.0.0.1:{self.port}",
                    "-p", f"127.0.0.1:{free_port()}",
                    "--addr-flight-sql", f"127.0.0.1:{free_port()}"]
        for table in lake.files:
            self.cmd += ["-t", f"{table}={lake.table_path(table)},format=delta"]
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Roapi:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + _READY_TIMEOUT_S
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise LocalError(f"roapi exited with {self.proc.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.post(f"{self.url}/api/sql", content="SELECT 1").status_code == 200:
                        return self
                time.sleep(0.1)
        self.__exit__()
        raise LocalError(f"roapi not ready within {_READY_TIMEOUT_S}s")

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class RoapiClient:
    """Runs DataFusion SQL on a Roapi over HTTP; rows counted from the JSON answer."""

    name = "roapi"

    def __init__(self, url: str, timeout_s: float = 600.0) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout_s)

    def run(self, sql: str) -> Fetched:
        """POST /api/sql."""
        try:
            resp = self._http.post("/api/sql", content=sql)
        except httpx.HTTPError as exc:
            raise ClientError("IO_ERROR", str(exc)) from exc
        if resp.status_code != 200:
            raise ClientError("BAD_REQUEST", f"HTTP {resp.status_code} {resp.text[:200]}")
        try:
            rows = resp.json()
        except ValueError as exc:
            raise ClientError("INTERNAL_ERROR", "roapi answer is not JSON") from exc
        return Fetched(len(rows), len(resp.content), 1)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
