"""Telemetry that records nothing: the default, and what the hot path costs when tracing is off.

Only the graph's ``thread_id`` is configured (the checkpointer needs it); no tags, no names, no run objects,
so a chat step does no tracing work at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from eco2.ports.telemetry import TraceFeedback


class NoOpTraceRun:
    """Implements ``TraceRunPort`` without recording anything."""

    def end(self, outputs: Mapping[str, Any], error: str | None = None) -> None:
        """Nothing to record."""


_RUN = NoOpTraceRun()


class NoOpTelemetryConfig:
    """Implements ``TelemetryConfigPort`` with tracing off."""

    def is_enabled(self) -> bool:
        """Never enabled."""
        return False

    def get_run_config(
        self,
        job_id: str,
        session_id: str | None = None,
        user_id: str | None = None,
        intent: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Just the graph thread (the article's NoOp, typed)."""
        config: dict[str, Any] = {"configurable": {}}
        if session_id:
            config["configurable"]["thread_id"] = session_id
        return config

    def start_trace(self, config: Mapping[str, Any], inputs: Mapping[str, Any]) -> str | None:
        """No root run."""
        return None

    def end_trace(
        self, root: str, config: Mapping[str, Any], outputs: Mapping[str, Any], error: str | None = None
    ) -> None:
        """Nothing was opened."""

    def record_feedback(self, root: str | None, feedback: Sequence[TraceFeedback]) -> None:
        """Nothing to score."""

    def within(self, root: str | None) -> AbstractContextManager[None]:
        """No tracing context."""
        return nullcontext()

    def child_run(
        self, root: str | None, name: str, config: Mapping[str, Any], inputs: Mapping[str, Any]
    ) -> AbstractContextManager[NoOpTraceRun]:
        """A run that records nothing."""
        return nullcontext(_RUN)

    def traceparent(self) -> str | None:
        """No span, so no trace context on events."""
        return None

    def flush(self, timeout_s: float) -> None:
        """Nothing buffered."""
