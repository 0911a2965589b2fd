"""gateway.core.store: the same contract for SQLite and a real PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.core.store import (
    CachedRecord,
    HistoryFilter,
    HistoryRecord,
    SessionRecord,
    StatementRecord,
    StateStore,
    default_state_url,
)
from gateway.core.stores import open_state_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_state_store(url)
    try:
        yield s
    finally:
        s.close()


def _stmt(sid: str, state: str = "RUNNING", owner: str = "gw1", **kw: object) -> StatementRecord:
    fields: dict[str, object] = {"workspace": "ws", "owner": owner, "state": state,
                                 "task": json.dumps({"sql": "SELECT 1"}), "submitted_at": 100.0}
    fields.update(kw)
    return StatementRecord(statement_id=sid, **fields)  # type: ignore[arg-type]


def _hist(sid: str, start: float, **kw: object) -> HistoryRecord:
    fields: dict[str, object] = {"workspace": "ws", "user_name": "alice", "user_id": 7,
                                 "warehouse_id": "wh1",
                                 "status": "FINISHED", "statement_text": "SELECT 1",
                                 "statement_type": "SELECT", "start_time": start}
    fields.update(kw)
    return HistoryRecord(statement_id=sid, **fields)  # type: ignore[arg-type]


def test_statement_round_trip_keeps_bytes_and_replaces(store: StateStore) -> None:
    store.put_statements([_stmt("a"), _stmt("b")])
    assert store.get_statement("a") == _stmt("a")
    done = _stmt("a", "SUCCEEDED", ended_at=101.5, manifest='{"m": 1}',
                 result=b"\x00\xffarrow", info='{"lane": "short"}')
    store.put_statements([done])
    assert store.get_statement("a") == done
    assert store.get_statement("missing") is None


def test_cancel_request_survives_a_replace_and_only_for_active(store: StateStore) -> None:
    store.put_statements([_stmt("a"), _stmt("b", owner="gw2"), _stmt("c", "SUCCEEDED")])
    assert store.request_cancel("a") is True
    assert store.request_cancel("c") is False
    assert store.request_cancel("nope") is False
    store.put_statements([_stmt("a")])  # the owner's write-behind must not undo the request
    assert store.cancel_requests("gw1") == [("a", False)]
    assert store.cancel_requests("gw2") == []
    store.put_statements([_stmt("a", "CANCELED", ended_at=102.0)])
    store.clear_requests(["a"])
    assert store.cancel_requests("gw1") == []


def test_close_from_another_gateway(store: StateStore) -> None:
    store.put_statements([_stmt("done", "SUCCEEDED", ended_at=1.0, manifest="m", result=b"r"),
                          _stmt("busy"), _stmt("failed", "FAILED", ended_at=1.0)])
    before = store.request_close("done")
    assert before is not None and (before.state, before.manifest) == ("SUCCEEDED", "m")
    after = store.get_statement("done")
    assert after is not None and (after.state, after.result) == ("CLOSED", None)
    store.request_close("busy")
    busy = store.get_statement("busy")
    assert busy is not None and busy.state == "RUNNING"
    failed = store.request_close("failed")
    assert failed is not None and failed.state == "FAILED"
    assert store.request_close("nope") is None
    assert sorted(store.cancel_requests("gw1")) == [("busy", True), ("done", True)]


def test_fail_statements_of_dead_owners_and_their_history(store: StateStore) -> None:
    store.put_statements([_stmt("a"), _stmt("b", "PENDING"), _stmt("c", owner="gw2"),
                          _stmt("d", "SUCCEEDED", ended_at=101.0)])
    store.put_history([_hist("a", 100.0, status="RUNNING")])
    err = json.dumps({"error_code": "ABORTED", "message": "gateway restarted"})
    assert sorted(store.fail_statements(["gw1"], err, 200.0)) == ["a", "b"]
    a = store.get_statement("a")
    assert a is not None and (a.state, a.ended_at, a.error) == ("FAILED", 200.0, err)
    assert [s.statement_id for s in store.active_statements()] == ["c"]
    assert store.active_statements(["gw1"]) == []
    (row,) = store.list_history(HistoryFilter("ws"))
    assert (row.status, row.end_time, row.error_message) == ("FAILED", 200.0, "gateway restarted")


def test_retention_closes_results_then_forgets(store: StateStore) -> None:
    store.put_statements([
        _stmt("old", "SUCCEEDED", ended_at=10.0, manifest="m", result=b"r"),
        _stmt("new", "SUCCEEDED", ended_at=50.0, result=b"r"),
        _stmt("failed", "FAILED", ended_at=10.0), _stmt("running"),
    ])
    closed = store.close_results(ended_before=20.0)
    assert [(r.statement_id, r.manifest) for r in closed] == [("old", "m")]
    old = store.get_statement("old")
    assert old is not None and (old.state, old.result) == ("CLOSED", None)
    gone = store.delete_statements(ended_before=20.0)
    assert sorted(r.statement_id for r in gone) == ["failed", "old"]
    assert store.get_statement("running") is not None
    assert store.get_statement("new") is not None


def test_history_filters_and_keyset_paging(store: StateStore) -> None:
    rows = [_hist(f"q{i:02d}", 1000.0 + i // 2, user_name="alice" if i % 3 else "bob",
                  status="FAILED" if i == 7 else "FINISHED") for i in range(20)]
    rows.append(_hist("other", 1005.0, workspace="ws2"))
    store.put_history(rows)
    everything = store.list_history(HistoryFilter("ws", limit=100))
    assert len(everything) == 20
    assert [r.start_time for r in everything] == sorted((r.start_time for r in everything),
                                                        reverse=True)
    pages: list[str] = []
    after = None
    while True:
        page = store.list_history(HistoryFilter("ws", after=after, limit=6))
        pages += [r.statement_id for r in page]
        if len(page) < 6:
            break
        after = (page[-1].start_time, page[-1].statement_id)
    assert pages == [r.statement_id for r in everything]
    bob = store.list_history(HistoryFilter("ws", user_names=("bob",)))
    assert {r.user_name for r in bob} == {"bob"} and len(bob) == 7
    assert [r.statement_id for r in store.list_history(
        HistoryFilter("ws", statuses=("FAILED",)))] == ["q07"]
    assert len(store.list_history(HistoryFilter("ws", user_ids=(7, 8)))) == 20
    window = store.list_history(HistoryFilter("ws", start_from=1002.0, start_until=1003.0))
    assert sorted(r.statement_id for r in window) == ["q04", "q05", "q06", "q07"]
    assert [r.statement_id for r in store.list_history(HistoryFilter("ws2"))] == ["other"]
    assert store.delete_history(started_before=1005.0) == 10


def test_sessions_keys_and_gateways(store: StateStore) -> None:
    rec = SessionRecord("s1", "ws", "alice", '{"use_cached_result": "false"}', 1.0, 2.0)
    store.put_session(rec)
    assert store.get_session("s1") == rec
    assert store.delete_session("s1") is True
    assert store.get_session("s1") is None and store.delete_session("s1") is False
    store.put_session(SessionRecord("old", "ws", "a", "{}", 1.0, 5.0))
    store.put_session(SessionRecord("new", "ws", "a", "{}", 1.0, 50.0))
    assert store.delete_sessions(updated_before=10.0) == 1
    assert store.get_session("old") is None and store.get_session("new") is not None
    assert store.key("signing_secret", "first") == "first"
    assert store.key("signing_secret", "second") == "first"
    store.heartbeat("gw1", "http://127.0.0.1:1", 10.0)
    store.heartbeat("gw1", "http://127.0.0.1:2", 11.0)
    assert store.gateways() == {"gw1": ("http://127.0.0.1:2", 11.0)}
    store.forget_gateway("gw1")
    assert store.gateways() == {}


def test_shared_cache_entries_bounded_in_bytes_oldest_out(store: StateStore) -> None:
    for n in range(4):
        store.put_cached(CachedRecord(f"k{n}", "[]", "{}", 100, float(n), b"x" * 100), 250)
    assert [store.get_cached(f"k{n}") is not None for n in range(4)] == [False, False, True, True]
    got = store.get_cached("k3")
    assert got is not None and got.result == b"x" * 100 and got.created_at == 3.0
    store.delete_cached(["k3", "nope"])
    assert store.get_cached("k3") is None and store.get_cached("k2") is not None


def test_concurrent_key_creation_agrees(store: StateStore) -> None:
    seen: list[str] = []
    threads = [threading.Thread(target=lambda i=i: seen.append(store.key("k", f"v{i}")))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1


def test_a_second_process_sees_the_same_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x' / 'state.db'}"
    one, two = open_state_store(url), open_state_store(url)
    one.put_statements([_stmt("a")])
    assert two.get_statement("a") == _stmt("a")
    assert (tmp_path / "x" / "state.db").is_file()


def test_default_url_sits_beside_the_result_directory(tmp_path: Path) -> None:
    assert default_state_url(str(tmp_path / "results")) == f"sqlite:///{tmp_path}/state.db"
    assert default_state_url("s3://b/p") == ""
