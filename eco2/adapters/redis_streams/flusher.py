"""A single background thread that flushes coalesced token buffers when their window expires.

Why a thread: the token producer (an LLM stream) may pause for seconds after a token; without a timer the
buffered text would wait for the next token. One thread per process serves every open job stream.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Protocol


class Flushable(Protocol):
    """Something with a buffer to write out."""

    def flush_due(self) -> None:
        """Flush if the buffered data is still pending; called from the flusher thread."""
        ...


class Flusher:
    """Calls ``flush_due()`` on registered buffers at their deadlines (monotonic seconds)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Flushable]] = []
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, target: Flushable, deadline: float) -> None:
        """Flush ``target`` at ``deadline`` (``time.monotonic()`` seconds)."""
        with self._cond:
            entry = (deadline, next(self._counter), target)
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                # Started lazily so that it is created in the worker child, after any fork.
                self._thread = threading.Thread(target=self._run, name="eco2-token-flusher", daemon=True)
                self._thread.start()
            if self._heap[0] is entry:
                # Wake the thread only when its next deadline moved earlier: windows are all the same
                # length, so usually it did not, and a wake-up would only steal the GIL from the task.
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline, _, target = self._heap[0]
                delay = deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                heapq.heappop(self._heap)
            target.flush_due()


_SHARED = Flusher()


def shared_flusher() -> Flusher:
    """The process-wide flusher."""
    return _SHARED
