"""The Prometheus metrics adapter, the article's ``StreamMetricsTracker`` (fixed) and its helpers.

Fixes over the article: the active-streams gauge is raised once per stream and always lowered (the tracker
is a context manager and ``finish`` is idempotent; a killed process's share vanishes because the gauge is
``livesum`` in multiprocess mode); every method swallows and logs its own failures, so metrics never break
a chat; label values are forced into small closed sets.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import ParamSpec, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from eco2.adapters.prometheus.definitions import ChatMetrics, create_metrics
from eco2.domain.intents import Intent
from eco2.domain.registry import REGISTRY as SUBAGENTS

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_INTENTS = frozenset(i.value for i in Intent)
_TOKEN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
BREAKER_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}


def intent_label(value: str) -> str:
    """An intent label value (``unknown`` for anything outside the ten intents)."""
    return value if value in _INTENTS else "unknown"


def subagent_label(value: str) -> str:
    """A subagent label value (``unknown`` for anything the registry does not declare)."""
    return value if SUBAGENTS.declares(value) else "unknown"


def token_label(value: str) -> str:
    """A short lowercase identifier (status, provider, node, error code); ``other`` otherwise."""
    return value if _TOKEN.match(value) else "other"


def _safe(fn: Callable[P, None]) -> Callable[P, None]:
    """Metrics must never break a chat: log and swallow any failure."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            log.warning("metrics_%s_failed: %s", fn.__name__, type(exc).__name__)

    return wrapper


@dataclass(frozen=True, slots=True)
class _TokenSeries:
    tokens: Counter
    interval: Histogram
    latency: Histogram


class StreamMetricsTracker:
    """Tracks one token stream (the article's class; see the module docstring for the fixes).

    Usage::

        with metrics.stream_tracker(node="answer", provider="openai") as tracker:
            for token in stream:
                tracker.record_token()
    """

    def __init__(self, metrics: ChatMetrics, node: str = "answer", provider: str = "offline") -> None:
        self._m = metrics
        self.node = token_label(node)
        self.provider = token_label(provider)
        self._start_time: float | None = None
        self._last_token_time: float | None = None
        self._token_count = 0
        self._active = False
        self._series: _TokenSeries | None = None

    @_safe
    def start(self) -> None:
        """Count the stream as active (once, however often it is called)."""
        self._start_time = time.perf_counter()
        self._last_token_time = self._start_time
        self._token_count = 0
        if not self._active:
            self._active = True
            self._m.stream_active.inc()

    @_safe
    def record_token(self, latency: float | None = None) -> None:
        """One token: count it, observe the interval since the previous one and its write latency."""
        now = time.perf_counter()
        self._token_count += 1
        series = self._token_series()
        series.tokens.inc()
        if self._last_token_time is not None:
            series.interval.observe(now - self._last_token_time)
        if latency is not None:
            series.latency.observe(latency)
        self._last_token_time = now

    @_safe
    def on_flush(self, tokens: int, seconds: float) -> None:
        """A coalesced write of ``tokens`` tokens: its Redis round trip is the token emission latency."""
        self._token_series().latency.observe(seconds)

    @_safe
    def on_reset(self) -> None:
        """Text already streamed was discarded and the answer restarts (crash or model failure)."""
        self._m.stream_recovery.labels(type="reset", status="success").inc()

    @_safe
    def finish(self, status: str = "success") -> None:
        """End the stream: release the gauge (once) and record duration, token count and outcome."""
        if not self._active:
            return
        self._active = False
        self._m.stream_active.dec()
        label = token_label(status)
        if self._start_time is not None:
            duration = time.perf_counter() - self._start_time
            self._m.stream_duration.labels(node=self.node, status=label).observe(duration)
        self._m.stream_token_count.labels(node=self.node).observe(self._token_count)
        self._m.stream_requests.labels(status=label).inc()

    def _token_series(self) -> _TokenSeries:
        """The per-token series, resolved on first use: ``labels()`` is a locked lookup, not paid per token."""
        if self._series is None:
            self._series = _TokenSeries(
                self._m.stream_tokens.labels(node=self.node, status="success"),
                self._m.stream_token_interval.labels(provider=self.provider),
                self._m.stream_token_latency.labels(node=self.node),
            )
        return self._series

    def __enter__(self) -> StreamMetricsTracker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish("error" if exc_type is not None else "success")


