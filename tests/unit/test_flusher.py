"""The flusher thread calls each buffer at its deadline, also when a later call asks for an earlier one."""

from __future__ import annotations

import threading
import time

from eco2.adapters.redis_streams.flusher import Flusher


class Recorder:
    def __init__(self, name: str, log: list[tuple[str, float]], done: threading.Event, last: bool) -> None:
        self.name, self.log, self.done, self.last = name, log, done, last

    def flush_due(self) -> None:
        self.log.append((self.name, time.monotonic()))
        if self.last:
            self.done.set()


def test_targets_are_flushed_in_deadline_order_at_their_deadlines() -> None:
    flusher, log, done = Flusher(), [], threading.Event()
    start = time.monotonic()
    flusher.schedule(Recorder("b", log, done, False), start + 0.10)
    flusher.schedule(Recorder("c", log, done, True), start + 0.20)
    flusher.schedule(Recorder("a", log, done, False), start + 0.05)
    assert done.wait(5)
    assert [name for name, _ in log] == ["a", "b", "c"]
    for (_, at), due in zip(log, (0.05, 0.10, 0.20), strict=True):
        assert at >= start + due


def test_an_earlier_deadline_scheduled_while_the_thread_sleeps_wakes_it() -> None:
    flusher, log, done = Flusher(), [], threading.Event()
    start = time.monotonic()
    flusher.schedule(Recorder("late", log, done, False), start + 30)
    time.sleep(0.05)  # the thread now waits for the 30 s deadline
    flusher.schedule(Recorder("soon", log, done, True), time.monotonic() + 0.01)
    assert done.wait(5), "the thread slept through a deadline earlier than the one it waited for"
    assert [name for name, _ in log] == ["soon"]
