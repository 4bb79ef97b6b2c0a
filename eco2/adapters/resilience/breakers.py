"""One circuit breaker per upstream, built on pybreaker.

Only retryable failures (timeouts, 5xx, 429, connection errors, gRPC UNAVAILABLE) count: a 401 or a
malformed request says nothing about the upstream's health. While a breaker is open, calls fail at once
with :class:`CircuitOpenError` (permanent: retrying into an open breaker only adds load). With a Redis
client the state is shared by every process and host, so one process's evidence protects all of them.
State changes are reported to metrics (``chat_circuit_breaker_state``) and logged as one WARNING per process
and change (an opening is logged once, not per refused call), naming where the upstream is when its client
said so (``Breakers.describe``). Each thread calls through a breaker of its own over the shared state (see
``Breakers.get``): pybreaker serialises the calls of one breaker.
"""

from __future__ import annotations

import logging
import threading
import time
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


class _CachedRedisStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage, without two round trips on every successful call.

    pybreaker reads the shared state before each call and writes the failure counter back to 0 after each
    success: two Redis commands per model call, on the chat's path. Here the state read is reused for
    ``ttl_s`` (another process's opening is noticed that much later; this process's own transitions at once),
    and the counter is reset only when this process counted a failure since its last reset, or when its
    last reset is older than ``ttl_s`` (failures counted by other processes are still reset by a success).
    """

    def __init__(self, state: str, redis_client: redis.Redis, namespace: str, ttl_s: float) -> None:
        super().__init__(state, redis_client, namespace=namespace)
        self._ttl_s = ttl_s
        self._state_cache: tuple[float, str] | None = None
        self._reset_at = float("-inf")
        self._counted = False

    @property
    def state(self) -> str:
        cached, now = self._state_cache, time.monotonic()
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        state = str(pybreaker.CircuitRedisStorage.state.fget(self))  # type: ignore[attr-defined]
        self._state_cache = (now, state)
        return state

    @state.setter
    def state(self, state: str) -> None:
        pybreaker.CircuitRedisStorage.state.fset(self, state)  # type: ignore[attr-defined]
        self._state_cache = (time.monotonic(), str(state))

    def increment_counter(self) -> None:
        self._counted = True
        super().increment_counter()

    def reset_counter(self) -> None:
        now = time.monotonic()
        if not self._counted and now - self._reset_at < self._ttl_s:
            return
        self._counted, self._reset_at = False, now
        super().reset_counter()


class _MetricsListener(pybreaker.CircuitBreakerListener):
    """Reports each upstream's state changes once, however many breakers (one per thread) notice them."""

    def __init__(self, metrics: MetricsPort) -> None:
        self._metrics = metrics
        self._known: dict[str, str] = {}
        self.where: dict[str, str] = {}
        """Where each upstream is, for the log line (``Breakers.describe``)."""
        self._lock = threading.Lock()

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        name, state = str(cb.name), STATE_NAMES.get(str(new_state.name), "open")
        with self._lock:
            previous = self._known.get(name, "closed")
            if previous == state:
                return
            self._known[name] = state
        where = self.where.get(name)
        suffix = f" ({where})" if where else ""
        if state == "open":
            suffix += f"; its calls fail at once for {cb.reset_timeout:g} s"
        log.warning("circuit breaker %s: %s -> %s%s", name, previous, state, suffix)
        self._metrics.track_breaker_state(name, state)


class Breakers:
    """Creates and holds the breaker of each upstream."""

    def __init__(
        self,
        metrics: MetricsPort | None = None,
        redis_client: redis.Redis | None = None,
        fail_max: int = 5,
        reset_timeout_s: float = 30.0,
        namespace: str = "eco2",
        state_ttl_s: float = 1.0,
    ) -> None:
        self._metrics: MetricsPort = metrics or NoOpMetricsAdapter()
        self._redis = redis_client
        self._fail_max = fail_max
        self._reset_timeout_s = reset_timeout_s
        self._namespace = namespace
        self._state_ttl_s = state_ttl_s
        self._storages: dict[str, pybreaker.CircuitBreakerStorage] = {}
        self._listener = _MetricsListener(self._metrics)
        self._lock = threading.Lock()
        self._local = threading.local()

    def get(self, upstream: str) -> pybreaker.CircuitBreaker:
        """The calling thread's breaker of ``upstream``, over the state every thread shares.

        Why one per thread: a pybreaker breaker holds its lock for the whole guarded call, so one breaker
        shared by a threads pool would run every call to an upstream one at a time. Breakers built on one
        storage (Redis with a client, else one in-memory storage per upstream) share counts and state, which
        is how several processes already shared them; each thread's breaker only serialises its own calls.
        """
        local: dict[str, pybreaker.CircuitBreaker] | None = getattr(self._local, "breakers", None)
        if local is None:
            local = self._local.breakers = {}
        breaker = local.get(upstream)
        if breaker is None:
            breaker = local[upstream] = pybreaker.CircuitBreaker(
                fail_max=self._fail_max,
                reset_timeout=self._reset_timeout_s,
                exclude=[PermanentError, NotConfiguredError],
                listeners=[self._listener],
                state_storage=self._storage(upstream),
                name=upstream,
            )
        return breaker

    def _storage(self, upstream: str) -> pybreaker.CircuitBreakerStorage:
        with self._lock:
            storage = self._storages.get(upstream)
            if storage is None:
                if self._redis is not None:
                    namespace = f"{self._namespace}:breaker:{upstream}"
                    storage = _CachedRedisStorage(pybreaker.STATE_CLOSED, self._redis, namespace, self._state_ttl_s)
                else:
                    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
                self._storages[upstream] = storage
            return storage

    def describe(self, upstream: str, where: str) -> None:
        """Say where ``upstream`` is (``"character service at host:port"``): its state changes name it.

        ``where`` goes to logs: an address, never a URL with credentials or a key.
        """
        self._listener.where[upstream] = where

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
