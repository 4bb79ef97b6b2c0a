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
    """Serialises the jobs of a session so two messages never write one LangGraph thread at once."""

    def admit(self, session_id: str, job_id: str, kwargs: Mapping[str, Any], lease_s: float) -> Admission:
        """Run ``job_id`` now if the session is idle, else queue it behind the running job."""
        ...

    def release(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """``job_id`` ended: give the session to the next waiting job and return its kwargs, if any."""
        ...
