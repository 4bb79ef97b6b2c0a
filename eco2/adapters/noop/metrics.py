"""Metrics that go nowhere: every method of the port, doing nothing (the article's version missed one)."""

from __future__ import annotations

from types import TracebackType


class NoOpStreamTracker:
    """Implements ``StreamTrackerPort`` without recording anything."""

    def start(self) -> None:
        """Nothing to record."""

    def record_token(self, latency: float | None = None) -> None:
        """Nothing to record."""

    def on_flush(self, tokens: int, seconds: float) -> None:
        """Nothing to record."""

    def on_reset(self) -> None:
        """Nothing to record."""

    def finish(self, status: str = "success") -> None:
        """Nothing to record."""

    def __enter__(self) -> NoOpStreamTracker:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Nothing to release."""


class NoOpMetricsAdapter:
    """Implements ``MetricsPort`` without recording anything."""

    def track_request(self, intent: str, status: str, provider: str, duration: float) -> None:
        """Nothing to record."""

    def track_intent(self, intent: str, provider: str = "offline", duration: float | None = None) -> None:
        """Nothing to record."""

    def track_error(self, intent: str, error_type: str) -> None:
        """Nothing to record."""

    def track_subagent_call(self, subagent: str, status: str, duration: float) -> None:
        """Nothing to record."""

    def track_queue_wait(self, subagent: str, seconds: float) -> None:
        """Nothing to record."""

    def track_fallback(self, from_subagent: str, to_subagent: str) -> None:
        """Nothing to record."""

    def track_partial(self, intent: str) -> None:
        """Nothing to record."""

    def track_time_to_first_token(self, provider: str, seconds: float) -> None:
        """Nothing to record."""

    def track_recovery(self, recovery_type: str, status: str = "success") -> None:
        """Nothing to record."""

    def track_breaker_state(self, upstream: str, state: str) -> None:
        """Nothing to record."""

    def track_rejected_message(self, reason: str) -> None:
        """Nothing to record."""

    def track_redis_data_lost(self) -> None:
        """Nothing to record."""

    def stream_tracker(self, node: str = "answer", provider: str = "offline") -> NoOpStreamTracker:
        """A tracker that records nothing."""
        return NoOpStreamTracker()
