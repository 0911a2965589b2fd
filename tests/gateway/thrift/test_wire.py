"""Thrift message framing: calls, replies, and the UNKNOWN_METHOD answer."""

from __future__ import annotations

import pytest
from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.Thrift import TApplicationException, TMessageType
from thrift.transport.TTransport import TMemoryBuffer

from gateway.thrift import wire

METHODS = frozenset({"OpenSession", "CloseOperation"})


def _raw_call(name: str, args: object) -> bytes:
    trans = TMemoryBuffer()
    proto = TBinaryProtocol(trans)
    proto.writeMessageBegin(name, TMessageType.CALL, 9)
    args.write(proto)  # type: ignore[attr-defined]
    proto.writeMessageEnd()
    return bytes(trans.getvalue())


def test_round_trip_call_and_reply() -> None:
    req = ttypes.TOpenSessionReq(client_protocol_i64=42248, configuration={"a": "b"})
    call = wire.decode_call(wire.encode_call("OpenSession", 4, req), METHODS)
    assert (call.name, call.seqid) == ("OpenSession", 4)
    assert call.request.client_protocol_i64 == 42248
    assert call.request.configuration == {"a": "b"}
    resp = ttypes.TOpenSessionResp(status=ttypes.TStatus(statusCode=0), serverProtocolVersion=7)
    assert wire.decode_reply(wire.encode_reply("OpenSession", 4, resp), "OpenSession") == resp


def test_unknown_method_with_binary_guid_is_refused_without_reading() -> None:
    # impyla's GetLog carries a binary GUID that thrift-py's skip() would UTF-8-decode.
    handle = ttypes.TOperationHandle(
        operationId=ttypes.THandleIdentifier(guid=b"\xff\xfe" * 8, secret=b"\xc3\x28" * 8),
        operationType=0, hasResultSet=True)
    body = _raw_call("GetLog", TCLIService.CloseOperation_args(
        req=ttypes.TCloseOperationReq(handle)))
    with pytest.raises(wire.ThriftDecodeError) as info:
        wire.decode_call(body, METHODS)
    assert info.value.kind == TApplicationException.UNKNOWN_METHOD
    assert (info.value.name, info.value.seqid) == ("GetLog", 9)
    reply = wire.encode_exception("GetLog", 9, info.value.kind, str(info.value))
    with pytest.raises(TApplicationException) as exc:
        wire.decode_reply(reply, "CloseOperation")
    assert exc.value.type == TApplicationException.UNKNOWN_METHOD


@pytest.mark.parametrize("body", [b"", b"\x00\x01", b"garbage-garbage-garbage"])
def test_garbage_is_a_decode_error(body: bytes) -> None:
    with pytest.raises(wire.ThriftDecodeError):
        wire.decode_call(body, METHODS)


def test_truncated_arguments_are_a_decode_error() -> None:
    body = wire.encode_call("OpenSession", 1, ttypes.TOpenSessionReq(
        client_protocol_i64=1, configuration={"k" * 50: "v" * 50}))
    with pytest.raises(wire.ThriftDecodeError):
        wire.decode_call(body[:-20], METHODS)
