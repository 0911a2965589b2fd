"""The Ray actor's raylet watch (engine/worker/actor.py), without Ray: a worker process ends
itself once the process it watches (its raylet) is gone, a zombie included."""

from __future__ import annotations

import subprocess
import sys
import time

from engine.worker.actor import RAYLET_LOST_EXIT, _gone


def test_the_watched_process_ending_ends_the_worker() -> None:
    raylet = subprocess.Popen(["sleep", "60"])
    try:
        watcher = subprocess.Popen([sys.executable, "-c", (
            "from engine.worker.actor import _watch_raylet; print('watching', flush=True); "
            f"_watch_raylet({raylet.pid}, 0.05)")], stdout=subprocess.PIPE, text=True)
        assert watcher.stdout is not None
        assert watcher.stdout.readline() == "watching\n"
        time.sleep(0.3)
        assert watcher.poll() is None, "it keeps running while the raylet does"
        assert not _gone(raylet.pid)
        raylet.kill()
        began = time.monotonic()
        # Not reaped (no wait() yet): the raylet is a zombie, and that counts as gone.
        while not _gone(raylet.pid):
            assert time.monotonic() - began < 20, "a killed, unreaped process is not gone"
            time.sleep(0.01)
        # A 0.05 s check: generous bounds, the machine may be loaded by others.
        assert watcher.wait(timeout=30) == RAYLET_LOST_EXIT
        assert time.monotonic() - began < 20
    finally:
        raylet.kill()
        raylet.wait()


def test_a_pid_that_never_existed_is_gone() -> None:
    assert _gone(2**22 + 12345)  # above the kernel's pid_max
