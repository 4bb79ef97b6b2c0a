"""Ports for writing and reading a job's event stream."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from eco2.domain.events import Claim, JobSnapshot, JobStatus, StageStatus


class WriteObserver(Protocol):
    """Told about the writes of a job's events (the stream metrics tracker implements it)."""

    def on_flush(self, tokens: int, seconds: float) -> None:
        """``tokens`` token events were written in one round trip that took ``seconds``."""
        ...

    def on_reset(self) -> None:
        """Answer text already streamed was discarded by a ``reset`` event."""
        ...


class JobEventsPort(Protocol):
    """Writes the events of one job, in order, exactly as the public contract describes.

    Tokens may be buffered and coalesced; every other event first flushes the buffered tokens, so the
    order readers see is the order of calls. Once a terminal event is written, further writes are
    silently dropped and terminal calls return ``False``.
    """

    def stage(self, stage: str, status: StageStatus, intent: str | None = None) -> None:
        """A pipeline stage started, completed, failed or was skipped (``intent`` updates the snapshot)."""
        ...

    def token(self, node: str, delta: str) -> None:
        """A piece of answer text produced by ``node``."""
        ...

    def begin_answer(self) -> None:
        """Start (or restart) the answer: a ``reset`` event is written if answer text was already streamed."""
        ...

    def needs_input(self, data: Mapping[str, Any]) -> None:
        """Ask the user for something the pipeline cannot go on without (e.g. a location)."""
        ...

    def done(self, data: Mapping[str, Any]) -> bool:
        """The terminal success event; its ``answer`` is the streamed text since the last reset."""
        ...

    def error(self, code: str, message: str) -> bool:
        """The terminal failure event."""
        ...

    def flush(self) -> None:
        """Write buffered tokens now."""
        ...

    def observe(self, observer: WriteObserver | None) -> None:
        """Report writes to ``observer`` from now on (``None`` stops reporting)."""
        ...

    def close(self) -> None:
        """Flush and release resources; the job may still go on in another task."""
        ...

    @property
    def ended(self) -> bool:
        """Whether a write found the job already ended by someone else (a cancel, its deadline): the caller
        stops producing events for it. Known from the replies of this writer's writes, so it costs nothing."""
        ...

    def withdraw(self) -> bool:
        """Drop what is buffered if this writer has written nothing yet; ``True`` when dropped.

        ``False`` (nothing dropped) once any of its events has been written, or when nothing is buffered:
        the caller then goes on writing here. Lets a short step hand its events to the job's next write.
        """
        ...


class EventStreamPort(Protocol):
    """Opens per-job writers and reads streams back (for the CLI, tests and gateways)."""

    def open(self, job_id: str, traceparent: str | None = None) -> JobEventsPort:
        """A writer for ``job_id``; ``traceparent`` is carried on every event when tracing is on."""
        ...

    def cancel(self, job_id: str, mode: str = "cancel") -> str:
        """End the job with an ``error`` event of code ``cancelled`` unless it has ended: ``"cancelled"``, or
        ``"finished"`` when it had. Works before any worker took the job (its message then finds it ended)
        and while it runs (its writer's next write finds it ended, see ``JobEventsPort.ended``)."""
        ...

    def snapshot(self, job_id: str) -> JobSnapshot | None:
        """The job's snapshot, or ``None`` when the job is unknown or expired."""
        ...

    def status(self, job_id: str) -> JobStatus | None:
        """Just the job's status (cheap: never transfers the answer)."""
        ...

    def reject(self, code: str, message: str, job_id: str | None) -> None:
        """Record a job that could not get an ``error`` event of its own (no valid or a reused job_id)."""
        ...

    def mark_queued(self, job_id: str) -> None:
        """Record that a job waits behind its session's running job (snapshot only)."""
        ...

    def claim(self, job_id: str, message_id: str, take_over: bool = False) -> Claim:
        """Tie ``job_id`` to the message carrying it, atomically; see :class:`~eco2.domain.events.Claim`.

        ``take_over`` hands a job that waited behind its session to the new message that starts it.
        """
        ...

    def follow(
        self, job_id: str, after: str = "0-0", block_ms: int = 1000, timeout_s: float | None = None
    ) -> Iterator[tuple[str, dict[str, str]]]:
        """Yield ``(stream_id, fields)`` after ``after`` until the terminal event (or ``timeout_s``)."""
        ...
