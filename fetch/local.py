"""The embedded result store: a local directory, served by the gateway under signed URLs.

A link is ``{public_url}/_results/{key}?expires={unix}&sig={hex}`` where ``sig`` is
HMAC-SHA256 over ``key`` and ``expires`` with `FetchSettings.signing_secret`. The gateway route
(`gateway.rest.links`) calls `LocalStore.open_signed`, which refuses a tampered, expired or unknown
link with `LinkRefused` (403 PERMISSION_DENIED) before any byte is read.

>>> import tempfile
>>> store = LocalStore(FetchSettings(results=tempfile.mkdtemp(), signing_secret="s"))
>>> store.put("ws/20240501/s1-ab/0.json", b"[]")
>>> link = store.link("ws/20240501/s1-ab/0.json")
>>> link.url.startswith("http://127.0.0.1:8000/_results/ws/20240501/s1-ab/0.json?expires=")
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

import pyarrow as pa

from fetch.errors import InvalidKey, LinkRefused, ObjectNotFound, StoreIOError
from fetch.store import Link, ResultStore, check_key
from sqlgate.settings import FetchSettings

_TMP = ".tmp-"
# Write-buffer of a chunk file: gathers small writes, lets large buffers pass unbuffered.
_WRITE_BUFFER = 1024 * 1024


class LocalStore(ResultStore):
    """Result chunks as files under one directory."""

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(settings)
        self.root = Path(settings.results).expanduser().resolve()
        # Settings.load always fills the secret; a bare FetchSettings() gets a per-store one.
        self._secret = (settings.signing_secret or secrets.token_hex(32)).encode("utf-8")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreIOError(f"cannot create result directory {self.root}: {exc}") from exc

    def path(self, key: str) -> Path:
        """The file that holds `key`."""
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Write atomically (temp file + rename) so a reader never sees half a chunk."""
        self.put_stream(key, lambda sink: sink.write(data))

    def put_stream(self, key: str, fill: Callable[[pa.NativeFile], None]) -> int:
        """Let `fill` write straight into a temp file, then rename it into place.

        No copy of the chunk is ever held in memory: an Arrow IPC writer handed this sink
        writes each batch's buffers from DuckDB's memory to the page cache.
        """
        target = self.path(key)
        tmp = target.with_name(f"{_TMP}{secrets.token_hex(8)}-{target.name}")
        for attempt in range(3):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                # Large buffers go straight through; the IPC writer's many small metadata
                # and padding writes are gathered into few syscalls.
                with (pa.OSFile(str(tmp), "wb") as raw,
                      pa.BufferedOutputStream(raw, _WRITE_BUFFER) as sink):
                    fill(sink)
                # (not raw.tell(): a compressing fill closes the sinks beneath it)
                size = tmp.stat().st_size
                os.replace(tmp, target)
                return size
            except FileNotFoundError as exc:
                # A concurrent sweep removed the fresh, still-empty directory: make it again.
                tmp.unlink(missing_ok=True)
                if attempt == 2:
                    raise StoreIOError(f"cannot write result chunk: {exc}") from exc
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise StoreIOError(f"cannot write result chunk: {exc}") from exc
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def get(self, key: str) -> bytes:
        """The bytes of `key`."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no result object {key!r}") from exc
        except OSError as exc:
            raise StoreIOError(f"cannot read result chunk: {exc}") from exc

    def copy(self, src: str, dst: str) -> None:
        """A hard link (chunks are never modified in place), stamped now so the age sweep
        counts from the copy; an atomic copy through memory where links cannot be made."""
        source, target = self.path(src), self.path(dst)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except FileNotFoundError:
                raise
            except OSError:
                self.put(dst, self.get(src))
            os.utime(target)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no result object {src!r}") from exc
        except OSError as exc:
            raise StoreIOError(f"cannot copy result chunk: {exc}") from exc

    def link(self, key: str, ttl_s: int | None = None) -> Link:
        """A signed URL to the gateway's `/_results/` route, valid for `ttl_s` seconds."""
        check_key(key)
        expires = int(time.time()) + self._ttl(ttl_s)
        query = urlencode({"expires": expires, "sig": self.signature(key, expires)})
        base = self.settings.public_url.rstrip("/")
        return Link(
            url=f"{base}/_results/{quote(key)}?{query}",
            expiration=dt.datetime.fromtimestamp(expires, dt.UTC),
        )

    def signature(self, key: str, expires: int) -> str:
        """HMAC-SHA256 (hex) binding a key to its expiry."""
        msg = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def open_signed(self, key: str, expires: str | int | None, sig: str | None) -> Path:
        """The file behind a signed link, after checking signature, expiry and existence."""
        try:
            when = int(str(expires))
            check_key(key)
        except (TypeError, ValueError, InvalidKey) as exc:
            # A forged path is a refused link (403), never a hint about what exists.
            raise LinkRefused("the result link is malformed") from exc
        if not sig or not hmac.compare_digest(self.signature(key, when), str(sig)):
            raise LinkRefused("the result link signature is invalid")
        if when <= int(time.time()):
            raise LinkRefused("the result link has expired; fetch the chunk again for a new one")
        target = self.path(key)
        if not target.is_file():
            raise LinkRefused("the result no longer exists")
        return target

    def list_keys(self, prefix: str = "") -> list[str]:
        """Every stored key starting with `prefix`, sorted."""
        base = self.root
        if "/" in prefix:
            base = self.root / check_key(prefix.rsplit("/", 1)[0])
        if not base.is_dir():
            return []
        keys = []
        # os.walk, not Path.rglob: a folder deleted by a concurrent close or sweep while we walk
        # is skipped (walk ignores listing errors), where rglob raises FileNotFoundError.
        for folder, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(_TMP):
                    continue
                key = (Path(folder) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` and the directories it leaves empty."""
        check_key(prefix, prefix=True)
        count = 0
        for key in self.list_keys(prefix):
            try:
                self.path(key).unlink()
                count += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreIOError(f"cannot delete result chunk: {exc}") from exc
        self._prune_up(self.root / prefix.rstrip("/") if prefix.endswith("/") else
                       (self.root / prefix).parent)
        return count

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Delete files (temp files of crashed writers included) older than result_ttl_s."""
        cutoff = self._cutoff(now).timestamp()
        count = 0
        # One bottom-up os.walk (see list_keys: a folder a concurrent close deletes mid-walk is
        # skipped): a folder's old files go, then the folder itself if that left it empty,
        # after its subfolders, so a statement dir, then its day dir, can go in one pass.
        for folder, _dirs, files in os.walk(self.root, topdown=False):
            for name in files:
                path = Path(folder) / name
                try:
                    info = path.stat()
                    if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                        path.unlink()
                        count += 1
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise StoreIOError(f"cannot sweep result store: {exc}") from exc
            if folder != str(self.root):
                # not empty, or a concurrent writer just created something in it
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
        return count

    def _prune_up(self, directory: Path) -> None:
        # The statement dir, then its day and workspace dirs, while they are empty.
        while directory != self.root and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent
