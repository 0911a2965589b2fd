"""The template process workers are forked from, and the forked workers as processes.

Starting a worker as a new Python process pays ~1-3 s of imports (pyarrow, duckdb,
deltalake, sqlglot) on every cold start. Instead the provider keeps one template process
(``python -m engine.worker.process --template``) that did the imports once and forks a
worker per request: the cold start becomes a fork plus an Engine. The template reports each
child's exit status, so a killed worker's cause ("exited with signal 9") is still known.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from gateway.pool.provider import WorkerStartFailed

_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class ForkedProcess:
    """A worker forked by the template: the subset of Popen that FlightWorker uses."""

    def __init__(self, pid: int, template: Template):
        self.pid = pid
        self._template = template

    @property
    def returncode(self) -> int | None:
        return self._template.exits.get(self.pid)

    def poll(self) -> int | None:
        return self.returncode

    def exited_at(self) -> float | None:
        """When (time.monotonic) the template reported this worker's exit; None if alive."""
        return self._template.exit_times.get(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        with self._template.cond:
            if not self._template.cond.wait_for(
                lambda: self.pid in self._template.exits or self._template.gone, timeout
            ):
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
        return self.returncode if self.returncode is not None else -signal.SIGKILL

    def _signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


class Template:
    """The template process (engine.worker.process --template) and the reader of its reports."""

    def __init__(self, timeout: float):
        self.cond = threading.Condition()
        self.exits: dict[int, int] = {}
        self.exit_times: dict[int, float] = {}
        self.spawned: dict[str, tuple[int, str | None]] = {}
        # forked workers not yet reported as exited
        self.children: set[int] = set()
        self.gone = False
        self._ready = False
        self._write_lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.worker.process", "--template"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env(), text=True,
        )
        threading.Thread(target=self._read, daemon=True, name="worker-template").start()
        with self.cond:
            if not self.cond.wait_for(lambda: self._ready or self.gone, timeout):
                self.close()
                raise WorkerStartFailed(f"worker template not ready within {timeout} s")
        if self.gone:
            raise WorkerStartFailed("worker template process exited while starting")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, *rest = line.split()
            with self.cond:
                if kind == "ready":
                    self._ready = True
                elif kind == "exit":
                    self.exits[int(rest[0])] = int(rest[1])
                    self.exit_times[int(rest[0])] = time.monotonic()
                    self.children.discard(int(rest[0]))
                elif kind == "spawned":
                    self.spawned[rest[0]] = (int(rest[1]), rest[2])
                    self.children.add(int(rest[1]))
                elif kind == "failed":
                    self.spawned[rest[0]] = (int(rest[1]), None)
                self.cond.notify_all()
        with self.cond:
            # Nobody reports these workers' exits now. They would end within a second (each
            # watches its parent), but the pool must know at once, not by missed heartbeats:
            # end them now and record it.
            for pid in self.children:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                self.exits[pid] = -signal.SIGKILL
                self.exit_times[pid] = time.monotonic()
            self.children.clear()
            self.gone = True
            self.cond.notify_all()

    def spawn(self, request_id: str, config: str, listen: str, timeout: float,
              stream: str | None = None) -> tuple[int, str]:
        line = json.dumps({"id": request_id, "config": config, "listen": listen,
                           "stream": stream}) + "\n"
        assert self.proc.stdin is not None
        try:
            with self._write_lock:
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
        except OSError as exc:
            raise WorkerStartFailed(f"worker template is gone: {exc}") from exc
        with self.cond:
            self.cond.wait_for(lambda: request_id in self.spawned or self.gone, timeout)
            pid, location = self.spawned.pop(request_id, (0, None))
        if location is None:
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            raise WorkerStartFailed(f"forked worker {pid or '?'} was not ready within {timeout} s")
        return pid, location

    def close(self) -> None:
        """Close its stdin (it kills its workers and exits), then make sure it is gone."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def child_env() -> dict[str, str]:
    """The environment of a worker or template process started by the gateway."""
    # The worker gets its settings from the config file only: SQLGATE_* variables would
    # otherwise override what the gateway was built with.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQLGATE_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PROJECT_ROOT + (os.pathsep + path if path else "")
    return env


__all__ = ["ForkedProcess", "Template", "child_env"]
