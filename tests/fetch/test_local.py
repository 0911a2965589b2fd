"""The local store: atomic puts, signed links (tampered/expired refused), delete, sweep."""

from __future__ import annotations

import datetime as dt
import os
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from fetch import InvalidKey, LinkRefused, LocalStore, ObjectNotFound, open_store, result_prefix
from sqlgate.settings import FetchSettings


def parts(url: str) -> tuple[str, str, str]:
    split = urlsplit(url)
    query = parse_qs(split.query)
    return unquote(split.path.removeprefix("/_results/")), query["expires"][0], query["sig"][0]


def test_open_store_picks_local_for_a_directory(local_settings: FetchSettings) -> None:
    assert isinstance(open_store(local_settings), LocalStore)


def test_put_get_and_signed_link_roundtrip(local_store: LocalStore) -> None:
    key = result_prefix("ws1", "stmt1") + "0.arrow"
    local_store.put(key, b"payload")
    assert local_store.get(key) == b"payload"
    link = local_store.link(key, ttl_s=60)
    assert link.url.startswith("http://127.0.0.1:8000/_results/ws1/")
    assert link.headers == {}
    assert dt.timedelta(seconds=55) < link.expiration - dt.datetime.now(dt.UTC) <= dt.timedelta(
        seconds=61)
    assert link.expiration_text().endswith("Z")
    path = local_store.open_signed(*parts(link.url))
    assert path.read_bytes() == b"payload"


def test_tampered_links_are_refused(local_store: LocalStore) -> None:
    key = result_prefix("ws1", "stmt1") + "0.json"
    other = result_prefix("ws1", "stmt2") + "0.json"
    local_store.put(key, b"[]")
    local_store.put(other, b"[]")
    k, expires, sig = parts(local_store.link(key).url)
    for bad in [
        (other, expires, sig),                      # another object, same signature
        (k, str(int(expires) + 3600), sig),        # a later expiry
        (k, expires, sig[:-1] + ("0" if sig[-1] != "0" else "1")),
        (k, expires, ""),
        (k, "soon", sig),
        (k, None, None),
        ("../" + k, expires, sig),
    ]:
        with pytest.raises(LinkRefused):
            local_store.open_signed(*bad)


def test_expired_and_unknown_links_are_refused(local_store: LocalStore) -> None:
    key = result_prefix("ws1", "stmt1") + "0.json"
    local_store.put(key, b"[]")
    past = int(time.time()) - 1
    with pytest.raises(LinkRefused, match="expired"):
        local_store.open_signed(key, past, local_store.signature(key, past))
    gone = local_store.link(key)
    local_store.delete_prefix(key.rsplit("/", 1)[0] + "/")
    with pytest.raises(LinkRefused):
        local_store.open_signed(*parts(gone.url))


def test_another_secret_signs_differently(local_settings: FetchSettings) -> None:
    key = "ws/20240101/s-1/0.json"
    one = LocalStore(local_settings)
    two = LocalStore(FetchSettings(results=local_settings.results, signing_secret="other"))
    one.put(key, b"x")
    with pytest.raises(LinkRefused):
        two.open_signed(*parts(one.link(key).url))


def test_keys_cannot_escape_the_store(local_store: LocalStore) -> None:
    for bad in ["", "/etc/passwd", "a/../../b", "a//b", "a/./b", "a/b c"]:
        with pytest.raises(InvalidKey):
            local_store.put(bad, b"x")
    with pytest.raises(InvalidKey):
        result_prefix("ws/evil", "s1")
    with pytest.raises(ObjectNotFound):
        local_store.get("ws/none/0.json")


def test_copy_links_the_chunk_stamped_now(local_store: LocalStore) -> None:
    src, dst = result_prefix("ws", "s1") + "0.arrow", result_prefix("ws", "s2") + "0.arrow"
    local_store.put(src, b"chunk")
    old = time.time() - 7200
    os.utime(local_store.path(src), (old, old))
    local_store.copy(src, dst)
    assert local_store.path(dst).stat().st_mtime > old + 3600  # the age sweep counts anew
    local_store.delete_prefix(src.rsplit("/", 1)[0] + "/")
    assert local_store.get(dst) == b"chunk"
    with pytest.raises(ObjectNotFound):
        local_store.copy(src, result_prefix("ws", "s3") + "0.arrow")


