"""The scheduling ports in the calling process, for ``eco2 chat --inline``: the same pipeline, no broker.

Subagents of a round run concurrently on a thread pool, then the service continues the graph directly;
deadlines are daemon timers. Each adapter calls back into the service through a :class:`ServiceHandle`,
which the composition root points at the service once it is built (the service needs these adapters first).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from eco2.domain.subagents import SubagentQuery
from eco2.ports.dispatch import JobRef
from eco2.subagents.runner import SubagentRunner


class _Service(Protocol):
    def accept(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        traceparent: str | None = None,
        message_id: str | None = None,
    ) -> str: ...

    def resume(self, job: JobRef, round_no: int, results: Sequence[Mapping[str, Any]]) -> str: ...

    def expire(self, job: JobRef) -> str: ...

    def close_trace(self, job: JobRef, outcome: str, error: str) -> str: ...


class ServiceHandle:
    """The service the in-process adapters continue jobs with, set once by the composition root."""

    def __init__(self) -> None:
        self._service: _Service | None = None

    def point_at(self, service: _Service) -> None:
        """Continue jobs with ``service`` from now on."""
        self._service = service

    def __call__(self) -> _Service:
        if self._service is None:
            raise RuntimeError("the in-process dispatch has no service yet (the composition root sets it)")
        return self._service


class InlineRounds:
    """Implements ``FanOutPort``: the round runs now, on a thread pool, and the job continues at once."""

    synchronous = True

    def __init__(self, runner: SubagentRunner, service: ServiceHandle, max_workers: int = 8) -> None:
        self._runner = runner
        self._service = service
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="eco2-inline")

    def fan_out(
        self,
        job: JobRef,
        round_no: int,
        subagents: Sequence[str],
        query: SubagentQuery,
        ready: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Run the round now and continue the job with its results."""
        sent_at = time.time()

        def run(name: str) -> dict[str, Any]:
            return self._runner.run(name, query, job.traceparent, sent_at=sent_at, job=job).to_dict()

        results = [*self._pool.map(run, subagents), *ready]
        self._service().resume(job, round_no, results)

    def close(self) -> None:
        """Stop the pool."""
        self._pool.shutdown(wait=False)


class InlineDeadlines:
    """Implements ``DeadlinePort`` with daemon timers that expire the job."""

    def __init__(self, service: ServiceHandle) -> None:
        self._service = service
        self._timers: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()

    def schedule_deadline(self, job: JobRef, delay_s: float) -> None:
        """A daemon timer that expires the job (a no-op for a job that ended by then)."""
        timer = threading.Timer(delay_s, self._expire, args=(job,))
        timer.daemon = True
        with self._lock:
            previous, self._timers[job.job_id] = self._timers.get(job.job_id), timer
        if previous is not None:
            previous.cancel()
        timer.start()

    def _expire(self, job: JobRef) -> None:
        with self._lock:
            self._timers.pop(job.job_id, None)
        self._service().expire(job)

    def cancel_deadline(self, job: JobRef) -> None:
        """The job ended: its timer goes (it would only find the job finished)."""
        with self._lock:
            timer = self._timers.pop(job.job_id, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Cancel every timer."""
        with self._lock:
            timers, self._timers = list(self._timers.values()), {}
        for timer in timers:
            timer.cancel()


class InlineChatQueue:
    """Implements ``ChatQueuePort``: a waiting job starts right away, in this process."""

    def __init__(self, service: ServiceHandle) -> None:
        self._service = service

    def enqueue_chat(self, kwargs: Mapping[str, Any], message_id: str | None = None) -> None:
        """Start the job now."""
        self._service().accept((), kwargs, message_id=message_id)


class InlineTraceCloser:
    """Implements ``TraceCloserPort``: this process has the tracing client, so the run ends now."""

    def __init__(self, service: ServiceHandle) -> None:
        self._service = service

    def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
        """End the root run now."""
        self._service().close_trace(job, outcome, error)
