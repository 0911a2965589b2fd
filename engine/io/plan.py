"""What a scan will read: data files cut into blocks, in the order DuckDB will want them.

Small files (the many ~1 MB files of a streaming-ingest lake) are one block each, fetched with
one whole-object GET: at 20 ms per request, a footer read followed by column-chunk reads would
triple the round trips for no saving. Bigger files are cut into aligned `BLOCK_BYTES` blocks,
so a reader's byte range always maps to the same cache entries.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from engine.io.cache import BlockKey

MiB = 1024 * 1024
BLOCK_BYTES = 8 * MiB
# Files up to this size are fetched whole: one request beats several ranged ones.
WHOLE_FILE_MAX = 16 * MiB


@dataclass(frozen=True)
class DataFile:
    """One Delta data file to scan: where it is and its exact size from the Delta log."""

    uri: str
    size: int


def block_bounds(size: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` blocks of a file of ``size`` bytes.

    >>> block_bounds(10)
    [(0, 10)]
    >>> len(block_bounds(20 * MiB))
    3
    """
    if size <= WHOLE_FILE_MAX:
        return [(0, size)]
    return [(start, min(start + BLOCK_BYTES, size)) for start in range(0, size, BLOCK_BYTES)]


def file_blocks(file: DataFile) -> list[BlockKey]:
    """Every block of one file, first to last."""
    return [BlockKey(file.uri, file.size, s, e) for s, e in block_bounds(file.size)]


def blocks_for_range(file: DataFile, start: int, end: int) -> Iterator[BlockKey]:
    """The blocks of ``file`` that overlap ``[start, end)``."""
    for key in file_blocks(file):
        if key.end > start and key.start < end:
            yield key


def scan_plan(files: Sequence[DataFile]) -> list[tuple[int, BlockKey]]:
    """Blocks of all files in scan order, each with the index of its file.

    The footer block of a multi-block file comes first: DuckDB reads the footer before any
    row group, so fetching it first keeps the reader from waiting on the tail of a big file.
    """
    plan: list[tuple[int, BlockKey]] = []
    for index, file in enumerate(files):
        blocks = file_blocks(file)
        if len(blocks) > 1:
            blocks = [blocks[-1], *blocks[:-1]]
        plan.extend((index, key) for key in blocks)
    return plan
