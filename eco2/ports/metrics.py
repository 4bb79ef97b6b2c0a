"""Port for metrics. The chat code reports what happened; adapters decide where it goes.

The first four methods are the source article's ``MetricsPort``; the rest add what operators need beyond
it (time to first token, queue wait, fallbacks, breaker state, partial answers, stream tracking).
Implementations must never raise: a metrics failure must not break a chat.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol


class StreamTrackerPort(Protocol):
    """Tracks one token stream; counts it as active exactly once and always releases it."""

    def start(self) -> None:
        """The stream begins (the active-streams gauge goes up, once)."""
        ...

    def record_token(self, latency: float | None = None) -> None:
        """One token was produced; ``latency`` is its write latency when known."""
        ...

    def on_flush(self, tokens: int, seconds: float) -> None:
        """``tokens`` tokens were written to Redis in one round trip of ``seconds``."""
        ...

    def on_reset(self) -> None:
        """The answer was restarted (a ``reset`` event): a recovery."""
        ...

    def finish(self, status: str = "success") -> None:
        """The stream ended (idempotent; the gauge goes down once)."""
        ...

    def __enter__(self) -> StreamTrackerPort:
        """``start()``."""
        ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """``finish("error")`` when an exception escapes, else ``finish()`` unless already finished."""
        ...


class MetricsPort(Protocol):
    """Everything the pipeline reports."""

    def track_request(self, intent: str, status: str, provider: str, duration: float) -> None:
        """A chat job ended (status ``success``, ``partial``, ``error`` or ``rejected``)."""
        ...

    def track_intent(self, intent: str, provider: str = "offline", duration: float | None = None) -> None:
        """A message was classified."""
        ...

    def track_error(self, intent: str, error_type: str) -> None:
        """A chat job ended with an error event (``error_type`` is the event's code)."""
        ...

    def track_subagent_call(self, subagent: str, status: str, duration: float) -> None:
        """A subagent call finished."""
        ...

    def track_queue_wait(self, subagent: str, seconds: float) -> None:
        """A subagent task waited ``seconds`` in its queue."""
        ...

    def track_fallback(self, from_subagent: str, to_subagent: str) -> None:
        """The fallback chain took a step."""
        ...

    def track_partial(self, intent: str) -> None:
        """An answer went out without a required subagent's data."""
        ...

    def track_time_to_first_token(self, provider: str, seconds: float) -> None:
        """The first answer token was written ``seconds`` after the job was accepted."""
        ...

    def track_recovery(self, recovery_type: str, status: str = "success") -> None:
        """A stream recovered: ``reset`` (answer rewritten), ``model_fallback``, ``catch_up``, ``snapshot``."""
        ...

    def track_breaker_state(self, upstream: str, state: str) -> None:
        """A circuit breaker changed state (``closed``, ``half_open``, ``open``)."""
        ...

    def track_rejected_message(self, reason: str) -> None:
        """A queue message was refused without running: malformed, undecodable, or for an unknown task."""
        ...

    def track_redis_data_lost(self) -> None:
        """Redis came back without its data (restarted without persistence): the jobs it held are lost."""
        ...

    def stream_tracker(self, node: str = "answer", provider: str = "offline") -> StreamTrackerPort:
        """A tracker for one token stream."""
        ...
