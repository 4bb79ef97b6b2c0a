"""One circuit breaker per upstream, built on pybreaker.

Only retryable failures (timeouts, 5xx, 429, connection errors, gRPC UNAVAILABLE) count: a 401 or a
malformed request says nothing about the upstream's health. While a breaker is open, calls fail at once
with :class:`CircuitOpenError` (permanent: retrying into an open breaker only adds load). With a Redis
client the state is shared by every process and host, so one process's evidence protects all of them.
State changes are reported to metrics (``chat_circuit_breaker_state``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pybreaker
import redis

from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.errors import NotConfiguredError, PermanentError
from eco2.ports.metrics import MetricsPort

log = logging.getLogger(__name__)

T = TypeVar("T")

STATE_NAMES = {"closed": "closed", "open": "open", "half-open": "half_open"}


class CircuitOpenError(PermanentError):
    """The upstream's breaker is open: it failed repeatedly and is left alone for a while."""


class _MetricsListener(pybreaker.CircuitBreakerListener):
    def __init__(self, metrics: MetricsPort) -> None:
        self._metrics = metrics

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        state = STATE_NAMES.get(str(new_state.name), "open")
        log.warning("circuit breaker %s: %s -> %s", cb.name, getattr(old_state, "name", None), state)
        self._metrics.track_breaker_state(str(cb.name), state)


class Breakers:
    """Creates and holds the breaker of each upstream."""

    def __init__(
        self,
        metrics: MetricsPort | None = None,
        redis_client: redis.Redis | None = None,
        fail_max: int = 5,
        reset_timeout_s: float = 30.0,
        namespace: str = "eco2",
    ) -> None:
        self._metrics: MetricsPort = metrics or NoOpMetricsAdapter()
        self._redis = redis_client
        self._fail_max = fail_max
        self._reset_timeout_s = reset_timeout_s
        self._namespace = namespace
        self._breakers: dict[str, pybreaker.CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, upstream: str) -> pybreaker.CircuitBreaker:
        """The breaker of ``upstream`` (created on first use)."""
        with self._lock:
            breaker = self._breakers.get(upstream)
            if breaker is None:
                storage = None
                if self._redis is not None:
                    storage = pybreaker.CircuitRedisStorage(
                        pybreaker.STATE_CLOSED, self._redis, namespace=f"{self._namespace}:breaker:{upstream}"
                    )
                breaker = pybreaker.CircuitBreaker(
                    fail_max=self._fail_max,
                    reset_timeout=self._reset_timeout_s,
                    exclude=[PermanentError, NotConfiguredError],
                    listeners=[_MetricsListener(self._metrics)],
                    state_storage=storage,
                    name=upstream,
                )
                self._breakers[upstream] = breaker
            return breaker

    def call(self, upstream: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` through the upstream's breaker."""
        try:
            result: T = self.get(upstream).call(fn, *args, **kwargs)
        except pybreaker.CircuitBreakerError as exc:
            raise CircuitOpenError(f"{upstream}: circuit open after repeated failures") from exc
        return result

    def state(self, upstream: str) -> str:
        """``closed``, ``open`` or ``half_open``."""
        return STATE_NAMES.get(str(self.get(upstream).current_state), "open")
