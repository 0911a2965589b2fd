"""The default worker provider: worker processes on the gateway's own host.

Workers are forked from a template process that already paid for the imports
(`gateway.pool.forkserver`), so a cold start is a fork plus an Engine; with a custom command
(tests swap in a worker with a fake engine) each worker is a new ``python -m sqlgate.cli
worker`` that writes its location to a ready pipe.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from gateway.pool.client import FlightWorker
from gateway.pool.forkserver import ForkedProcess, Template, child_env
from gateway.pool.provider import WorkerStartFailed, describe_exit
from sqlgate.settings import Settings

# sun_path holds 108 bytes on Linux (104 on macOS), its terminating NUL included.
_MAX_SOCKET_PATH = 100


class LocalProcessProvider:
    """Starts workers as child processes of the gateway: ``python -m sqlgate.cli worker``."""

    def __init__(
        self, settings: Settings, host: str = "127.0.0.1", command: Sequence[str] | None = None,
        preload: bool | None = None,
    ):
        self._settings = settings
        self._host = host
        self._count = 0
        # The argv before the worker flags; tests swap in a worker with a fake engine.
        self._command = list(command or [sys.executable, "-m", "sqlgate.cli", "worker"])
        # Fork workers from a template that already paid for the imports (the cold start is
        # then a fork, not a Python start); not with a custom command.
        self._preload = command is None if preload is None else preload
        self._template: Template | None = None
        self._template_lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="sqlgate-workers-")

    def prepare(self) -> None:
        """Start the template ahead of the first worker (blocking; the pool runs it in a thread)."""
        if self._preload:
            self._ensure_template()

    def _ensure_template(self) -> Template:
        with self._template_lock:
            if self._template is None or self._template.gone:
                self._template = Template(self._settings.pool.worker_start_timeout_s)
            return self._template

    def close(self) -> None:
        """Stop the template (its workers die with it) and remove the settings files."""
        with self._template_lock:
            if self._template is not None:
                self._template.close()
                self._template = None
        self._tmp.cleanup()

    def start(self) -> FlightWorker:
        """Start one worker and wait (bounded) until it is ready to run statements."""
        self._count += 1
        name = f"worker-{self._count}"
        timeout = self._settings.pool.worker_start_timeout_s
        if self._preload:
            return self._fork(name, timeout)
        with tempfile.TemporaryDirectory(prefix="sqlgate-worker-") as tmp:
            config = Path(tmp) / "settings.toml"
            config.write_text(settings_toml(self._settings))
            config.chmod(0o600)
            stream = self._stream_path(name)
            read_fd, write_fd = os.pipe()
            try:
                proc = subprocess.Popen(
                    [*self._command,
                     "--listen", f"grpc://{self._host}:0", "--ready-fd", str(write_fd),
                     "--config", str(config), *(["--stream", stream] if stream else [])],
                    pass_fds=(write_fd,), env=child_env(), stdin=subprocess.DEVNULL,
                )
            except OSError as exc:
                os.close(read_fd)
                os.close(write_fd)
                raise WorkerStartFailed(f"could not start a worker process: {exc}") from exc
            os.close(write_fd)
            try:
                location = _read_ready(read_fd, timeout)
            finally:
                os.close(read_fd)
            if location is None:
                cause = None
                if proc.poll() is not None:
                    cause = describe_exit(proc.pid, proc.returncode)
                proc.kill()
                proc.wait()
                raise WorkerStartFailed(
                    cause or f"worker process {proc.pid} was not ready within {timeout} s"
                )
        return FlightWorker(name, location, proc, stream=stream)

    def _fork(self, name: str, timeout: float) -> FlightWorker:
        template = self._ensure_template()
        config = Path(self._tmp.name) / "settings.toml"
        if not config.exists():
            config.write_text(settings_toml(self._settings))
            config.chmod(0o600)
        stream = self._stream_path(name)
        pid, location = template.spawn(name, str(config), f"grpc://{self._host}:0", timeout,
                                       stream=stream)
        return FlightWorker(name, location, ForkedProcess(pid, template), stream=stream)

    def _stream_path(self, name: str) -> str | None:
        """Where worker `name` takes statements (`engine.worker.stream`), in this provider's
        private directory; None (Flight only) when turned off or the path is too long for
        a Unix socket."""
        if not self._settings.pool.worker_stream:
            return None
        path = os.path.join(self._tmp.name, f"{name}.sock")
        return path if len(path.encode()) < _MAX_SOCKET_PATH else None


def _read_ready(fd: int, timeout: float) -> str | None:
    """The location line the worker writes when ready, or None (EOF or timeout)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            return None
        piece = os.read(fd, 4096)
        if not piece:
            return None
        data += piece
        if len(data) > 4096:
            return None
    return data.split(b"\n", 1)[0].decode().strip() or None


def settings_toml(settings: Settings) -> str:
    """Every set field of `settings` as a TOML document the CLI's --config reads back."""
    lines: list[str] = []
    for section in fields(settings):
        lines.append(f"[{section.name}]")
        obj = getattr(settings, section.name)
        for f in fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string with ensure_ascii is a valid TOML basic string.
    return json.dumps(str(value))


__all__ = ["LocalProcessProvider", "settings_toml"]
