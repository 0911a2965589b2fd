"""Chunk bytes in the three formats, with and without LZ4."""

from __future__ import annotations

import csv
import decimal
import io
import json

import lz4.frame
import pyarrow as pa
import pytest

from fetch import LZ4_FRAME, FetchError, chunk_extension, decompress_chunk, serialize_chunk
from sqlgate.types import ResultFormat
from tests.fixtures.lz4frames import read_independent

BATCH = pa.record_batch({
    "id": pa.array([1, 2, None], pa.int64()),
    "name": pa.array(["a,b", 'say "hi"', None]),
    "price": pa.array([decimal.Decimal("0.0100"), None, decimal.Decimal("3.5000")],
                      pa.decimal128(10, 4)),
})


def test_arrow_stream_is_a_complete_ipc_stream() -> None:
    data = serialize_chunk([BATCH, BATCH], BATCH.schema, ResultFormat.ARROW_STREAM)
    table = pa.ipc.open_stream(data).read_all()
    assert table.schema == BATCH.schema
    assert table.num_rows == 6
    assert table.column("price")[0].as_py() == decimal.Decimal("0.0100")


def test_lz4_frame_wraps_the_whole_stream() -> None:
    plain = serialize_chunk([BATCH], BATCH.schema, ResultFormat.ARROW_STREAM)
    packed = serialize_chunk([BATCH], BATCH.schema, ResultFormat.ARROW_STREAM,
                             compression=LZ4_FRAME)
    assert packed[:4] == b"\x04\x22\x4d\x18"  # the LZ4 frame magic number
    assert lz4.frame.decompress(packed) == plain
    assert decompress_chunk(packed, LZ4_FRAME) == plain
    assert chunk_extension(ResultFormat.ARROW_STREAM, LZ4_FRAME) == "arrow.lz4"


def test_lz4_frames_have_independent_blocks() -> None:
    """Over many 64 KiB blocks, each decodes on its own (strict decoders need that)."""
    big = pa.record_batch({"s": [f"row {i} " * 20 for i in range(20_000)]})
    plain = serialize_chunk([big], big.schema, ResultFormat.ARROW_STREAM)
    packed = serialize_chunk([big], big.schema, ResultFormat.ARROW_STREAM, compression=LZ4_FRAME)
    assert len(plain) > 1_000_000
    assert read_independent(packed) == plain


def test_csv_header_only_when_asked_nulls_as_null_and_rfc4180_quoting() -> None:
    first = serialize_chunk([BATCH], BATCH.schema, ResultFormat.CSV, header=True).decode()
    later = serialize_chunk([BATCH], BATCH.schema, ResultFormat.CSV).decode()
    assert first.startswith("id,name,price\r\n")
    assert not later.startswith("id,")
    assert later.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(first)))
    assert rows == [["id", "name", "price"], ["1", "a,b", "0.0100"],
                    ["2", 'say "hi"', "null"], ["null", "null", "3.5000"]]
    assert '"say ""hi"""' in first


def test_json_array_is_compact_strings() -> None:
    data = serialize_chunk([BATCH], BATCH.schema, ResultFormat.JSON_ARRAY)
    assert data.startswith(b'[["1","a,b","0.0100"],[')  # no spaces: compact
    assert json.loads(data) == [["1", "a,b", "0.0100"], ["2", 'say "hi"', None],
                                [None, None, "3.5000"]]


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(FetchError):
        serialize_chunk([BATCH], BATCH.schema, ResultFormat.CSV, compression="GZIP")