class PrometheusMetricsAdapter:
    """Implements ``MetricsPort`` on a Prometheus registry (the process default unless one is given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.metrics = create_metrics(registry if registry is not None else REGISTRY)

    @_safe
    def track_request(self, intent: str, status: str, provider: str, duration: float) -> None:
        """A chat job ended."""
        i, p = intent_label(intent), token_label(provider)
        self.metrics.requests.labels(intent=i, status=token_label(status), provider=p).inc()
        self.metrics.request_duration.labels(intent=i, provider=p).observe(duration)

    @_safe
    def track_intent(self, intent: str, provider: str = "offline", duration: float | None = None) -> None:
        """A message was classified."""
        p = token_label(provider)
        self.metrics.intents.labels(intent=intent_label(intent), provider=p).inc()
        if duration is not None:
            self.metrics.intent_duration.labels(provider=p).observe(duration)

    @_safe
    def track_error(self, intent: str, error_type: str) -> None:
        """A chat job ended with an error."""
        self.metrics.errors.labels(intent=intent_label(intent), error_type=token_label(error_type)).inc()

    @_safe
    def track_subagent_call(self, subagent: str, status: str, duration: float) -> None:
        """A subagent call finished."""
        s = subagent_label(subagent)
        self.metrics.subagent_calls.labels(subagent=s, status=token_label(status)).inc()
        self.metrics.subagent_duration.labels(subagent=s).observe(duration)

    @_safe
    def track_queue_wait(self, subagent: str, seconds: float) -> None:
        """A subagent task's time in its queue."""
        self.metrics.subagent_queue_wait.labels(subagent=subagent_label(subagent)).observe(max(seconds, 0.0))

    @_safe
    def track_fallback(self, from_subagent: str, to_subagent: str) -> None:
        """The fallback chain took a step."""
        self.metrics.fallbacks.labels(
            from_subagent=subagent_label(from_subagent), to_subagent=subagent_label(to_subagent)
        ).inc()

    @_safe
    def track_partial(self, intent: str) -> None:
        """A partial answer."""
        self.metrics.partial_answers.labels(intent=intent_label(intent)).inc()

    @_safe
    def track_time_to_first_token(self, provider: str, seconds: float) -> None:
        """Time from acceptance to the first token."""
        self.metrics.time_to_first_token.labels(provider=token_label(provider)).observe(max(seconds, 0.0))

    @_safe
    def track_recovery(self, recovery_type: str, status: str = "success") -> None:
        """A recovery happened."""
        self.metrics.stream_recovery.labels(type=token_label(recovery_type), status=token_label(status)).inc()

    @_safe
    def track_rejected_message(self, reason: str) -> None:
        """A queue message was refused without running (``reason``: a short code such as ``malformed_message``)."""
        self.metrics.rejected_messages.labels(reason=token_label(reason)).inc()

    @_safe
    def track_redis_data_lost(self) -> None:
        """Redis came back empty: the jobs it held are lost."""
        self.metrics.redis_data_lost.inc()

    @_safe
    def track_breaker_state(self, upstream: str, state: str) -> None:
        """Breaker state as a number (0 closed, 1 half-open, 2 open)."""
        self.metrics.breaker_state.labels(upstream=token_label(upstream)).set(BREAKER_STATES.get(state, 2))

    def stream_tracker(self, node: str = "answer", provider: str = "offline") -> StreamMetricsTracker:
        """A tracker for one stream."""
        return StreamMetricsTracker(self.metrics, node, provider)


_DEFAULT: PrometheusMetricsAdapter | None = None


def default_adapter() -> PrometheusMetricsAdapter:
    """The adapter on the process-wide registry (metrics register once per process)."""
    global _DEFAULT  # noqa: PLW0603 - one set of metric objects per registry
    if _DEFAULT is None:
        _DEFAULT = PrometheusMetricsAdapter()
    return _DEFAULT


@_safe
def track_stream_token(node: str = "answer", status: str = "success", latency: float | None = None) -> None:
    """The article's helper: count one token (and its write latency) on the default registry."""
    metrics = default_adapter().metrics
    metrics.stream_tokens.labels(node=token_label(node), status=token_label(status)).inc()
    if latency is not None:
        metrics.stream_token_latency.labels(node=token_label(node)).observe(latency)


def track_stream_recovery(recovery_type: str, status: str = "success") -> None:
    """The article's helper: count one recovery on the default registry."""
    default_adapter().track_recovery(recovery_type, status)
