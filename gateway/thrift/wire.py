"""One Thrift call per HTTP POST: decode the request message, encode the reply.

The body is one TBinaryProtocol message (not framed). We read the method name first and
answer `TApplicationException(UNKNOWN_METHOD)` ourselves for methods we do not serve:
thrift-py's own Processor would `iprot.skip` the arguments, which UTF-8-decodes every
string and dies on impyla's binary GUIDs in `GetLog`, dropping the connection.

>>> from databricks.sql.thrift_api.TCLIService import ttypes
>>> body = encode_call("CloseSession", 7, ttypes.TCloseSessionReq())
>>> call = decode_call(body, frozenset({"CloseSession"}))
>>> (call.name, call.seqid, type(call.request).__name__)
('CloseSession', 7, 'TCloseSessionReq')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from databricks.sql.thrift_api.TCLIService import TCLIService
from thrift.protocol.TBinaryProtocol import TBinaryProtocolAccelerated
from thrift.Thrift import TApplicationException, TException, TMessageType
from thrift.transport.TTransport import TMemoryBuffer

CONTENT_TYPE = "application/x-thrift"


class ThriftDecodeError(Exception):
    """The body is not a Thrift call we can read; answered as a TApplicationException."""

    error_code = "BAD_REQUEST"
    http_status = 400

    def __init__(self, message: str, name: str = "", seqid: int = 0, kind: int = 0) -> None:
        super().__init__(message)
        self.name = name
        self.seqid = seqid
        # TApplicationException type to answer with.
        self.kind = kind or TApplicationException.PROTOCOL_ERROR


@dataclass
class Call:
    """A decoded request: method name, sequence id and the `T<Name>Req` struct."""

    name: str
    seqid: int
    request: Any


def _protocol(trans: TMemoryBuffer, limit: int) -> TBinaryProtocolAccelerated:
    return TBinaryProtocolAccelerated(
        trans, string_length_limit=limit, container_length_limit=limit
    )


# What thrift's decoders raise on hostile bytes: the C decoder (fastbinary) raises TypeError
# ("Unexpected TType for skip"), OverflowError and ValueError ("size exceeded specified
# limit") besides thrift's own exceptions; deep struct nesting recurses.
_DECODE_ERRORS = (TException, EOFError, UnicodeDecodeError, ValueError, TypeError,
                  OverflowError, MemoryError, RecursionError, KeyError, IndexError,
                  AttributeError)


def decode_call(body: bytes, methods: frozenset[str], limit: int = 64 * 1024 * 1024) -> Call:
    """Read one call; unknown methods raise ThriftDecodeError(UNKNOWN_METHOD) unread.

    Any body that does not decode raises ThriftDecodeError, answered as a Thrift
    exception: malformed input is the client's error, never the gateway's.
    """
    iprot = _protocol(TMemoryBuffer(body), limit)
    try:
        name, mtype, seqid = iprot.readMessageBegin()
    except _DECODE_ERRORS as exc:
        raise ThriftDecodeError(f"not a Thrift message: {exc}") from exc
    if mtype not in (TMessageType.CALL, TMessageType.ONEWAY):
        raise ThriftDecodeError(f"expected a CALL, got message type {mtype}", name, seqid)
    args_cls = getattr(TCLIService, f"{name}_args", None) if name in methods else None
    if args_cls is None:
        raise ThriftDecodeError(
            f"Unknown method {name}", name, seqid, TApplicationException.UNKNOWN_METHOD
        )
    args = args_cls()
    try:
        args.read(iprot)
        iprot.readMessageEnd()
    except _DECODE_ERRORS as exc:
        raise ThriftDecodeError(f"cannot read {name} arguments: {exc}", name, seqid) from exc
    return Call(name=name, seqid=seqid, request=args.req)


def encode_reply(name: str, seqid: int, response: Any) -> bytes:
    """The REPLY message carrying `response` as `<name>_result.success`."""
    trans = TMemoryBuffer()
    oprot = TBinaryProtocolAccelerated(trans)
    result = getattr(TCLIService, f"{name}_result")(success=response)
    oprot.writeMessageBegin(name, TMessageType.REPLY, seqid)
    result.write(oprot)
    oprot.writeMessageEnd()
    return bytes(trans.getvalue())


def encode_exception(name: str, seqid: int, kind: int, message: str) -> bytes:
    """An EXCEPTION message (what thrift clients raise as TApplicationException)."""
    trans = TMemoryBuffer()
    oprot = TBinaryProtocolAccelerated(trans)
    oprot.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
    TApplicationException(kind, message).write(oprot)
    oprot.writeMessageEnd()
    return bytes(trans.getvalue())


def encode_call(name: str, seqid: int, request: Any) -> bytes:
    """A CALL message, as a client sends it (for tests and tools)."""
    trans = TMemoryBuffer()
    oprot = TBinaryProtocolAccelerated(trans)
    oprot.writeMessageBegin(name, TMessageType.CALL, seqid)
    getattr(TCLIService, f"{name}_args")(req=request).write(oprot)
    oprot.writeMessageEnd()
    return bytes(trans.getvalue())


def decode_reply(body: bytes, name: str) -> Any:
    """The response struct of a REPLY; raises TApplicationException for an EXCEPTION."""
    iprot = TBinaryProtocolAccelerated(TMemoryBuffer(body))
    _, mtype, _ = iprot.readMessageBegin()
    if mtype == TMessageType.EXCEPTION:
        exc = TApplicationException()
        exc.read(iprot)
        raise exc
    result = getattr(TCLIService, f"{name}_result")()
    result.read(iprot)
    return result.success


__all__ = [
    "CONTENT_TYPE",
    "Call",
    "ThriftDecodeError",
    "decode_call",
    "decode_reply",
    "encode_call",
    "encode_exception",
    "encode_reply",
]
