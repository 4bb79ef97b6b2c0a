"""A single background thread that writes coalesced event buffers when they are due, many per round trip.

Why a thread: the token producer (an LLM stream) may pause for seconds after a token; without a timer the
buffered text would wait for the next token. One thread per process serves every open job stream.

Why groups and a tick: a host streaming a hundred answers has a hundred buffers falling due every few
milliseconds, and waking a thread for each costs more than writing it. Every buffer due when the thread
wakes is handed to its group (the Redis adapter) in one call, which writes them all in one pipelined round
trip, and the thread wakes at most once per ``tick_s`` (2 ms): under load the writes of a tick share one
round trip, and a lone buffer still goes out when it is due, or within a tick of the previous write.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

TICK_S = 0.002
"""Shortest time between two wake-ups of the flusher thread (its writes of one tick share a round trip)."""


class FlushGroup(Protocol):
    """Writes many buffers at once."""

    def flush_many(self, targets: Sequence[Any]) -> None:
        """Write what each of ``targets`` (buffers of this group) has pending; called from the flusher."""
        ...


class Flushable(Protocol):
    """A buffer to write out, and the group that writes it."""

    @property
    def group(self) -> FlushGroup:
        """The group whose ``flush_many`` writes this buffer."""
        ...


class Flusher:
    """Hands registered buffers to their groups at their deadlines (monotonic seconds)."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Flushable]] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None
        self._tick_s = tick_s
        self._next_tick = 0.0
        self._wake_at = float("inf")
        """When the thread will look at the heap next (infinity: only when woken)."""

    def schedule(self, target: Flushable, deadline: float) -> None:
        """Flush ``target`` at ``deadline`` (``time.monotonic()`` seconds; now or earlier: at once)."""
        with self._cond:
            entry = (deadline, next(self._counter), target)
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                # Started lazily so that it is created in the worker child, after any fork.
                self._thread = threading.Thread(target=self._run, name="eco2-token-flusher", daemon=True)
                self._thread.start()
            if self._heap[0] is entry and max(deadline, self._next_tick) < self._wake_at:
                # Wake the thread only when it would otherwise look too late: usually it will look in
                # time (it is writing, or waits for an earlier buffer or the next tick), and a wake-up
                # would only steal the GIL.
                self._cond.notify()

    def _due(self) -> list[Flushable]:
        """Wait until something is due and a tick has passed since the last write, then take all that is due."""
        with self._cond:
            while True:
                while not self._heap:
                    self._wake_at = float("inf")
                    self._cond.wait()
                now = time.monotonic()
                self._wake_at = max(self._heap[0][0], self._next_tick)
                if self._wake_at > now:
                    self._cond.wait(self._wake_at - now)
                    continue
                self._wake_at = self._next_tick = now + self._tick_s
                due = []
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                return due

    def _run(self) -> None:
        while True:
            groups: dict[int, tuple[FlushGroup, list[Flushable]]] = {}
            for target in self._due():
                group = target.group
                groups.setdefault(id(group), (group, []))[1].append(target)
            for group, targets in groups.values():
                try:
                    group.flush_many(targets)
                except Exception:  # a group records its own failures; this thread must never die
                    log.exception("flushing %d event buffers failed", len(targets))


_SHARED = Flusher()


def shared_flusher() -> Flusher:
    """The process-wide flusher."""
    return _SHARED
