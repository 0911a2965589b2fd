"""uvicorn's HTTP protocol, answering a request it cannot parse in the API's own error shape.

uvicorn rejects a request whose request line or headers do not parse (a control character in
the target, a malformed header) before the app sees it, with a plain-text ``400 Invalid HTTP
request received.``. Every other error a client gets is Databricks' JSON body
``{"error_code": ..., "message": ...}`` (`gateway.errors`); this protocol class makes these
the same, so a client's error handling never meets a body it cannot decode.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.h11_impl import H11Protocol

from sqlgate.errors import BadRequest

try:  # uvicorn's "auto" choice: httptools when installed (a product dependency), else h11
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools is a dependency; h11 is uvicorn's own
    _Base = H11Protocol  # type: ignore[assignment,misc]


def bad_request_bytes(message: str) -> bytes:
    """The whole HTTP/1.1 response (status line, headers, JSON body) for an unparsable request."""
    body = json.dumps(BadRequest(message).body()).encode()
    head = (
        b"HTTP/1.1 400 Bad Request\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return head + body


class JsonErrorProtocol(_Base):
    """The protocol uvicorn would pick, with the 400 for an unparsable request in JSON."""

    def send_400_response(self, msg: str) -> None:
        # the connection is closed after it: nothing else is in flight on this transport
        self.transport.write(bad_request_bytes(msg))
        self.transport.close()
