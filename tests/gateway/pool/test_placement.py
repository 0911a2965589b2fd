"""Where statements run: reserved short workers, long scans elsewhere, FIFO as the baseline."""

from __future__ import annotations

from typing import Any

from gateway.pool.placement import Member, join, layout, pick, retire_order, wants_reserved
from gateway.pool.scheduler import Lane
from sqlgate.settings import PoolSettings


class FakeWorker:
    def __init__(self) -> None:
        self.nice: int | None = None

    def lower_priority(self, nice: int) -> bool:
        self.nice = nice
        return True


def grow(ps: PoolSettings, n: int) -> list[Member]:
    members: list[Member] = []
    for i in range(n):
        members.append(join(members, FakeWorker(), ps, float(i)))  # type: ignore[arg-type]
    return members


def busy(member: Member, n: int, long: bool = False) -> None:
    for i in range(n):
        sid = f"{id(member)}-{len(member.calls)}-{i}"
        member.calls[sid] = object()  # type: ignore[assignment]
        if long:
            member.long.add(sid)


def test_one_worker_in_four_is_reserved_and_the_others_are_reniced() -> None:
    ps = PoolSettings(worker_concurrency=4, short_reserved_share=0.25, long_worker_nice=9)
    members = grow(ps, 8)
    assert [m.reserved for m in members] == [True, False, False, False,
                                             False, False, False, True]
    nices: list[Any] = [m.worker.nice for m in members]  # type: ignore[attr-defined]
    assert nices == [None, 9, 9, 9, 9, 9, 9, None]
    assert layout(members, ps) == (32, 24)
    # a pool of one runs everything on its one (reserved) worker: slot reservation only
    assert layout(members[:1], ps) == (4, None)


def test_fifo_and_switched_off_reserve_nothing() -> None:
    for ps in (PoolSettings(fifo=True), PoolSettings(reserve_short_workers=False)):
        members = grow(ps, 2)
        assert not any(m.reserved for m in members)
        assert layout(members, ps) == (2 * ps.worker_concurrency, None)
        assert not wants_reserved(members, ps)
    assert [m.worker.nice for m in grow(PoolSettings(fifo=True), 2)] == [None, None]  # type: ignore[attr-defined]


def test_long_scans_avoid_the_reserved_worker_and_shorts_avoid_long_scans() -> None:
    ps = PoolSettings(worker_concurrency=4)
    reserved, a, b = grow(ps, 3)
    assert reserved.reserved and not a.reserved and not b.reserved
    busy(a, 1, long=True)
    assert pick([reserved, a, b], Lane.LONG, ps) is b
    busy(b, 2, long=True)
    busy(reserved, 3)
    # the reserved worker has the most calls but no long scan: the short one goes there
    assert pick([reserved, a, b], Lane.SHORT, ps) is reserved
    busy(reserved, 1)
    # full: the worker with the fewest long scans
    assert pick([reserved, a, b], Lane.SHORT, ps) is a
    busy(a, 3)
    busy(b, 2)
    # no free slot on these workers (the scheduler never grants more than the slots)
    assert pick([a, b], Lane.LONG, ps) is None


def test_fifo_places_by_load_alone() -> None:
    ps = PoolSettings(fifo=True, worker_concurrency=4)
    a, b = grow(ps, 2)
    busy(a, 1, long=True)
    busy(b, 2)
    assert pick([a, b], Lane.SHORT, ps) is a


def test_unreserved_idle_workers_retire_first() -> None:
    ps = PoolSettings()
    reserved, a, b = grow(ps, 3)
    busy(b, 1)
    assert retire_order([reserved, a, b]) == [a, reserved]
