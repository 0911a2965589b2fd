"""What `--start-local` starts on 127.0.0.1, always stopped again: gateways as subprocesses.

A gateway is `python -m sqlgate.cli serve ...` in its own session (process group), so
stopping it also stops the worker processes its pool started; nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from bench.clients import Target

_READY_TIMEOUT_S = 120.0
_STOP_GRACE_S = 15.0


class LocalError(RuntimeError):
    """A local service did not start."""


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalGateway:
    """`sqlgate serve` on a free port of 127.0.0.1, with its own token and result store.

    >>> with LocalGateway(lake, workdir, {"fifo": "true"}) as gw:  # doctest: +SKIP
    ...     RestClient(gw.target).run("SELECT 1")
    """

    def __init__(
        self, lake: Path, workdir: Path, settings: Mapping[str, str] | None = None,
        name: str = "gateway",
    ) -> None:
        self.lake = lake
        self.workdir = workdir
        self.name = name
        self.settings = dict(settings or {})
        self.port = free_port()
        self.token = "dapi" + secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_s = 0.0
        self.warehouse_id = "sqlgate0000000001"

    @property
    def target(self) -> Target:
        """Where clients reach this gateway."""
        return Target(self.url, self.token, self.warehouse_id,
                      pgid=self.proc.pid if self.proc else None)

    def command(self) -> list[str]:
        """The command line that starts this gateway."""
        cmd = [
            sys.executable, "-m", "sqlgate.cli", "serve",
            "--lake", str(self.lake), "--port", str(self.port), "--host", "127.0.0.1",
            "--token", self.token, "--results", str(self.workdir / f"{self.name}-results"),
            "--set", f"public_url={self.url}",
        ]
        for key, value in sorted(self.settings.items()):
            cmd += ["--set", f"{key}={value}"]
        return cmd

    def start(self) -> LocalGateway:
        """Start and wait (bounded) until /healthz answers 200."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        # The harness states every setting explicitly; stray SQLGATE_* would skew a run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SQLGATE_")}
        log = self.log_path.open("wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True, cwd=self.workdir,
        )
        log.close()
        deadline = time.monotonic() + _READY_TIMEOUT_S
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise LocalError(f"{self.name} exited with {self.proc.returncode}: "
                                     f"{self._log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/healthz").status_code == 200:
                        self.started_s = time.perf_counter() - started
                        self._discover_warehouse(http)
                        return self
                time.sleep(0.1)
        self.stop()
        raise LocalError(f"{self.name} not healthy within {_READY_TIMEOUT_S}s: {self._log_tail()}")

    def _discover_warehouse(self, http: httpx.Client) -> None:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, IndexError):
            resp = http.get(f"{self.url}/api/2.0/sql/warehouses",
                            headers={"Authorization": f"Bearer {self.token}"})
            if resp.status_code == 200:
                self.warehouse_id = resp.json()["warehouses"][0]["id"]

    def stop(self) -> None:
        """Stop the gateway and its workers: SIGTERM to the group, SIGKILL past the grace."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=_STOP_GRACE_S)
        # Workers may outlive a gateway that exited on its own; the group is ours either way.
        _signal_group(proc.pid, signal.SIGKILL)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)



def group_pids(pgid: int) -> list[int]:
    """Processes of a process group (Linux /proc); empty where /proc is missing."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Field 5 is the pgrp; the command name (field 2) may hold spaces: split after ')'.
            fields = entry.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                pids.append(int(entry.parent.name))
    return sorted(pids)


def reset_peak_rss(pgid: int) -> None:
    """Reset VmHWM (peak RSS) of every process of the group (`5` > clear_refs, Linux 4.0+)."""
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_rss(pgid: int) -> dict[int, int]:
    """pid -> peak RSS bytes (VmHWM) since start or the last `reset_peak_rss`."""
    out = {}
    for pid in group_pids(pgid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[pid] = int(line.split()[1]) * 1024
    return out
