"""Port of tracing: the run config of each graph step and one trace per chat across Celery tasks.

A chat runs as several tasks in several processes (``process``, one task per subagent, ``continue``), so the
trace cannot live in one call stack. The service opens a *root run* when the job starts, carries an opaque
reference to it in :class:`~eco2.ports.dispatch.JobRef` (``root_run``), makes every later step a child of it
and ends it when the job ends, scoring it (:class:`TraceFeedback`, e.g. the answer's retrieval quality) so the
backend can follow those scores per release. Adapters never raise: a tracing backend that is down must not
break a chat, and none of them makes the chat wait for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class TraceFeedback:
    """One score on a chat's trace (LangSmith feedback on the root run; span attributes with OpenTelemetry).

    Never message text or anything secret: keys, numbers and labels from small closed sets or the corpus.
    """

    key: str
    """What is scored, e.g. ``retrieval_quality``."""
    score: float | None = None
    """The number LangSmith averages per key (its charts and feedback stats aggregate scores only)."""
    value: str | None = None
    """A label that says what the score stands for, e.g. the fallback path ``waste_rag->web_search``."""


class TraceRunPort(Protocol):
    """One open child run (e.g. ``subagent:waste_rag``); its outcome is reported before the block ends."""

    def end(self, outputs: Mapping[str, Any], error: str | None = None) -> None:
        """Record the run's result; ``error`` marks it failed even though no exception escaped."""
        ...


class TelemetryConfigPort(Protocol):
    """Builds run configs and ties a chat's runs into one trace (LangSmith, OpenTelemetry, or nothing)."""

    def is_enabled(self) -> bool:
        """Whether runs are recorded at all (callers may skip building tracing-only data when not)."""
        ...

    def get_run_config(
        self,
        job_id: str,
        session_id: str | None = None,
        user_id: str | None = None,
        intent: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The LangGraph config of a chat step: ``configurable.thread_id`` always, naming and tags when on.

        The arguments are never mutated; the result is a fresh dict the caller may change.
        """
        ...

    def start_trace(self, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> str | None:
        """Open the chat's root run (named and tagged as ``config`` says); returns the reference to carry.

        ``None`` when there is no root run (tracing off, or the backend refused): children then simply
        have no parent.
        """
        ...

    def end_trace(
        self, root: str, config: Mapping[str, Any], outputs: Mapping[str, Any], error: str | None = None
    ) -> None:
        """End the root run ``root`` (possibly in another process than the one that opened it)."""
        ...

    def record_feedback(self, root: str | None, feedback: Sequence[TraceFeedback]) -> None:
        """Attach ``feedback`` to the chat's trace ``root`` (possibly opened in another process).

        Returns at once: sending happens in the background, and a failure is logged, never raised.
        ``root`` is ``None`` when there is no root run (OpenTelemetry alone still records it on the
        current span).
        """
        ...

    def within(self, root: str | None) -> AbstractContextManager[None]:
        """LangChain/LangGraph runs started inside the block become children of ``root``."""
        ...

    def child_run(
        self, root: str | None, name: str, config: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> AbstractContextManager[TraceRunPort]:
        """The block is one run ``name``, a child of ``root``, tagged as ``config`` says.

        An exception escaping the block is recorded on the run and re-raised.
        """
        ...

    def traceparent(self) -> str | None:
        """The W3C ``traceparent`` of the current span when OpenTelemetry is on, else ``None``."""
        ...

    def flush(self, timeout_s: float) -> None:
        """Send what is buffered (before the process exits); gives up after ``timeout_s``."""
        ...
