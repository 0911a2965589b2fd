"""The worker server: a real `sqlgate worker` process over the TPC-H lake, driven over each
lane (Flight, and the local Unix socket of `engine.worker.stream`), and the stream's shape
against an in-process server with an engine of our own."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from engine.errors import EngineError
from engine.worker.server import WorkerServer
from engine.worker.stream import StreamServer
from gateway.core.backend import StatementFailed, StatementResult
from gateway.pool.client import FlightWorker
from gateway.pool.local import LocalProcessProvider
from gateway.pool.provider import Call
from sqlgate.protocol import Action, PingReply, decode_reply, inline_limit_message
from sqlgate.protocol import decode_task as task_from_json
from sqlgate.protocol import encode_task as task_to_json
from sqlgate.settings import EngineSettings, Settings
from sqlgate.types import ColumnInfo, Disposition, Parameter, ResultFormat, StatementTask

LANES = ["stream", "flight"]
# One loop for the module, as a gateway has one: a stream lane keeps its idle connections.
_LOOP = asyncio.new_event_loop()


def run(worker: FlightWorker, t: StatementTask, call: Call) -> StatementResult:
    """`worker.run`, a coroutine, to its end."""
    return _LOOP.run_until_complete(worker.run(t, call))


@pytest.fixture(scope="module", params=LANES)
def worker_settings(
    engine_settings: EngineSettings, tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Settings:
    results = tmp_path_factory.mktemp("results")
    base = Settings(engine=engine_settings)
    return base.replace(results=str(results), chunk_target_bytes=64 * 1024,
                        worker_concurrency=2, threads=1, signing_secret="s3cret",
                        worker_stream=request.param == "stream")


@pytest.fixture(scope="module")
def worker(worker_settings: Settings) -> Iterator[FlightWorker]:
    provider = LocalProcessProvider(worker_settings)
    w = provider.start()
    assert (w._lane is not None) == worker_settings.pool.worker_stream
    try:
        yield w
    finally:
        w.stop(2.0)
        assert not w.alive()
        provider.close()


def task(sql: str, **kw: object) -> StatementTask:
    return StatementTask(statement_id=f"w-{abs(hash((sql, tuple(kw.items()))))}", sql=sql,
                         **kw)  # type: ignore[arg-type]


def test_task_codec_round_trips() -> None:
    t = StatementTask(
        statement_id="a", sql="SELECT :x", parameters=(Parameter("x", "1", "INT"),),
        disposition=Disposition.HYBRID, format=ResultFormat.ARROW_STREAM, timeout_s=3.0,
    )
    assert task_from_json(task_to_json(t)) == t


def test_inline_result_with_columns(worker: FlightWorker) -> None:
    result = run(worker, task("SELECT count(*) AS n FROM main.tpch.nation"), Call("x"))
    assert result.batches[0].to_pydict() == {"n": [25]}
    m = result.manifest
    assert (m.total_row_count, m.external, m.truncated) == (1, False, False)
    assert [(c.name, c.type_name) for c in m.columns] == [("n", "LONG")]


def test_sql_errors_cross_with_code_and_sqlstate(worker: FlightWorker) -> None:
    with pytest.raises(StatementFailed) as info:
        run(worker, task("SELECT * FROM main.tpch.nope"), Call("x"))
    assert info.value.error.error_code == "BAD_REQUEST"
    assert info.value.error.sql_state == "42P01"
    assert "TABLE_OR_VIEW_NOT_FOUND" in info.value.error.message


def test_inline_limit_fails_with_the_databricks_message(worker: FlightWorker) -> None:
    with pytest.raises(StatementFailed) as info:
        run(worker, task("SELECT * FROM main.tpch.orders", inline_byte_limit=10_000), Call("x"))
    assert info.value.error.error_code == "BAD_REQUEST"
    assert info.value.error.message == inline_limit_message(10_000)


def test_row_limit_truncates(worker: FlightWorker) -> None:
    result = run(worker, task("SELECT * FROM main.tpch.nation", row_limit=5), Call("x"))
    assert result.manifest.total_row_count == 5 and result.manifest.truncated


def test_external_links_write_chunks_and_stream_no_rows(
    worker: FlightWorker, worker_settings: Settings
) -> None:
    t = task("SELECT * FROM main.tpch.orders", disposition=Disposition.EXTERNAL_LINKS,
             format=ResultFormat.ARROW_STREAM)
    result = run(worker, t, Call("x"))
    m = result.manifest
    assert m.external and result.batches == []
    assert m.total_row_count == 15_000
    assert len(m.chunks) > 1 and sum(c.row_count for c in m.chunks) == 15_000
    root = Path(worker_settings.fetch.results)
    for chunk in m.chunks:
        assert chunk.key is not None and (root / chunk.key).is_file()


def test_hybrid_goes_external_only_past_the_inline_limit(worker: FlightWorker) -> None:
    small = run(worker, task("SELECT * FROM main.tpch.nation", disposition=Disposition.HYBRID,
                            format=ResultFormat.ARROW_STREAM), Call("x"))
    assert not small.manifest.external and small.manifest.total_row_count == 25
    big = run(worker, task("SELECT * FROM main.tpch.orders", disposition=Disposition.HYBRID,
                          format=ResultFormat.ARROW_STREAM, inline_byte_limit=10_000),
                     Call("x"))
    assert big.manifest.external and big.manifest.total_row_count == 15_000


def test_ping_and_estimate(worker: FlightWorker) -> None:
    info = worker.ping(2.0)
    assert info.pid == worker.pid and info.running == 0 and info.node
    est = worker.estimate(task("SELECT * FROM main.tpch.lineitem"))
    assert est.tables == ("main.tpch.lineitem",) and est.files >= 1 and est.bytes > 0


def test_settings_reach_the_worker(worker_settings: Settings) -> None:
    from gateway.pool.local import settings_toml
    from sqlgate.settings import Settings as S

    path = Path(worker_settings.fetch.results) / "settings-check.toml"
    path.write_text(settings_toml(worker_settings))
    loaded = S.load(path, env={})
    assert dataclasses.asdict(loaded) == dataclasses.asdict(worker_settings)


def test_chunks_are_announced_while_the_statement_runs(worker: FlightWorker) -> None:
    # ~375k rows come out in several batches: chunks stored after one batch are announced
    # before the next, long before the manifest.
    early: list[object] = []
    t = task("SELECT o.*, n.n_name FROM main.tpch.orders o, main.tpch.nation n",
             disposition=Disposition.EXTERNAL_LINKS, format=ResultFormat.ARROW_STREAM)
    result = run(worker, t, Call("x", on_chunk=early.append))
    chunks = result.manifest.chunks
    assert result.manifest.total_row_count == 375_000 and len(chunks) > 10
    assert early, "no chunk was announced before the end"
    assert len(early) < len(chunks)  # the last ones come with the manifest only
    assert all(info == chunks[info.chunk_index] for info in early)  # type: ignore[attr-defined]


def test_errors_leave_the_worker_without_paths() -> None:
    from engine.worker.server import flight_error
    from sqlgate.protocol import decode_error
    from sqlgate.types import StatementError

    err = flight_error(StatementError(
        "IO_ERROR", "cannot read table data: IO Error: No files found that match the "
        "pattern \"/srv/lake/main/tpch/nation/part-0.parquet\"", "58030"))
    sent = decode_error(err.extra_info)
    assert sent is not None and "/srv/lake" not in sent.message and "<path>" in sent.message
    assert "/srv/lake" not in str(err)


def test_task_encoding_is_the_plain_json_of_every_field() -> None:
    from sqlgate.protocol import _json

    t = StatementTask(
        statement_id="a", sql="SELECT :x", workspace="w", user="u", catalog="c", schema="s",
        parameters=(Parameter("x", "1", "INT"), Parameter("y", None)), row_limit=5,
        byte_limit=9, disposition=Disposition.EXTERNAL_LINKS, format=ResultFormat.CSV,
        compression="LZ4_FRAME", timeout_s=3.5, attachments=(("system.query.history", "b64"),),
        catalogs=("main",), lane="distributed", session_id="sess",
    )
    assert task_to_json(t) == _json(t)
    assert task_from_json(task_to_json(t)) == t


# -- the stream's shape, against an engine of our own in this process

class FakeSource:
    """A result of `batches` numbers; `wait` runs before each batch after the first."""

    def __init__(self, batches: int, rows: int, wait: Callable[[int], None] | None = None,
                 fail_at: int | None = None) -> None:
        self.schema = pa.schema([pa.field("n", pa.int64())])
        self.columns = (ColumnInfo("n", 0, "LONG", "BIGINT"),)
        self.truncated = False
        self.num_modified_rows = None
        self.batches, self.rows, self.wait, self.fail_at = batches, rows, wait, fail_at
        self.produced = 0
        self.left = False

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for i in range(self.batches):
            if i and self.wait is not None:
                self.wait(i)
            if i == self.fail_at:
                raise EngineError("[DIVIDE_BY_ZERO] boom", error_code="BAD_REQUEST")
            self.produced += 1
            yield pa.record_batch({"n": list(range(i * self.rows, (i + 1) * self.rows))},
                                  schema=self.schema)

    def __enter__(self) -> FakeSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.left = True


class FakeEngine:
    """Hands out the next source for each statement."""

    def __init__(self) -> None:
        self.sources: list[FakeSource] = []

    def execute(self, task: StatementTask) -> FakeSource:
        return self.sources.pop(0)


@pytest.fixture(params=LANES)
def inproc(
    tmp_path: Path, request: pytest.FixtureRequest,
) -> Iterator[tuple[WorkerServer, FakeEngine, FlightWorker]]:
    settings = Settings().replace(results=str(tmp_path), chunk_target_bytes=1024)
    engine = FakeEngine()
    server = WorkerServer(settings, "grpc://127.0.0.1:0", engine)  # type: ignore[arg-type]
    path = str(tmp_path / "w.sock") if request.param == "stream" else None
    lane = StreamServer(server, path, 4) if path else None
    client = FlightWorker("w", f"grpc://127.0.0.1:{server.port}", stream=path)
    try:
        yield server, engine, client
    finally:
        client.stop(0.5)
        if lane is not None:
            lane.close()
        server.shutdown()


def test_a_small_result_is_produced_before_do_get_returns(
    inproc: tuple[WorkerServer, FakeEngine, FlightWorker],
) -> None:
    server, engine, _ = inproc
    engine.sources.append(small := FakeSource(2, 10))
    server.do_get(None, flight.Ticket(task_to_json(task("SELECT n"))))  # type: ignore[arg-type]
    assert small.produced == 2 and small.left  # rows, end and the engine's exit: all done
    assert _running(server) == 0


def test_a_large_inline_result_streams_whole_and_in_order(
    inproc: tuple[WorkerServer, FakeEngine, FlightWorker],
) -> None:
    server, engine, client = inproc
    engine.sources.append(big := FakeSource(6, 50_000))  # 400 kB a batch: past the burst
    ticket = flight.Ticket(task_to_json(task("SELECT n")))
    stream = server.do_get(None, ticket)  # type: ignore[arg-type]
    assert 0 < big.produced < 6 and not big.left  # the rest streams as the gateway reads
    del stream  # never read: dropping it leaves the engine's context and frees the slot
    assert big.left and _running(server) == 0
    engine.sources.append(FakeSource(6, 50_000))
    result = run(client, task("SELECT n"), Call("x"))
    assert pa.Table.from_batches(result.batches).column("n").to_pylist() == list(
        range(300_000))
    assert result.manifest.total_row_count == 300_000 and not result.manifest.external


def test_a_small_external_result_is_stored_before_do_get_returns(
    inproc: tuple[WorkerServer, FakeEngine, FlightWorker],
) -> None:
    server, engine, client = inproc
    engine.sources.append(source := FakeSource(2, 10))
    t = task("SELECT n", disposition=Disposition.EXTERNAL_LINKS, format=ResultFormat.ARROW_STREAM)
    server.do_get(None, flight.Ticket(task_to_json(t)))  # type: ignore[arg-type]
    assert source.produced == 2 and source.left
    engine.sources.append(FakeSource(2, 10))
    result = run(client, dataclasses.replace(t, statement_id="again"), Call("x"))
    assert result.manifest.external and result.batches == []
    assert result.manifest.total_row_count == 20 and result.manifest.chunks


@pytest.mark.parametrize("disposition", [Disposition.EXTERNAL_LINKS, Disposition.HYBRID])
def test_an_external_result_announces_chunks_while_it_runs(
    inproc: tuple[WorkerServer, FakeEngine, FlightWorker], disposition: Disposition,
) -> None:
    _, engine, client = inproc
    announced = threading.Event()
    seen_at: list[int] = []

    def wait(i: int) -> None:  # the statement goes on until the first link is out
        if announced.wait(0.1) and not seen_at:
            seen_at.append(i)

    engine.sources.append(FakeSource(40, 200, wait))
    t = task("SELECT n", disposition=disposition, inline_byte_limit=2_000,
             format=ResultFormat.ARROW_STREAM)
    result = run(client, t, Call("x", on_chunk=lambda info: announced.set()))
    assert result.manifest.external and result.manifest.total_row_count == 8_000
    assert seen_at and seen_at[0] < 39, "no chunk was announced while the statement ran"


def test_a_failure_in_the_burst_crosses_with_its_code_and_frees_the_slot(
    inproc: tuple[WorkerServer, FakeEngine, FlightWorker],
) -> None:
    server, engine, client = inproc
    engine.sources.append(failing := FakeSource(3, 10, fail_at=1))
    with pytest.raises(StatementFailed) as info:
        run(client, task("SELECT n"), Call("x"))
    assert info.value.error.error_code == "BAD_REQUEST"
    assert "DIVIDE_BY_ZERO" in info.value.error.message
    assert failing.left and _running(server) == 0


def _running(server: WorkerServer) -> int:
    return decode_reply(PingReply, server._answer(Action.PING, b"")).running


# -- the stream lane's own cases

@pytest.fixture
def lane(tmp_path: Path) -> Iterator[tuple[WorkerServer, FakeEngine, FlightWorker, str]]:
    settings = Settings().replace(results=str(tmp_path), chunk_target_bytes=1024)
    engine = FakeEngine()
    server = WorkerServer(settings, "grpc://127.0.0.1:0", engine)  # type: ignore[arg-type]
    path = str(tmp_path / "w.sock")
    stream = StreamServer(server, path, 4)
    client = FlightWorker("w", f"grpc://127.0.0.1:{server.port}", stream=path)
    try:
        yield server, engine, client, path
    finally:
        client.stop(0.5)
        stream.close()
        server.shutdown()


def test_statements_share_one_connection_one_after_another(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    _, engine, client, _ = lane
    for i in range(3):
        engine.sources.append(FakeSource(1, 5))
        assert run(client, task(f"SELECT {i}"), Call("x")).manifest.total_row_count == 5
    assert client._lane is not None and len(client._lane._idle) == 1


def test_a_failed_statement_leaves_its_connection_ready_for_the_next(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    _, engine, client, _ = lane
    engine.sources.append(FakeSource(3, 10, fail_at=1))
    with pytest.raises(StatementFailed) as info:
        run(client, task("SELECT n"), Call("x"))
    assert "DIVIDE_BY_ZERO" in info.value.error.message
    assert client._lane is not None and len(client._lane._idle) == 1
    engine.sources.append(FakeSource(1, 5))
    assert run(client, task("SELECT n"), Call("y")).manifest.total_row_count == 5
    assert len(client._lane._idle) == 1


def test_a_statement_hung_up_on_before_it_is_sent_never_reaches_the_worker(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    server, engine, client, _ = lane
    engine.sources.append(FakeSource(1, 5))
    call = Call("x", reason="the warehouse was stopped")
    call.hang_up()
    with pytest.raises(StatementFailed) as info:
        run(client, task("SELECT n"), call)
    assert info.value.error.error_code == "CANCELLED"
    assert info.value.error.message == "the warehouse was stopped"
    assert len(engine.sources) == 1 and decode_reply(
        PingReply, server._answer(Action.PING, b"")).served == 0
    assert run(client, task("SELECT n"), Call("y")).manifest.total_row_count == 5


def test_an_empty_result_still_carries_its_schema(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    _, engine, client, _ = lane
    engine.sources.append(FakeSource(0, 5))
    result = run(client, task("SELECT n"), Call("x"))
    assert result.schema.names == ["n"] and result.manifest.total_row_count == 0


def test_hanging_up_mid_stream_leaves_the_engine_and_frees_the_slot(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    server, engine, client, _ = lane
    call = Call("x")
    started = threading.Event()

    def wait(i: int) -> None:  # the statement runs until the gateway hangs up
        started.set()
        for _ in range(200):
            if call.cancelled:
                return
            threading.Event().wait(0.01)

    engine.sources.append(slow := FakeSource(100, 50_000, wait))

    async def hang_up_once_started() -> None:
        run_it = asyncio.ensure_future(client.run(task("SELECT n"), call))
        while not started.is_set():
            await asyncio.sleep(0.01)
        call.hang_up()
        with pytest.raises(StatementFailed) as info:
            await run_it
        assert info.value.error.error_code == "CANCELLED"

    _LOOP.run_until_complete(hang_up_once_started())
    for _ in range(500):  # the worker notices at its next write
        if slow.left and _running(server) == 0:
            break
        threading.Event().wait(0.01)
    assert slow.left and _running(server) == 0 and slow.produced < 100
    engine.sources.append(FakeSource(1, 5))  # and the worker goes on serving
    assert run(client, task("SELECT n"), Call("y")).manifest.total_row_count == 5


def test_a_malformed_frame_closes_only_its_connection(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    import socket

    from sqlgate.protocol import FRAME_HEADER, Frame

    _, engine, client, path = lane
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(path)
        raw.sendall(FRAME_HEADER.pack(Frame.BATCH, 3) + b"abc")  # not a TASK
        raw.settimeout(10)
        assert raw.recv(1) == b""  # closed without an answer
    with socket.socket(socket.AF_UNIX) as raw:
        raw.connect(path)
        raw.sendall(FRAME_HEADER.pack(Frame.TASK, 5) + b"{oops")  # a task that is not JSON
        raw.settimeout(10)
        head = raw.recv(FRAME_HEADER.size, socket.MSG_WAITALL)
        kind, length = FRAME_HEADER.unpack(head)
        body = raw.recv(length, socket.MSG_WAITALL)
        assert kind == Frame.ERROR and b"malformed task" in body
    engine.sources.append(FakeSource(1, 5))
    assert run(client, task("SELECT n"), Call("x")).manifest.total_row_count == 5


def test_a_connection_past_the_cap_is_refused_with_an_answer(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    import socket

    from sqlgate.protocol import FRAME_HEADER, Frame

    _, _, _, path = lane
    held = [socket.socket(socket.AF_UNIX) for _ in range(4)]  # the lane's cap is 4
    try:
        for raw in held:
            raw.connect(path)
        with socket.socket(socket.AF_UNIX) as extra:
            extra.connect(path)
            extra.settimeout(10)
            kind, length = FRAME_HEADER.unpack(extra.recv(FRAME_HEADER.size, socket.MSG_WAITALL))
            body = extra.recv(length, socket.MSG_WAITALL)
            assert kind == Frame.ERROR and b"RESOURCE_EXHAUSTED" in body
    finally:
        for raw in held:
            raw.close()


def test_killing_a_worker_closes_its_idle_connections(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    _, engine, client, _ = lane
    engine.sources.append(FakeSource(1, 5))
    run(client, task("SELECT n"), Call("x"))
    assert client._lane is not None and len(client._lane._idle) == 1
    (_, (_, writer)), = client._lane._idle
    assert not writer.transport.is_closing()
    client.kill()  # no local process here: only the connections to let go
    assert client._lane._idle == []
    _LOOP.run_until_complete(asyncio.sleep(0))  # the close runs on the connection's loop
    assert writer.transport.is_closing()


def test_a_worker_whose_socket_is_gone_is_unreachable(
    lane: tuple[WorkerServer, FakeEngine, FlightWorker, str],
) -> None:
    from gateway.pool.provider import WorkerUnreachable

    _, _, client, path = lane
    Path(path).unlink()
    with pytest.raises(WorkerUnreachable) as info:
        run(client, task("SELECT n"), Call("x"))
    assert info.value.error.error_code == "ABORTED" and "refused" in info.value.error.message
