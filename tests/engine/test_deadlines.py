"""engine/deadlines: statement time limits on one shared thread."""

from __future__ import annotations

import threading

from engine.deadlines import Deadlines


def test_calls_run_in_deadline_order_and_cancelled_ones_never() -> None:
    deadlines = Deadlines()
    ran: list[str] = []
    done = threading.Event()
    try:
        # Spaced far apart: a test thread descheduled for a while between two calls (a loaded
        # machine) must not change which deadline comes first.
        deadlines.call_later(1.0, lambda: (ran.append("late"), done.set()))
        deadlines.call_later(0.1, ran.append, "early")
        deadlines.call_later(0.5, ran.append, "cancelled").cancel()
        assert done.wait(30.0)
        assert ran == ["early", "late"]
    finally:
        deadlines.close()


def test_an_earlier_deadline_wakes_the_sleeping_thread() -> None:
    deadlines = Deadlines()
    fired = threading.Event()
    try:
        deadlines.call_later(60.0, fired.set)  # the thread now sleeps for a minute
        deadlines.call_later(0.05, fired.set)
        assert fired.wait(30.0)  # long before the minute: the new deadline woke the thread
    finally:
        deadlines.close()


def test_a_failing_callback_does_not_stop_later_ones() -> None:
    deadlines = Deadlines()
    fired = threading.Event()

    def boom() -> None:
        raise RuntimeError("boom")

    try:
        deadlines.call_later(0.01, boom)
        deadlines.call_later(0.05, fired.set)
        assert fired.wait(5.0)
    finally:
        deadlines.close()


def test_close_drops_pending_calls() -> None:
    deadlines = Deadlines()
    fired = threading.Event()
    deadlines.call_later(0.05, fired.set)
    deadlines.close()
    assert not fired.wait(0.3)
    assert len(deadlines) == 0


def test_cancelled_calls_do_not_pile_up() -> None:
    deadlines = Deadlines()
    try:
        deadlines.call_later(3600.0, lambda: None)  # a live one under all the others
        for _ in range(1000):
            deadlines.call_later(3600.0, lambda: None).cancel()
        assert len(deadlines) < 200
    finally:
        deadlines.close()
