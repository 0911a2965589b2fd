"""Run a command inside a private network and PID namespace (root only).

Ray binds its control ports to every interface (even with ``--node-ip-address=127.0.0.1``)
and Sail's cluster mode opens ports it is not told to, so whatever starts either runs in
``unshare --net --pid --fork --mount-proc --kill-child`` with only ``lo`` up: nothing it
opens is reachable from outside, and when the namespace's first process ends, the kernel
ends every process started in it (the Ray daemons included). A run that overruns its time
is ended the same way: by killing the ``unshare`` process we started, by its PID.

    from bench import netns
    if netns.reason() is None:                       # root, unshare and ip are there
        done = netns.run(["python", "-m", "bench.scale"], timeout=600)
    netns.inside()                                   # True in every process of such a run

`bench.raycluster` and `bench.sail` refuse to start a cluster unless `inside()`; the tests
(tests/fixtures/netns.py) run their cluster modules through `run` too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Set for every process of a namespaced run, so its code knows it may start clusters.
MARK = "SQLGATE_IN_NETNS"
_UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount-proc", "--kill-child"]
_LO_UP = 'ip link set lo up && exec "$@"'


def reason() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run([*_UNSHARE, "sh", "-c", "ip link set lo up"],
                           capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        return f"unshare failed: {probe.stderr.decode(errors='replace').strip()}"
    return None


def inside() -> bool:
    """Whether this process runs inside a namespace made by `run` or `call`."""
    return os.environ.get(MARK) == "1"


def _argv(argv: Sequence[str]) -> list[str]:
    return [*_UNSHARE, "sh", "-c", _LO_UP, "netns", *argv]


def run(argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `argv` as the first process of a fresh namespace; its output as text.

    On timeout the namespace is ended (SIGKILL to our ``unshare``, which takes its whole
    PID namespace with it) and the output so far is returned with return code -9.
    """
    full_env = {**os.environ, **(env or {}), MARK: "1"}
    proc = subprocess.Popen(_argv(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=full_env, cwd=str(cwd or ROOT),
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        out = (out or "") + f"\n[netns] killed after {timeout:g} s\n"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, None)


def call(argv: Sequence[str], *, cwd: str | Path | None = None) -> int:
    """Run `argv` in a fresh namespace with this terminal's output; its exit code.

    For commands a person watches (``sqlgate bench scale``): nothing is captured.
    """
    if (why := reason()) is not None:
        raise RuntimeError(f"cannot make a network namespace: {why}")
    done = subprocess.run(_argv(argv), env={**os.environ, MARK: "1"}, cwd=str(cwd or ROOT),
                          check=False)
    return done.returncode


__all__ = ["MARK", "ROOT", "call", "inside", "reason", "run"]
