"""The pool's sizing policy: when to add a worker, give one back, or stop altogether.

`Autoscaler` only decides; gateway/pool.py carries the decision out (spawn, retire, stop).
It remembers three instants: the last statement activity (for the idle stop), the last
time the pool was busy and the last resize (for the shrink cool-down); and it times the
cold starts that scaling to zero costs (start from STOPPED to the first worker ready).

- Grow (up to max_workers, one start at a time) while a statement has waited
  `_GROW_AFTER_WAIT_S`, at once when no worker exists; and while RUNNING below min_workers.
- Stop after `auto_stop_seconds` with nothing running or queued (0 = never).
- Shrink by one idle worker (never below max(1, min_workers)) only after `scale_cooldown_s`
  both since the last resize and since the pool was last busy, so load spikes never make
  the pool thrash between sizes. Unreserved workers go first.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.pool import placement
from gateway.pool.placement import Member
from sqlgate.settings import PoolSettings

# The pool's logger: the stop it decides on is the pool's event.
log = logging.getLogger("sqlgate.pool")

# A waiting statement older than this asks for another worker (when below max_workers).
_GROW_AFTER_WAIT_S = 0.2


class Load(Protocol):
    """What the policy reads from the scheduler (gateway.pool.scheduler.Scheduler has it)."""

    @property
    def queued(self) -> int: ...

    @property
    def running(self) -> int: ...

    def oldest_wait(self) -> float: ...


@dataclass(frozen=True)
class Decision:
    """What the pool should do this tick: start one worker, stop, or retire one member."""

    spawn: bool = False
    stop: bool = False
    retire: Member | None = None


class Autoscaler:
    """Decides the pool's size from its load; see the module docstring.

    >>> scaler = Autoscaler(settings.pool, time.monotonic)    # doctest: +SKIP
    >>> scaler.decide(now, "RUNNING", members, spawning, scheduler)
    Decision(spawn=False, stop=False, retire=None)
    """

    def __init__(self, ps: PoolSettings, clock: Callable[[], float]) -> None:
        self._ps = ps
        # All three start now: a fresh pool is neither idle nor due a shrink yet.
        self._last_active = self._last_resize = self._last_busy = clock()
        self._cold_since: float | None = None
        self._cold_starts: deque[float] = deque(maxlen=1000)

    def note_active(self, now: float) -> None:
        """A statement arrived or finished: the idle stop counts from `now`."""
        self._last_active = now

    def note_resize(self, now: float) -> None:
        """A worker joined: the shrink cool-down counts from `now`."""
        self._last_resize = now

    def note_cold_start(self, now: float) -> None:
        """The pool left STOPPED: a cold start is timed from `now`."""
        self._cold_since = now

    def note_running(self, now: float) -> None:
        """The first worker is ready: the cold start under way (if any) ends at `now`, and the
        idle stop counts from `now` at the earliest (a start slower than `auto_stop_s`, or a
        start long after the last statement, must not stop the warehouse at once)."""
        self._last_active = max(self._last_active, now)
        if self._cold_since is not None:
            self._cold_starts.append(now - self._cold_since)
            self._cold_since = None

    def metrics(self, now: float) -> dict[str, Any]:
        """The size bounds, cold starts (count, last, p50, max seconds) and seconds idle."""
        cold = sorted(self._cold_starts)
        return {
            "min_workers": self._ps.min_workers,
            "max_workers": self._ps.max_workers,
            "cold_starts": len(cold),
            "cold_start_last_s": self._cold_starts[-1] if cold else 0.0,
            "cold_start_p50_s": cold[len(cold) // 2] if cold else 0.0,
            "cold_start_max_s": cold[-1] if cold else 0.0,
            "idle_s": self.idle_for(now),
        }

    def idle_for(self, now: float) -> float:
        """Seconds since the last statement activity."""
        return now - self._last_active

    def initial_size(self) -> int:
        """Workers to start when the pool leaves STOPPED: min_workers, at least one."""
        return max(1, self._ps.min_workers)

    def replace_lost(self, state: str, members: Sequence[Member], spawning: int,
                     load: Load) -> bool:
        """A worker was lost: start another when none is left (nor starting) while RUNNING
        and statements (or min_workers) want one; otherwise the control loop resizes."""
        wanted = load.queued or load.running or self._ps.min_workers
        return bool(state == "RUNNING" and not members and not spawning and wanted)

    def decide(
        self, now: float, state: str, members: Sequence[Member], spawning: int, load: Load
    ) -> Decision:
        """This tick's decision for a pool in `state` (STARTING or RUNNING).

        `members` are the workers that joined the pool, `spawning` the worker starts
        under way. Choosing a member to retire counts as a resize, so the caller must
        retire it.
        """
        ps = self._ps
        size = len(members) + spawning
        below_min = size < ps.min_workers and state == "RUNNING"
        waiting = (load.queued > 0 and size < ps.max_workers and not spawning
                   and (not members or load.oldest_wait() >= _GROW_AFTER_WAIT_S))
        spawn = below_min or waiting
        auto_stop = ps.auto_stop_seconds
        if (state == "RUNNING" and auto_stop > 0 and not load.running and not load.queued
                and self.idle_for(now) >= auto_stop):
            log.info("warehouse idle for %.1f s: stopping", self.idle_for(now))
            return Decision(spawn=spawn, stop=True)
        # Busy: anything queued, or more running than the pool one worker smaller would
        # run at half its slots.
        calm = load.running <= (len(members) - 1) * ps.worker_concurrency // 2
        if load.queued or not calm:
            self._last_busy = now
        if (len(members) > max(1, ps.min_workers) and not load.queued and calm
                and now - self._last_resize >= ps.scale_cooldown_s
                and now - self._last_busy >= ps.scale_cooldown_s):
            # Give back an unreserved worker first: the reserved one keeps short
            # statements at full priority.
            idle = placement.retire_order(members)
            if idle:
                self._last_resize = now
                return Decision(spawn=spawn, retire=idle[0])
        return Decision(spawn=spawn)


__all__ = ["Autoscaler", "Decision", "Load"]
