"""engine.dml: INSERT, MERGE, UPDATE, DELETE, TRUNCATE, OPTIMIZE and VACUUM on Delta."""

from __future__ import annotations

import threading

import pytest
from deltalake import DeltaTable

from engine import Engine, writes
from engine.catalog import TableName
from engine.errors import AnalysisError, ConcurrentWrite, EngineError, Unsupported
from sqlgate.settings import EngineSettings

from .conftest import run


def sql(eng: Engine, text: str) -> list[dict[str, object]]:
    return run(eng, text, schema="s").to_pylist()


@pytest.fixture
def eng(scratch_engine: tuple[Engine, EngineSettings]) -> Engine:
    engine, _ = scratch_engine
    sql(engine, "CREATE SCHEMA main.s")
    sql(engine, "CREATE TABLE t (id BIGINT NOT NULL, d DATE, v STRING) PARTITIONED BY (d)")
    sql(engine, "INSERT INTO t VALUES (1, '2024-01-01', 'a'), (2, '2024-01-01', 'b'), "
                "(3, '2024-01-02', 'c')")
    return engine


def rows(eng: Engine) -> list[tuple[object, ...]]:
    return [(r["id"], str(r["d"]), r["v"]) for r in sql(eng, "SELECT * FROM t ORDER BY id")]


def test_insert_forms(eng: Engine) -> None:
    sql(eng, "INSERT INTO t (v, id) VALUES ('x', 4)")  # column list: d is NULL
    sql(eng, "INSERT INTO t BY NAME SELECT 'y' AS v, 5 AS id, DATE'2024-01-03' AS d")
    assert rows(eng)[3:] == [(4, "None", "x"), (5, "2024-01-03", "y")]
    sql(eng, "INSERT INTO t REPLACE WHERE d = '2024-01-01' SELECT 9, DATE'2024-01-01', 'z'")
    assert [r[0] for r in rows(eng)] == [3, 4, 5, 9]
    sql(eng, "INSERT OVERWRITE t PARTITION (d = '2024-01-02') SELECT 8, 'p'")
    assert [r[0] for r in rows(eng)] == [4, 5, 8, 9]
    with pytest.raises(AnalysisError, match="NOT_NULL"):
        sql(eng, "INSERT INTO t (v) VALUES ('no id')")
    with pytest.raises(AnalysisError, match="ARITY"):
        sql(eng, "INSERT INTO t VALUES (1)")
    sql(eng, "INSERT OVERWRITE t SELECT 1, DATE'2024-01-05', 'only'")
    assert rows(eng) == [(1, "2024-01-05", "only")]


def test_update_delete_truncate(eng: Engine) -> None:
    assert sql(eng, "UPDATE t SET v = upper(v) WHERE id >= 2") == [{"num_affected_rows": 2}]
    assert sql(eng, "DELETE FROM t WHERE d = '2024-01-01' AND v = 'a'") == [
        {"num_affected_rows": 1}]
    assert rows(eng) == [(2, "2024-01-01", "B"), (3, "2024-01-02", "C")]
    sql(eng, "TRUNCATE TABLE t")
    assert rows(eng) == []


def test_conditions_with_subqueries_become_merges(eng: Engine) -> None:
    sql(eng, "CREATE TABLE gone AS SELECT 2 AS id")
    assert sql(eng, "DELETE FROM t WHERE id IN (SELECT id FROM gone) OR v = 'c'") == [
        {"num_affected_rows": 2}]
    sql(eng, "INSERT INTO t VALUES (4, NULL, NULL), (4, NULL, NULL)")  # identical rows
    assert sql(eng, "UPDATE t SET v = concat('x', CAST(id AS STRING)) "
                    "WHERE EXISTS (SELECT 1 FROM gone WHERE gone.id + 2 = t.id)") == [
        {"num_affected_rows": 2}]
    assert rows(eng) == [(1, "2024-01-01", "a"), (4, "None", "x4"), (4, "None", "x4")]
    assert sql(eng, "DELETE FROM t WHERE id IN (SELECT id FROM gone WHERE id > 99)") == [
        {"num_affected_rows": 0}]
    with pytest.raises(Unsupported, match="subquery"):
        sql(eng, "UPDATE t SET v = (SELECT 'y') WHERE id = 1")


