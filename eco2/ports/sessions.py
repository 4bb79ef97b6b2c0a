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
    ahead: tuple[str, ...] = ()
    """When the job waits: the jobs before it, the one holding the session first (for ``interrupt``)."""
    held: bool = False
    """The session is idle but a message with a lower ``session_seq`` has not arrived yet (another worker
    took it an instant earlier): ask again shortly, or with ``hold=False`` once waiting is over."""


class SessionQueuePort(Protocol):
    """Serialises the jobs of a session so two messages never write one LangGraph thread at once, and runs
    them in the order their messages arrived (not the order their admission happens to run in)."""

    def arrived(self, session_id: str, job_id: str, seq: int | None = None) -> None:
        """The job's message was received; called in the order messages leave the queue (the consumer).

        A job with a ``seq`` (the producer's ``session_seq``) takes its place by that number instead, before
        every recorded job with a higher one. A job that arrives but does not reach admission within its
        lease is given up on, so a lost message cannot hold the jobs behind it forever. Jobs never recorded
        here run in admission order.
        """
        ...

    def admit(
        self,
        session_id: str,
        job_id: str,
        kwargs: Mapping[str, Any],
        lease_s: float,
        seq: int | None = None,
        hold: bool = True,
    ) -> Admission:
        """Run ``job_id`` now if the session is idle and no earlier arrival waits, else queue it.

        With ``seq`` and ``hold``, a job that would run now although the session's last admitted seq is not
        ``seq - 1`` is ``held`` instead (nothing stored): its predecessor may be an instant from arriving.
        """
        ...

    def release(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """``job_id`` ended: give the session to the next waiting job and return its kwargs, if any."""
        ...

    def forget(self, session_id: str, job_id: str, lease_s: float) -> Mapping[str, Any] | None:
        """``job_id`` will never run (it had already ended): drop it from the order, and, if the session is
        idle, give it to the next waiting job and return that job's kwargs."""
        ...
