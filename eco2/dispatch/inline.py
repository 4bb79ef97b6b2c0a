"""In-process dispatcher for ``eco2 chat --inline``: the same pipeline, no broker.

Subagents of a round run concurrently on a thread pool, then the service continues the graph directly.
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


class InlineDispatcher:
    """Implements ``DispatchPort`` in the calling process."""

    continues_before_return = True

    def __init__(self, runner: SubagentRunner, max_workers: int = 8) -> None:
        self._runner = runner
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="eco2-inline")
        self._service: _Service | None = None
        self._timers: list[threading.Timer] = []

    def bind(self, service: _Service) -> None:
        """Connect the service that continues jobs (it is built after the dispatcher)."""
        self._service = service

    def _svc(self) -> _Service:
        if self._service is None:
            raise RuntimeError("InlineDispatcher.bind(service) was not called")
        return self._service

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
        self._svc().resume(job, round_no, results)

    def schedule_deadline(self, job: JobRef, delay_s: float) -> None:
        """A daemon timer that expires the job."""
        timer = threading.Timer(delay_s, self._svc().expire, args=(job,))
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def cancel_deadline(self, job: JobRef) -> None:
        """Timers of ended jobs find them finished; nothing to do."""

    def enqueue_chat(self, kwargs: Mapping[str, Any], message_id: str | None = None) -> None:
        """Start a waiting job right away."""
        self._svc().accept((), kwargs, message_id=message_id)

    def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
        """This process has the tracing client: end the root run now."""
        self._svc().close_trace(job, outcome, error)

    def close(self) -> None:
        """Cancel timers and stop the pool."""
        for timer in self._timers:
            timer.cancel()
        self._pool.shutdown(wait=False)