def test_delete_prefix_removes_only_that_statement(local_store: LocalStore) -> None:
    a = result_prefix("ws", "a")
    b = result_prefix("ws", "b")
    for i in range(3):
        local_store.put(f"{a}{i}.csv", b"x")
    local_store.put(f"{b}0.csv", b"y")
    assert local_store.delete_prefix(a) == 3
    assert local_store.list_keys("ws/") == [f"{b}0.csv"]
    assert not (local_store.root / a).exists()
    assert local_store.delete_prefix(a) == 0


def test_sweep_removes_old_results_and_orphans(local_store: LocalStore) -> None:
    old = result_prefix("ws", "old") + "0.arrow"
    new = result_prefix("ws", "new") + "0.arrow"
    local_store.put(old, b"x")
    local_store.put(new, b"y")
    orphan_tmp = local_store.path(old).with_name(".tmp-crashed-1.arrow")
    orphan_tmp.write_bytes(b"half")
    two_hours_ago = time.time() - 7200
    os.utime(local_store.path(old), (two_hours_ago, two_hours_ago))
    os.utime(orphan_tmp, (two_hours_ago, two_hours_ago))
    # a store opened after a "restart" finds them without any bookkeeping
    fresh = LocalStore(local_store.settings)
    assert fresh.sweep() == 2
    assert fresh.list_keys() == [new]
    assert not local_store.path(old).parent.exists()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert fresh.sweep(now=later) == 1
    assert fresh.list_keys() == []


def test_put_stream_writes_in_place_and_a_failed_fill_leaves_nothing(
    local_store: LocalStore,
) -> None:
    import pyarrow as pa

    prefix = result_prefix("ws1", "stmt4")
    size = local_store.put_stream(prefix + "0.csv", lambda sink: sink.write(b"x" * 3_000_000))
    assert size == 3_000_000
    assert local_store.get(prefix + "0.csv") == b"x" * 3_000_000

    def broken(sink: pa.NativeFile) -> None:
        sink.write(b"half a chunk")
        raise RuntimeError("producer failed")

    with pytest.raises(RuntimeError):
        local_store.put_stream(prefix + "1.csv", broken)
    # neither the object nor its temp file: a reader never sees half a chunk
    assert local_store.list_keys(prefix) == [prefix + "0.csv"]
    assert sorted(p.name for p in (local_store.root / prefix).iterdir()) == ["0.csv"]


def test_sweep_skips_a_folder_deleted_while_it_walks(
    local_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = result_prefix("ws", "closing")
    old = result_prefix("ws", "old") + "0.arrow"
    local_store.put(gone + "0.arrow", b"x")
    local_store.put(old, b"y")
    two_hours_ago = time.time() - 7200
    os.utime(local_store.path(old), (two_hours_ago, two_hours_ago))
    day = (local_store.root / gone).parent
    real_scandir = os.scandir

    class Listed:
        """A scandir result read whole up front, so a deletion after it is not seen."""

        def __init__(self, path: str) -> None:
            with real_scandir(path) as it:
                self.entries = iter(list(it))

        def __enter__(self) -> Listed:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def __iter__(self) -> Listed:
            return self

        def __next__(self) -> os.DirEntry[str]:
            return next(self.entries)

    def scandir(path: str) -> Listed:
        listed = Listed(path)
        if os.path.samefile(path, day):
            # a statement closed concurrently, after its day folder was listed
            local_store.delete_prefix(gone)
        return listed

    monkeypatch.setattr(os, "scandir", scandir)
    assert local_store.sweep() == 1
    monkeypatch.undo()
    assert local_store.list_keys() == []
