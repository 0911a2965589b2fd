"""The pool's sizing policy on a fake clock: grow, idle stop, cool-down shrink."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.pool.autoscale import Autoscaler
from gateway.pool.placement import Member, join
from sqlgate.settings import PoolSettings


@dataclass
class FakeLoad:
    queued: int = 0
    running: int = 0
    wait: float = 0.0

    def oldest_wait(self) -> float:
        return self.wait


class FakeWorker:
    def lower_priority(self, nice: int) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def members(ps: PoolSettings, n: int) -> list[Member]:
    out: list[Member] = []
    for i in range(n):
        out.append(join(out, FakeWorker(), ps, float(i)))  # type: ignore[arg-type]
    return out


def test_grows_when_a_statement_waits_past_the_threshold() -> None:
    ps = PoolSettings(min_workers=1, max_workers=3)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 1)
    assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(queued=1, wait=0.05)).spawn
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(queued=1, wait=0.5)).spawn
    # One start at a time, and never past max_workers.
    assert not scaler.decide(clock(), "RUNNING", pool, 1, FakeLoad(queued=1, wait=0.5)).spawn
    full = members(ps, 3)
    assert not scaler.decide(clock(), "RUNNING", full, 0, FakeLoad(queued=1, wait=9)).spawn
    # No worker at all: a queued statement asks for one at once.
    assert scaler.decide(clock(), "STARTING", [], 0, FakeLoad(queued=1)).spawn


def test_grows_to_min_workers_only_while_running() -> None:
    ps = PoolSettings(min_workers=2, max_workers=4)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    assert scaler.initial_size() == 2
    assert scaler.decide(clock(), "RUNNING", members(ps, 1), 0, FakeLoad()).spawn
    assert not scaler.decide(clock(), "STARTING", members(ps, 1), 0, FakeLoad()).spawn
    assert not scaler.decide(clock(), "RUNNING", members(ps, 1), 1, FakeLoad()).spawn
    assert Autoscaler(PoolSettings(min_workers=0), clock).initial_size() == 1


def test_idle_stop_after_auto_stop_seconds() -> None:
    ps = PoolSettings(min_workers=1, auto_stop_s=5.0)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 1)
    clock.now += 4.0
    assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).stop
    scaler.note_active(clock())  # a statement finished: the idle time starts over
    clock.now += 4.9
    assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).stop
    clock.now += 0.2
    assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(running=1)).stop
    assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(queued=1, wait=9)).stop
    assert not scaler.decide(clock(), "STARTING", pool, 0, FakeLoad()).stop
    decision = scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad())
    assert decision.stop and decision.retire is None
    assert scaler.metrics(clock())["idle_s"] == scaler.idle_for(clock())


def test_idle_stop_counts_from_running_not_from_before_the_start() -> None:
    # A start slower than auto_stop_s (a loaded machine), or a start long after the last
    # statement: the warehouse that just became RUNNING is not idle yet.
    ps = PoolSettings(min_workers=1, auto_stop_s=5.0)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 1)
    for starting_s in (8.0, 600.0):
        scaler.note_cold_start(clock())
        clock.now += starting_s
        scaler.note_running(clock())
        assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).stop
        clock.now += 4.9
        assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).stop
        clock.now += 0.2
        assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).stop
    # Activity later than the instant the pool became RUNNING keeps counting from itself.
    scaler.note_active(clock())
    scaler.note_running(clock() - 3.0)
    clock.now += 4.9
    assert not scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).stop


def test_zero_auto_stop_never_stops() -> None:
    ps = PoolSettings(min_workers=1, auto_stop_s=0.0)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    clock.now += 1e6
    assert not scaler.decide(clock(), "RUNNING", members(ps, 1), 0, FakeLoad()).stop


def test_shrinks_one_worker_only_after_the_cool_down() -> None:
    ps = PoolSettings(min_workers=1, max_workers=3, auto_stop_s=0.0, scale_cooldown_s=10.0)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 3)
    clock.now += 9.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire is None
    clock.now += 1.0
    first = scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire
    assert first is pool[-1]  # newest first
    pool.remove(first)
    # Retiring was a resize: the next one waits a whole cool-down again.
    clock.now += 9.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire is None
    clock.now += 1.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire is not None
    # Never below max(1, min_workers).
    clock.now += 100.0
    assert scaler.decide(clock(), "RUNNING", pool[:1], 0, FakeLoad()).retire is None


def test_a_worker_joining_restarts_the_cool_down() -> None:
    ps = PoolSettings(min_workers=1, max_workers=3, auto_stop_s=0.0, scale_cooldown_s=10.0)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 2)
    clock.now += 9.0
    scaler.note_resize(clock())
    clock.now += 5.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire is None
    clock.now += 5.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire is not None


def test_no_shrink_while_busy_and_for_a_cool_down_after() -> None:
    ps = PoolSettings(min_workers=1, max_workers=2, worker_concurrency=4, auto_stop_s=0.0,
                      scale_cooldown_s=10.0)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 2)
    clock.now += 20.0
    # More running than one worker fewer would run at half its slots (2) is busy.
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(running=3)).retire is None
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(queued=1)).retire is None
    clock.now += 9.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(running=2)).retire is None
    clock.now += 1.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(running=2)).retire is not None


def test_reserved_worker_retired_last_and_busy_workers_never() -> None:
    ps = PoolSettings(min_workers=1, max_workers=2, auto_stop_s=0.0, scale_cooldown_s=1.0,
                      short_reserved_share=0.25)
    clock = Clock()
    scaler = Autoscaler(ps, clock)
    pool = members(ps, 2)
    reserved = [m for m in pool if m.reserved]
    assert reserved, "dual mode reserves one worker for short statements"
    clock.now += 2.0
    first = scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad()).retire
    assert first is not None and not first.reserved
    # The unreserved one is busy: the reserved one goes instead (while it is idle).
    first.calls["s1"] = object()  # type: ignore[assignment]
    clock.now += 2.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(running=1)).retire is reserved[0]
    reserved[0].calls["s2"] = object()  # type: ignore[assignment]
    clock.now += 2.0
    assert scaler.decide(clock(), "RUNNING", pool, 0, FakeLoad(running=2)).retire is None


def test_replaces_a_lost_worker_only_when_none_is_left() -> None:
    ps = PoolSettings(min_workers=0)
    scaler = Autoscaler(ps, Clock())
    assert scaler.replace_lost("RUNNING", [], 0, FakeLoad(queued=1))
    assert not scaler.replace_lost("RUNNING", [], 0, FakeLoad())
    assert not scaler.replace_lost("RUNNING", [], 1, FakeLoad(queued=1))
    assert not scaler.replace_lost("STOPPING", [], 0, FakeLoad(running=1))
    assert not scaler.replace_lost("RUNNING", members(ps, 1), 0, FakeLoad(running=1))


def test_cold_starts_are_timed_from_start_to_first_worker() -> None:
    clock = Clock()
    scaler = Autoscaler(PoolSettings(), clock)
    scaler.note_cold_start(clock())
    clock.now += 1.5
    scaler.note_running(clock())
    scaler.note_running(clock())  # no cold start under way: nothing more counted
    figures = scaler.metrics(clock())
    assert figures["cold_starts"] == 1 and figures["cold_start_last_s"] == 1.5
