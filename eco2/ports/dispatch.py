"""Port of the fan-out side: how subagent rounds, deadlines and queued jobs get scheduled."""

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


class DispatchPort(Protocol):
    """Schedules work without ever waiting for it (no worker slot is held while subagents run)."""

    continues_before_return: bool
    """True when ``fan_out`` runs the round and the continuation before it returns (in process). The
    service then sends a round only after its checkpoint is saved; otherwise it sends it just before."""

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

    def schedule_deadline(self, job: JobRef, delay_s: float) -> None:
        """Make sure the job ends by ``delay_s`` from now, even if every task of it is lost."""
        ...

    def cancel_deadline(self, job: JobRef) -> None:
        """The job ended; its deadline is no longer needed."""
        ...

    def enqueue_chat(self, kwargs: Mapping[str, Any], message_id: str | None = None) -> None:
        """Enqueue a chat job (a job that waited behind its session) as the message ``message_id``."""
        ...

    def close_trace(self, job: JobRef, outcome: str, error: str) -> None:
        """Have a process with the tracing client end the job's root run (the sweeper has no such client)."""
        ...
