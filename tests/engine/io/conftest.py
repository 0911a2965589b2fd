"""Parquet files on the moto bucket (or a local directory) for the I/O layer's tests."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.io import DataFile
from tests.fixtures.s3 import s3_client

ROWS_PER_FILE = 5000


def table_for(index: int, rows: int = ROWS_PER_FILE) -> pa.Table:
    """Deterministic rows: file ``index`` holds ids ``index*rows .. index*rows+rows-1``."""
    ids = pa.array(range(index * rows, (index + 1) * rows), pa.int64())
    return pa.table(
        {"id": ids, "k": pa.compute.divide(ids, 7), "s": pa.compute.cast(ids, pa.string())}
    )


def parquet_bytes(table: pa.Table, row_group_size: int | None = None) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def put_files(info: dict[str, str], count: int, prefix: str = "lake/t") -> list[DataFile]:
    """Upload ``count`` parquet files; returns them as the Delta log would list them."""
    client = s3_client(info)
    files = []
    for i in range(count):
        body = parquet_bytes(table_for(i))
        key = f"{prefix}/part-{i:05d}.parquet"
        client.put_object(Bucket=info["bucket"], Key=key, Body=body)
        files.append(DataFile(f"s3://{info['bucket']}/{key}", len(body)))
    return files


@pytest.fixture
def local_files(tmp_path: Path) -> list[DataFile]:
    """Three parquet files in a local lake directory."""
    lake = tmp_path / "lake"
    lake.mkdir()
    files = []
    for i in range(3):
        body = parquet_bytes(table_for(i))
        path = lake / f"part-{i}.parquet"
        path.write_bytes(body)
        files.append(DataFile(str(path), len(body)))
    return files
