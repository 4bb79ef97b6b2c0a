"""In-memory session queue with the Redis adapter's rules (for ``--inline`` and tests)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from eco2.ports.sessions import Admission


class MemorySessionQueue:
    """Implements ``SessionQueuePort`` in one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, tuple[str, float]] = {}
        self._waiting: dict[str, deque[dict[str, Any]]] = {}

    def _holder(self, session_id: str) -> str | None:
        holder = self._active.get(session_id)
        if holder is None or holder[1] < time.monotonic():
            return None
        return holder[0]

    def admit(self, session_id: str, job_id: str, kwargs: Mapping[str, Any], lease_s: float) -> Admission:
        """Run now, or wait in FIFO order."""
        with self._lock:
            holder = self._holder(session_id)
            waiting = self._waiting.setdefault(session_id, deque())
            if holder == job_id or (holder is None and not waiting):
                self._active[session_id] = (job_id, time.monotonic() + lease_s)
                return Admission(run_now=True)
            if all(w.get("job_id") != job_id for w in waiting):
                waiting.append(dict(kwargs))
            if holder is not None:
                return Admission(run_now=False)
            head = waiting.popleft()
            self._active[session_id] = (str(head["job_id"]), time.monotonic() + lease_s)
            if head["job_id"] == job_id:
                return Admission(run_now=True)
            return Admission(run_now=False, promoted=head)

    def release(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """Give the session to the next waiting job."""
        with self._lock:
            if self._holder(session_id) != job_id:
                return None
            waiting = self._waiting.get(session_id)
            if not waiting:
                self._active.pop(session_id, None)
                return None
            head = waiting.popleft()
            self._active[session_id] = (str(head["job_id"]), time.monotonic() + lease_s)
            return head
