"""The floor of a REST statement: a bare Starlette JSON endpoint on the gateway's uvicorn stack.

    python -m bench.floor_server --port 8123

One route, ``POST /api/2.0/sql/statements``, that parses the JSON body and answers a
statement-shaped JSON (SUCCEEDED, one row) without doing anything else. It is served by
`gateway.server.make_server` on a socket from `gateway.server.listen_socket`, so the loop
(uvloop), the HTTP parser (httptools), TCP_NODELAY and every uvicorn option are the
gateway's own: what the gateway spends above this endpoint is its statement path.
`FloorServer` runs it as a subprocess on a free 127.0.0.1 port, as the gateway runs.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.local import LocalError, free_port

_READY_TIMEOUT_S = 30.0
PATH = "/api/2.0/sql/statements"


async def statement(request: Request) -> JSONResponse:
    """Parse the body as the gateway does and answer a SUCCEEDED one-row statement."""
    body = await request.json()
    return JSONResponse({
        "statement_id": "00000000-0000-0000-0000-000000000000",
        "status": {"state": "SUCCEEDED"},
        "manifest": {"format": "JSON_ARRAY", "schema": {"column_count": 1, "columns": [
            {"name": "1", "type_name": "INT", "type_text": "INT", "position": 0}]},
            "total_row_count": 1, "truncated": False},
        "result": {"chunk_index": 0, "row_offset": 0, "row_count": 1,
                   "data_array": [["1"]] if body.get("statement") else []},
    })


def app() -> Starlette:
    """The bare application: the one route above."""
    bare = Starlette(routes=[Route(PATH, statement, methods=["POST"])])
    # make_server drains the gateway held in app.state on SIGTERM; the floor has none.
    bare.state.gateway = None
    return bare


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the bare endpoint on 127.0.0.1:--port until terminated."""
    from gateway.server import listen_socket, make_server
    from sqlgate.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args(argv)
    settings = Settings.load(env={}, overrides={"host": "127.0.0.1", "port": args.port,
                                                "log_level": "warning"})
    server = make_server(settings, app=app())
    server.run(sockets=[listen_socket("127.0.0.1", args.port)])
    return 0


class FloorServer:
    """`python -m bench.floor_server` on a free port, stopped on exit.

    >>> with FloorServer() as url:  # doctest: +SKIP
    ...     httpx.post(url + PATH, json={"statement": "SELECT 1"})
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.floor_server", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + _READY_TIMEOUT_S
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read() if self.proc.stderr else b""
                    raise LocalError(f"floor server exited: {err.decode(errors='replace')}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.post(self.url + PATH, json={"statement": "SELECT 1"}).is_success:
                        return self.url
                time.sleep(0.05)
        self.__exit__()
        raise LocalError(f"floor server not answering within {_READY_TIMEOUT_S}s")

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


if __name__ == "__main__":
    sys.exit(main())
