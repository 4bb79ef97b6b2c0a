"""Port that keeps one session's jobs in order: one runs, the others wait in a FIFO queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Admission:
    """Result of asking to run a job: run it now or not, plus a waiting job to start instead/as well."""

    run_now: bool
    promoted: Mapping[str, Any] | None = None
    """Kwargs of a job that was waiting and must be enqueued now (its predecessor vanished)."""


class SessionQueuePort(Protocol):
    """Serialises the jobs of a session so two messages never write one LangGraph thread at once, and runs
    them in the order their messages arrived (not the order their admission happens to run in)."""

    def arrived(self, session_id: str, job_id: str) -> None:
        """The job's message was received; called in the order messages leave the queue (the consumer).

        A job that arrives but does not reach admission within its lease is given up on, so a lost message
        cannot hold the jobs behind it forever. Jobs never recorded here run in admission order.
        """
        ...

    def admit(self, session_id: str, job_id: str, kwargs: Mapping[str, Any], lease_s: float) -> Admission:
        """Run ``job_id`` now if the session is idle and no earlier arrival waits, else queue it."""
        ...

    def release(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """``job_id`` ended: give the session to the next waiting job and return its kwargs, if any."""
        ...

    def forget(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """``job_id`` will never run (it had already ended): drop it from the order, and, if the session is
        idle, give it to the next waiting job and return that job's kwargs."""
        ...
