"""The flusher thread hands each buffer to its group at its deadline, batching those due together."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from eco2.adapters.redis_streams.flusher import Flusher


class Group:
    """Logs every call: which buffers it got together, and when."""

    def __init__(self, until: int, hold_s: float = 0.0) -> None:
        self.calls: list[tuple[list[str], float]] = []
        self.done = threading.Event()
        self._until, self._hold_s = until, hold_s

    def flush_many(self, targets: Sequence[Any]) -> None:
        self.calls.append(([t.name for t in targets], time.monotonic()))
        time.sleep(self._hold_s)  # a round trip under way
        if sum(len(names) for names, _ in self.calls) >= self._until:
            self.done.set()


class Buffer:
    def __init__(self, name: str, group: Group) -> None:
        self.name, self.group = name, group


def test_targets_are_flushed_in_deadline_order_at_their_deadlines() -> None:
    flusher, group = Flusher(), Group(until=3)
    start = time.monotonic()
    flusher.schedule(Buffer("b", group), start + 0.10)
    flusher.schedule(Buffer("c", group), start + 0.20)
    flusher.schedule(Buffer("a", group), start + 0.05)
    assert group.done.wait(5)
    assert [names for names, _ in group.calls] == [["a"], ["b"], ["c"]]
    for (_, at), due in zip(group.calls, (0.05, 0.10, 0.20), strict=True):
        assert at >= start + due


def test_an_earlier_deadline_scheduled_while_the_thread_sleeps_wakes_it() -> None:
    flusher, group = Flusher(), Group(until=1)
    flusher.schedule(Buffer("late", group), time.monotonic() + 30)
    time.sleep(0.05)  # the thread now waits for the 30 s deadline
    flusher.schedule(Buffer("soon", group), time.monotonic() + 0.01)
    assert group.done.wait(5), "the thread slept through a deadline earlier than the one it waited for"
    assert [names for names, _ in group.calls] == [["soon"]]


def test_buffers_that_fall_due_during_a_write_go_out_together_in_the_next_one() -> None:
    flusher, group = Flusher(), Group(until=6, hold_s=0.05)
    flusher.schedule(Buffer("first", group), time.monotonic())
    time.sleep(0.01)  # the first write is under way for 50 ms
    for name in ("a", "b", "c", "d", "e"):
        flusher.schedule(Buffer(name, group), time.monotonic())
    assert group.done.wait(5)
    assert [names for names, _ in group.calls] == [["first"], ["a", "b", "c", "d", "e"]]


def test_each_group_gets_its_own_buffers() -> None:
    flusher, one, two = Flusher(), Group(until=2, hold_s=0.02), Group(until=1)
    flusher.schedule(Buffer("x", one), time.monotonic() + 0.05)
    flusher.schedule(Buffer("y", two), time.monotonic() + 0.05)
    flusher.schedule(Buffer("z", one), time.monotonic() + 0.05)
    assert one.done.wait(5)
    assert two.done.wait(5)
    assert sorted(n for names, _ in one.calls for n in names) == ["x", "z"]
    assert [names for names, _ in two.calls] == [["y"]]
