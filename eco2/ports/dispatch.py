"""Ports of the scheduling side: sending subagent rounds, job deadlines, queued jobs, closing traces.

Four small ports rather than one dispatcher: the service sends rounds and sets deadlines; the job ending
(also run by the deadline sweeper, with no graph) cancels deadlines, starts queued jobs and closes traces.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eco2.domain.subagents import SubagentQuery


@dataclass(frozen=True, slots=True)
class JobRef:
    """Identifies a running job across tasks: its id, graph thread and trace context."""

    job_id: str
    thread_id: str
    traceparent: str | None = None
    """W3C trace context put on every stream entry (OpenTelemetry on), else ``None``."""
    session_id: str | None = None
    accepted_at: float = 0.0
    """Epoch seconds when the job was accepted (request duration and time to first token)."""
    user_id: str | None = None
    """The requesting user (trace metadata of every step)."""
    root_run: str | None = None
    """The telemetry adapter's reference to the chat's root run (LangSmith: its dotted order), else ``None``."""

    def elapsed_s(self) -> float:
        """Seconds since the job was accepted (0 when unknown): the request duration metrics observe."""
        return max(time.time() - self.accepted_at, 0.0) if self.accepted_at else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (task kwargs)."""
        return {
            "job_id": self.job_id,
            "thread_id": self.thread_id,
            "traceparent": self.traceparent,
            "session_id": self.session_id,
            "accepted_at": self.accepted_at,
            "user_id": self.user_id,
            "root_run": self.root_run,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobRef:
        """Inverse of :meth:`to_dict`."""
        return cls(
            job_id=str(data["job_id"]),
            thread_id=str(data["thread_id"]),
            traceparent=data.get("traceparent"),
            session_id=data.get("session_id"),
            accepted_at=float(data.get("accepted_at") or 0.0),
            user_id=data.get("user_id"),
            root_run=data.get("root_run"),
        )


class FanOutPort(Protocol):
    """Sends a round of subagents and has the job continue with their results, never waiting for them."""

    synchronous: bool
    """True when ``fan_out`` runs the round and the continuation before it returns (in process). The round
    must then be sent after the paused graph's checkpoint is saved (the continuation reads it); otherwise it
    is sent just before, so the checkpoint write overlaps the subagents (see ``RoundSender``)."""

    def fan_out(
        self,
        job: JobRef,
        round_no: int,
        subagents: Sequence[str],
        query: SubagentQuery,
        ready: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Run ``subagents`` in parallel, then continue the job with their results (in order) followed by
        ``ready``: results the caller already has (subagents that need no task, see ``SubagentRunner.settled``).
        """
        ...


class DeadlinePort(Protocol):
    """Makes sure every job ends, even when every task of it is lost."""

    def schedule_deadline(self, job: JobRef, delay_s: float) -> None:
        """End the job with a timeout ``delay_s`` from now unless it ended before."""
        ...

    def cancel_deadline(self, job: JobRef) -> None:
        """The job ended; its deadline is no longer needed."""
        ...


class ChatQueuePort(Protocol):
    """Starts a chat job that waited behind its session."""

    def enqueue_chat(self, kwargs: Mapping[str, Any], message_id: str | None = None) -> None:
        """Enqueue the job (its contract kwargs) as the message ``message_id``."""
        ...


class TraceCloserPort(Protocol):
    """Ends a job's root trace run from a process that may have no tracing client (the deadline sweeper)."""

    def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
        """Have a process with the tracing client end the job's root run."""
        ...
