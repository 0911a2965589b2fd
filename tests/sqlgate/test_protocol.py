"""The worker protocol's wire form: what each side sends decodes back to the same message."""

from __future__ import annotations

import doctest
import json

import pytest

import sqlgate.protocol as protocol
from sqlgate.protocol import (
    ChunkStored,
    ResultEnd,
    decode_message,
    decode_task,
    encode_message,
    encode_task,
    is_chunk_message,
)
from sqlgate.types import ChunkInfo, ColumnInfo, Disposition, StatementTask


def test_docstring_examples() -> None:
    assert doctest.testmod(protocol).failed == 0


def test_every_field_of_the_end_crosses() -> None:
    end = ResultEnd(
        columns=(ColumnInfo("d", 0, "DECIMAL", "DECIMAL(10,2)", 10, 2),
                 ColumnInfo("i", 1, "INTERVAL", "INTERVAL DAY", type_interval_type="DAY")),
        total_row_count=7, total_byte_count=99, truncated=True, external=True,
        chunks=(ChunkInfo(0, 0, 7, 99, "r/0.arrow"),), num_modified_rows=0,
        compression="LZ4_FRAME", lane="distributed",
    )
    assert decode_message(encode_message(end)) == end


def test_an_end_leaves_its_defaults_out_and_gets_them_back() -> None:
    end = ResultEnd(columns=(ColumnInfo("1", 0, "INT", "INT"),), total_row_count=1)
    sent = json.loads(encode_message(end))
    assert sent == {"end": {"columns": [{"name": "1", "position": 0, "type_name": "INT",
                                         "type_text": "INT"}], "total_row_count": 1}}
    assert decode_message(encode_message(end)) == end
    assert decode_message(b'{"end": {}}') == ResultEnd()


def test_decoders_ignore_fields_they_do_not_know() -> None:
    # a peer one version newer may send more
    end = decode_message(b'{"end": {"total_row_count": 2, "new": 1, "columns": '
                         b'[{"name": "a", "position": 0, "type_name": "INT", '
                         b'"type_text": "INT", "new": 2}]}}')
    assert end == ResultEnd(columns=(ColumnInfo("a", 0, "INT", "INT"),), total_row_count=2)
    task = decode_task(b'{"statement_id": "s", "sql": "SELECT 1", "new": 3}')
    assert task == StatementTask("s", "SELECT 1")


def test_a_task_keeps_its_tuples_and_enums() -> None:
    t = StatementTask("s", "SELECT 1", disposition=Disposition.HYBRID,
                      attachments=(("system.query.history", "b64"),), catalogs=("main",))
    back = decode_task(encode_task(t))
    assert back == t and isinstance(back.attachments[0], tuple)
    assert back.disposition is Disposition.HYBRID


@pytest.mark.parametrize("ticket", [b"[1]", b'"x"', b"{", b'{"sql": "SELECT 1"}',
                                    b'{"statement_id": "s", "sql": "x", "disposition": "NO"}'])
def test_a_malformed_task_is_a_value_type_or_key_error(ticket: bytes) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        decode_task(ticket)


def test_chunk_messages_are_told_from_the_end_without_decoding() -> None:
    chunk = encode_message(ChunkStored(ChunkInfo(3, 10, 5, 40, "k/3.arrow")))
    assert is_chunk_message(chunk) and is_chunk_message(memoryview(chunk))
    assert not is_chunk_message(encode_message(ResultEnd()))
    assert not is_chunk_message(b"")