def test_merge_clauses(eng: Engine) -> None:
    sql(eng, "CREATE TABLE src AS SELECT * FROM VALUES (2, DATE'2024-01-01', 'B2'), "
             "(3, DATE'2024-01-02', 'gone'), (7, DATE'2024-01-07', 'new') AS v(id, d, v)")
    got = sql(eng, "MERGE INTO t AS tgt USING src ON tgt.id = src.id "
                   "WHEN MATCHED AND src.v = 'gone' THEN DELETE "
                   "WHEN MATCHED THEN UPDATE SET * "
                   "WHEN NOT MATCHED THEN INSERT * "
                   "WHEN NOT MATCHED BY SOURCE THEN UPDATE SET v = concat(v, '!')")
    assert got == [{"num_affected_rows": 4, "num_updated_rows": 2, "num_deleted_rows": 1,
                    "num_inserted_rows": 1}]
    assert rows(eng) == [(1, "2024-01-01", "a!"), (2, "2024-01-01", "B2"),
                         (7, "2024-01-07", "new")]
    # unqualified names: the source in NOT MATCHED, as Spark resolves them
    sql(eng, "MERGE INTO t USING (SELECT 8 AS k, 'eight' AS label) s ON t.id = s.k "
             "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (k, label)")
    assert rows(eng)[-1] == (8, "None", "eight")


def test_merge_with_duplicate_source_rows_writes_nothing(eng: Engine) -> None:
    before = rows(eng)
    with pytest.raises(AnalysisError, match="DELTA_MULTIPLE_SOURCE_ROW_MATCHING"):
        sql(eng, "MERGE INTO t USING (SELECT 1 AS id UNION ALL SELECT 1) s ON t.id = s.id "
                 "WHEN MATCHED THEN UPDATE SET v = 'twice'")
    assert rows(eng) == before
    # an unconditional delete is not ambiguous (Databricks allows it)
    sql(eng, "MERGE INTO t USING (SELECT 1 AS id UNION ALL SELECT 1) s ON t.id = s.id "
             "WHEN MATCHED THEN DELETE")
    assert [r[0] for r in rows(eng)] == [2, 3]


def test_failed_statement_commits_nothing(eng: Engine,
                                          scratch_engine: tuple[Engine, EngineSettings]) -> None:
    uri = f"{scratch_engine[1].lake}/main/s/t"
    version = DeltaTable(uri).version()
    with pytest.raises(EngineError):
        sql(eng, "INSERT INTO t SELECT id, d, CAST(1 / 0 AS STRING) FROM t")
    with pytest.raises(EngineError):
        sql(eng, "INSERT INTO t SELECT CAST('not a number' AS BIGINT), d, v FROM t")
    assert DeltaTable(uri).version() == version


def test_concurrent_deletes_conflict_clearly(eng: Engine) -> None:
    """Two writers remove the same files: one commits, the other gets DELTA_CONCURRENT_*
    (retryable, nothing written), never a lost write."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            sql(eng, f"UPDATE t SET v = 'w{i}' WHERE d = '2024-01-01'")
        except ConcurrentWrite as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    values = {r[2] for r in rows(eng) if r[1] == "2024-01-01"}
    assert len(values) == 1  # one writer's value, whole
    wins = 4 - len(errors)
    assert wins >= 1
    for exc in errors:
        assert exc.message.startswith("[DELTA_CONCURRENT"), exc.message
        assert (exc.error_code, exc.sql_state) == ("ABORTED", "2D521")


def test_optimize_and_vacuum_retention(eng: Engine) -> None:
    got = sql(eng, "OPTIMIZE t")
    assert got[0]["numFilesRemoved"] >= got[0]["numFilesAdded"]
    with pytest.raises(AnalysisError, match="RETENTION_PERIOD_TOO_SHORT"):
        sql(eng, "VACUUM t RETAIN 0 HOURS")
    assert sql(eng, "VACUUM t DRY RUN") == []  # nothing is older than 7 days
    assert rows(eng)[0] == (1, "2024-01-01", "a")


def test_a_conflicting_commit_is_a_retryable_error(
        eng: Engine, scratch_engine: tuple[Engine, EngineSettings]) -> None:
    """A writer that read version N loses to a commit that removed the files it read."""
    uri = f"{scratch_engine[1].lake}/main/s/t"
    stale = DeltaTable(uri)  # this writer has read the current version
    sql(eng, "DELETE FROM t WHERE id = 1")  # another writer rewrites that partition's file
    with pytest.raises(ConcurrentWrite) as info:
        try:
            stale.delete("id = 2")
        except writes.ERRORS as exc:
            raise writes.translate(exc, eng.catalog, TableName("main", "s", "t")) from exc
    assert info.value.message.startswith("[DELTA_CONCURRENT_APPEND]"), info.value.message
    assert rows(eng) == [(2, "2024-01-01", "b"), (3, "2024-01-02", "c")]  # only the winner
