"""The result loop's messages: rows in order, `ResultEnd` last, riding on the last rows."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from engine.worker.results import StreamItem, produce
from fetch import ChunkWriter
from sqlgate.protocol import ResultEnd, decode_message
from sqlgate.types import ColumnInfo, Disposition, StatementTask

SCHEMA = pa.schema([pa.field("n", pa.int64())])


class Source:
    """A result stream of the given batches."""

    def __init__(self, *sizes: int) -> None:
        self.schema = SCHEMA
        self.columns = (ColumnInfo("n", 0, "LONG", "BIGINT"),)
        self.truncated = False
        self.num_modified_rows = None
        start = 0
        self._batches = []
        for size in sizes:
            self._batches.append(pa.record_batch({"n": list(range(start, start + size))},
                                                 schema=SCHEMA))
            start += size

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self._batches)


def _no_writer() -> ChunkWriter:
    raise AssertionError("an inline result opened a chunk writer")


def _split(items: list[StreamItem]) -> tuple[list[int], ResultEnd, int]:
    """The rows of every item in order, the end message, and the rows of the item it rode."""
    rows: list[int] = []
    ends = []
    for item in items:
        batch, meta = item if isinstance(item, tuple) else (item, None)
        rows += batch.column(0).to_pylist()
        if meta is not None:
            ends.append((decode_message(meta.to_pybytes()), batch.num_rows))
    assert len(ends) == 1 and isinstance(ends[0][0], ResultEnd)
    assert isinstance(items[-1], tuple), "the end message comes last"
    return rows, ends[0][0], ends[0][1]


@pytest.mark.parametrize("disposition", [Disposition.INLINE, Disposition.HYBRID])
@pytest.mark.parametrize("sizes", [(1,), (3, 2, 4), ()])
def test_the_end_rides_on_the_last_rows(disposition: Disposition,
                                        sizes: tuple[int, ...]) -> None:
    task = StatementTask("s", "SELECT n", disposition=disposition)
    items = list(produce(task, Source(*sizes), _no_writer))
    rows, end, carried = _split(items)
    assert rows == list(range(sum(sizes)))
    assert end.total_row_count == sum(sizes) and not end.external
    # one message for a one-batch result: its rows and the end together
    assert len(items) == max(1, len(sizes))
    assert carried == (sizes[-1] if sizes else 0)
