"""Issue 2: deletion vectors and column mapping are read correctly or refused, never wrong rows.

deltalake cannot write deletion vectors, so the tests craft them: a small Delta table is written
normally, then commits are appended to its `_delta_log` by hand, as Databricks would write
them: one that upgrades the protocol to the `deletionVectors` reader/writer feature (3/7) and
enables it, and one that replaces the data file's add action by the same file carrying a
`deletionVector` descriptor (two of its ten rows deleted). The engine does not apply deletion
vectors, so a statement over such a snapshot must fail with an error naming the feature, while
the same table before any row was deleted (feature on, no vector in use) still reads correctly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from engine import Engine, Unsupported
from sqlgate.settings import EngineSettings
from sqlgate.types import StatementTask
from tests.engine.conftest import run

ROWS = 10


def _log(uri: Path) -> Path:
    return uri / "_delta_log"


def _actions(uri: Path, version: int) -> list[dict[str, Any]]:
    text = (_log(uri) / f"{version:020d}.json").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _commit(uri: Path, version: int, actions: list[dict[str, Any]]) -> None:
    # Exclusive create, as a Delta writer commits: a version is never overwritten.
    info = {"commitInfo": {"timestamp": int(time.time() * 1000), "operation": "DELETE",
                           "operationParameters": {}}}
    with (_log(uri) / f"{version:020d}.json").open("x") as f:
        for action in [info, *actions]:
            f.write(json.dumps(action) + "\n")


def _enable_deletion_vectors(uri: Path, version: int) -> None:
    meta = next(a["metaData"] for a in _actions(uri, 0) if "metaData" in a)
    meta = {**meta, "configuration": {**meta.get("configuration", {}),
                                      "delta.enableDeletionVectors": "true"}}
    _commit(uri, version, [
        {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7,
                      "readerFeatures": ["deletionVectors"],
                      "writerFeatures": ["deletionVectors"]}},
        {"metaData": meta},
    ])


def _delete_rows_with_vector(uri: Path, version: int) -> None:
    add = next(a["add"] for a in _actions(uri, 0) if "add" in a)
    now = int(time.time() * 1000)
    dv = {
        # "u": a vector in a file next to the table, named by a z85-encoded UUID. The file is
        # never written: the engine must refuse from the log alone, before reading any data.
        "storageType": "u",
        "pathOrInlineDv": "ab^-aqEH.-t@S}K{vb[*k^",
        "offset": 1,
        "sizeInBytes": 36,
        "cardinality": 2,
    }
    _commit(uri, version, [
        {"remove": {"path": add["path"], "deletionTimestamp": now, "dataChange": True,
                    "extendedFileMetadata": True, "partitionValues": add["partitionValues"],
                    "size": add["size"]}},
        {"add": {**add, "modificationTime": now, "dataChange": True, "deletionVector": dv}},
    ])


@pytest.fixture
def dv_table(scratch_engine: tuple[Engine, EngineSettings]) -> tuple[Engine, Path]:
    """main.default.dv: v0 plain, v1 deletion vectors enabled, v2 a vector in use."""
    eng, settings = scratch_engine
    uri = Path(settings.lake) / "main" / "default" / "dv"
    write_deltalake(str(uri), pa.table({"id": pa.array(range(ROWS), pa.int64())}))
    _enable_deletion_vectors(uri, 1)
    return eng, uri


def test_feature_enabled_but_unused_reads_every_row(dv_table: tuple[Engine, Path]) -> None:
    eng, _ = dv_table
    got = run(eng, "SELECT count(*) AS n, sum(id) AS s FROM main.default.dv", schema=None)
    assert got.to_pylist() == [{"n": ROWS, "s": sum(range(ROWS))}]


def test_deletion_vector_in_use_is_refused(dv_table: tuple[Engine, Path]) -> None:
    eng, uri = dv_table
    # Read once first, so the refusal must also come from the cached snapshot's refresh.
    assert run(eng, "SELECT count(*) AS n FROM main.default.dv", schema=None)["n"][0].as_py() \
        == ROWS
    _delete_rows_with_vector(uri, 2)
    for sql in (
        "SELECT count(*) FROM main.default.dv",
        "SELECT id FROM main.default.dv WHERE id > 3",
        "SELECT * FROM main.default.dv VERSION AS OF 2",
    ):
        with pytest.raises(Unsupported, match="deletion vectors") as info:
            run(eng, sql, schema=None)
        assert info.value.error_code  # a client-facing code, not a library error
    with pytest.raises(Unsupported, match="deletion vectors"):
        eng.estimate(StatementTask("e", "SELECT * FROM main.default.dv"))
    # Time travel to before the delete reads the table as it was then.
    got = run(eng, "SELECT count(*) AS n FROM main.default.dv VERSION AS OF 1", schema=None)
    assert got.to_pylist() == [{"n": ROWS}]


def test_column_mapping_is_refused_by_name(scratch_engine: tuple[Engine, EngineSettings]
                                           ) -> None:
    # mode=name through the reader-feature protocol (3/7): the physical column names in the
    # data files differ from the logical ones, so reading the files by name gives NULLs.
    eng, settings = scratch_engine
    uri = Path(settings.lake) / "main" / "default" / "mapped"
    write_deltalake(str(uri), pa.table({"a": pa.array([1, 2], pa.int64())}), configuration={
        "delta.columnMapping.mode": "name", "delta.minReaderVersion": "3",
        "delta.minWriterVersion": "7"})
    with pytest.raises(Unsupported, match="column mapping"):
        run(eng, "SELECT a FROM main.default.mapped", schema=None)
    with pytest.raises(Unsupported, match="column mapping"):
        eng.estimate(StatementTask("e", "SELECT a FROM main.default.mapped"))
