"""How jobs end: after the terminal event, and when their deadline passes.

Shared by the chat service and the deadline sweeper; the sweeper runs in a worker's main process, so this
needs no graph, checkpointer or model, only the event stream, the session queue, the deadlines, the chat
queue (to start the job waiting behind an ended one) and a trace closer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from eco2.domain.events import JobStatus
from eco2.ports.dispatch import ChatQueuePort, DeadlinePort, JobRef, TraceCloserPort
from eco2.ports.events import EventStreamPort, JobEventsPort
from eco2.ports.metrics import MetricsPort
from eco2.ports.sessions import SessionQueuePort

log = logging.getLogger(__name__)

SESSION_LEASE_GRACE_S = 30.0


class JobEnding:
    """Ends jobs: releases their session and deadline, and times out the ones that overran."""

    def __init__(
        self,
        events: EventStreamPort,
        sessions: SessionQueuePort,
        *,
        deadlines: DeadlinePort,
        queue: ChatQueuePort,
        traces: TraceCloserPort,
        metrics: MetricsPort,
        job_timeout_s: float,
    ) -> None:
        self._events = events
        self._sessions = sessions
        self._deadlines = deadlines
        self._queue = queue
        self._traces = traces
        self.job_timeout_s = job_timeout_s
        self._metrics = metrics

    @property
    def lease_s(self) -> float:
        """How long a session stays held by a job that stopped reporting (its timeout plus grace)."""
        return self.job_timeout_s + SESSION_LEASE_GRACE_S

    def finished(self, job_id: str) -> bool:
        """Whether the job already has its terminal event."""
        return self._events.status(job_id) in (JobStatus.DONE, JobStatus.ERROR)

    def end(self, job: JobRef, wrote_terminal: bool) -> None:
        """After the terminal event: drop the deadline, hand the session to its next waiting job."""
        self._deadlines.cancel_deadline(job)
        if not wrote_terminal:
            log.info("job %s had already ended", job.job_id)
        if job.session_id is None:
            return
        following = self._sessions.release(job.session_id, job.job_id, self.lease_s)
        if following is not None:
            self.promote(following)

    def promote(self, kwargs: Mapping[str, Any]) -> None:
        """Start a job that waited behind its session: hand its ``job_id`` to a new message, then send it.

        The job was claimed by the message that queued it; without the handover the new message would find
        its own job in use by another message and be refused.
        """
        message_id = uuid.uuid4().hex
        self._events.claim(str(kwargs["job_id"]), message_id, take_over=True)
        self._queue.enqueue_chat(kwargs, message_id)

    def fail(self, job: JobRef, events: JobEventsPort, code: str, message: str, intent: str = "unknown") -> bool:
        """End the job with an ``error`` event (if it has not ended yet), count it and release it."""
        wrote = events.error(code, message)
        if wrote:
            self._metrics.track_error(intent, code)
            self._metrics.track_request(intent, "error", "none", job.elapsed_s())
        self.end(job, wrote)
        return wrote

    def expire(self, job: JobRef) -> str:
        """The job's deadline passed: end it with a ``timeout`` error unless it already ended."""
        if self.finished(job.job_id):
            self._deadlines.cancel_deadline(job)
            return "finished"
        events = self._events.open(job.job_id, job.traceparent)
        message = f"the job did not finish within {self.job_timeout_s:g}s"
        if not self.fail(job, events, "timeout", message):
            return "finished"  # it ended between the check and the write: its own step closed its trace
        if job.root_run is not None:
            try:
                self._traces.close_trace(job, "timeout", f"timeout: {message}")
            except Exception:
                # The job has ended for its reader; only its trace stays open. Never fail the sweep for it.
                log.warning("could not ask for the trace of job %s to be closed", job.job_id, exc_info=True)
        return "expired"
