"""Composition root: the one place that chooses adapters and wires the chat service.

Every dependency has a default built from :class:`Settings`; keyword overrides let tests, benchmarks and
``--inline`` swap in other parts without touching the rest (cosmicpython's bootstrap pattern). Core classes
take every port as a required argument: only this module (and the task layer's process setup, which calls
it) decides which adapter stands behind each. A process reads its settings once (:func:`process_settings`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from langgraph.checkpoint.base import BaseCheckpointSaver
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from eco2.adapters.checkpoint import executor as graph_executor
from eco2.adapters.checkpoint import make_checkpointer
from eco2.adapters.checkpoint.retention import CheckpointRetention
from eco2.adapters.noop.metrics import NoOpMetricsAdapter
from eco2.adapters.noop.telemetry import NoOpTelemetryConfig
from eco2.adapters.offline.composer import ComposerAnswerWriter
from eco2.adapters.redis_streams import RedisStreamsEvents
from eco2.adapters.redis_streams.sessions import RedisSessionQueue
from eco2.adapters.resilience.breakers import Breakers
from eco2.config import Settings
from eco2.dispatch.inline import InlineChatQueue, InlineDeadlines, InlineRounds, InlineTraceCloser, ServiceHandle
from eco2.domain.registry import REGISTRY
from eco2.errors import ConfigError
from eco2.orchestrator.ending import JobEnding
from eco2.orchestrator.followup import TopicReader
from eco2.orchestrator.graph import ChatGraph, build_graph
from eco2.orchestrator.nodes import NodeDeps, Nodes
from eco2.orchestrator.rounds import RoundSender
from eco2.orchestrator.service import ChatService, ServiceLimits
from eco2.ports.dispatch import ChatQueuePort, DeadlinePort, FanOutPort, TraceCloserPort
from eco2.ports.events import EventStreamPort
from eco2.ports.llm import AnswerWriterPort, IntentClassifierPort
from eco2.ports.metrics import MetricsPort
from eco2.ports.sessions import SessionQueuePort
from eco2.ports.subagents import SubagentPort
from eco2.ports.telemetry import TelemetryConfigPort
from eco2.subagents.runner import SubagentRunner

log = logging.getLogger(__name__)


def _parts_of(scheduling: Scheduling) -> tuple[object, ...]:
    """The distinct objects behind the scheduling ports (one object may serve several)."""
    parts = (scheduling.rounds, scheduling.deadlines, scheduling.queue, scheduling.traces)
    return tuple({id(part): part for part in parts}.values())


@functools.cache
def process_settings() -> Settings:
    """This process's settings, read from the environment once (the environment does not change under it)."""
    return Settings.from_env()


@dataclass(frozen=True, slots=True)
class Scheduling:
    """The scheduling ports a process uses (``eco2/ports/dispatch.py``): Celery's, or in-process ones."""

    rounds: FanOutPort
    deadlines: DeadlinePort
    queue: ChatQueuePort
    traces: TraceCloserPort


def job_ending(
    settings: Settings,
    events: EventStreamPort,
    sessions: SessionQueuePort,
    scheduling: Scheduling,
    metrics: MetricsPort,
) -> JobEnding:
    """How jobs end; the chat service and the deadline sweeper each get theirs from here."""
    return JobEnding(
        events,
        sessions,
        deadlines=scheduling.deadlines,
        queue=scheduling.queue,
        traces=scheduling.traces,
        metrics=metrics,
        job_timeout_s=settings.job_timeout_s,
    )


@dataclass(frozen=True, slots=True)
class Container:
    """Everything a process needs, built once."""

    settings: Settings
    events: EventStreamPort
    sessions: SessionQueuePort
    service: ChatService
    runner: SubagentRunner
    classifier: IntentClassifierPort
    graph: ChatGraph
    telemetry: TelemetryConfigPort
    scheduling: Scheduling | None = None

    def close(self) -> None:
        """Release what the scheduling ports hold in this process (the in-process pool and timers)."""
        parts = () if self.scheduling is None else _parts_of(self.scheduling)
        for part in parts:
            closer = getattr(part, "close", None)
            if callable(closer):
                closer()


def redis_client(url: str) -> redis.Redis:
    """A Redis client that retries connection errors with jittered backoff (writes are idempotent)."""
    return redis.Redis.from_url(
        url,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        health_check_interval=30,
        socket_timeout=10,
        socket_connect_timeout=5,
    )


def redis_events(settings: Settings, client: redis.Redis) -> RedisStreamsEvents:
    """The Redis Streams event port configured from ``settings``."""
    return RedisStreamsEvents(
        client,
        prefix=settings.stream_prefix,
        ttl_s=settings.stream_ttl_s,
        flush_ms=settings.token_flush_ms,
        running_ttl_s=settings.running_ttl_s,
    )


def default_metrics(settings: Settings) -> MetricsPort:
    """Prometheus on the process registry (multiprocess when ``PROMETHEUS_MULTIPROC_DIR`` is set).

    Metrics must never cost a chat: if they cannot be set up (a multiprocess directory that cannot be
    written, say), the process runs without them and says so, instead of failing every task.
    """
    if not settings.metrics_enabled:
        return NoOpMetricsAdapter()
    from eco2.adapters.prometheus.adapter import default_adapter

    try:
        return default_adapter()
    except Exception:
        log.error("Prometheus metrics could not be set up; this process runs without them", exc_info=True)
        return NoOpMetricsAdapter()


def default_classifier(settings: Settings, breakers: Breakers | None = None) -> IntentClassifierPort:
    """OpenAI structured output when a key is configured, else the offline classifier."""
    from eco2.intent.offline import OfflineIntentClassifier

    offline: IntentClassifierPort = OfflineIntentClassifier.default()
    if settings.use_openai:
        from eco2.adapters.openai.intent import OpenAIIntentClassifier

        return OpenAIIntentClassifier(settings, fallback=offline, breakers=breakers or Breakers())
    return offline


def default_writer(settings: Settings, breakers: Breakers | None = None) -> AnswerWriterPort:
    """The model's streamed answer when a key is configured, else the offline composer."""
    if settings.use_openai:
        from eco2.adapters.openai.answer import OpenAIAnswerWriter

        return OpenAIAnswerWriter(settings, breakers or Breakers())
    return ComposerAnswerWriter()


def default_telemetry(settings: Settings) -> TelemetryConfigPort:
    """LangSmith and/or OpenTelemetry as the settings ask; NoOp (no langsmith import) when both are off.

    OpenTelemetry is used only when this process has set it up (``tasks.signals`` does, per pool process):
    the langsmith client must export through that provider, not create its own.
    """
    from eco2.adapters.langsmith import configure_langsmith, tracing_mode

    langsmith_on = configure_langsmith(settings)
    provider = None
    if settings.otel_enabled:
        from eco2.adapters.otel import active_provider

        provider = active_provider()
        if provider is None:
            log.warning("LANGSMITH_OTEL_ENABLED is on but OpenTelemetry is not set up in this process")
    mode = tracing_mode(langsmith_on, provider is not None)
    if mode == "off":
        return NoOpTelemetryConfig()
    from eco2.adapters.langsmith.adapter import LangSmithTelemetryAdapter

    traceparent = None
    if provider is not None:
        from eco2.adapters.otel import current_traceparent

        traceparent = current_traceparent
    return LangSmithTelemetryAdapter.from_settings(settings, mode, provider, traceparent)


def default_breakers(settings: Settings, metrics: MetricsPort, client: redis.Redis | None = None) -> Breakers:
    """One breaker per upstream, the models' included; shared through Redis when a client is given."""
    return Breakers(
        metrics,
        client,
        fail_max=settings.breaker_fail_max,
        reset_timeout_s=settings.breaker_reset_s,
        namespace=settings.stream_prefix,
    )


def default_subagents(
    settings: Settings, metrics: MetricsPort, client: redis.Redis | None = None, breakers: Breakers | None = None
) -> dict[str, SubagentPort]:
    """One implementation per registry entry, behind the upstreams' breakers."""
    from eco2.subagents.catalog import build_subagents
    from eco2.subagents.context import SubagentContext

    breakers = breakers or default_breakers(settings, metrics, client)
    return build_subagents(SubagentContext(settings, breakers, metrics, client))


def bootstrap(
    settings: Settings | None = None,
    *,
    scheduling: Callable[[SubagentRunner], Scheduling],
    events: EventStreamPort | None = None,
    sessions: SessionQueuePort | None = None,
    classifier: IntentClassifierPort | None = None,
    writer: AnswerWriterPort | None = None,
    subagents: Mapping[str, SubagentPort] | None = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    timeout_errors: tuple[type[BaseException], ...] = (),
    metrics: MetricsPort | None = None,
    telemetry: TelemetryConfigPort | None = None,
    on_built: Callable[[Container], None] | None = None,
    client: redis.Redis | None = None,
    topics: TopicReader | None = None,
) -> Container:
    """Build the container; every keyword replaces one default.

    ``scheduling`` gives the scheduling ports for this process's subagent runner (Celery's ignore it; the
    in-process ones run rounds with it). ``client`` is the Redis of the event streams when the caller already
    holds one (a pool process shares it with its deadline store: one connection pool per process, not two).
    """
    settings = settings or Settings.from_env()
    if client is None and (events is None or sessions is None):
        client = redis_client(settings.stream_redis_url)
    if events is None:
        assert client is not None
        events = redis_events(settings, client)
    if sessions is None:
        assert client is not None
        sessions = RedisSessionQueue(client, prefix=settings.stream_prefix)
    metrics = metrics or default_metrics(settings)
    if subagents is None:
        client = client or redis_client(settings.stream_redis_url)
    breakers = default_breakers(settings, metrics, client)
    implementations = (
        dict(subagents) if subagents is not None else default_subagents(settings, metrics, client, breakers)
    )
    missing = [spec.name for spec in REGISTRY if spec.name not in implementations]
    if missing:
        raise ConfigError(f"no implementation for subagent(s): {', '.join(missing)}")
    telemetry = telemetry or default_telemetry(settings)
    classifier = classifier or default_classifier(settings, breakers)
    deps = NodeDeps(
        classifier=classifier,
        writer=writer or default_writer(settings, breakers),
        fallback_writer=ComposerAnswerWriter(),
        metrics=metrics,
        topics=topics or TopicReader(),
        history_turns=settings.history_turns,
        summary_max_chars=settings.summary_max_chars,
    )
    graph_executor.install()  # one thread pool per process for the graph's checkpoint writes
    saver = checkpointer or make_checkpointer(settings.checkpoint_url)
    graph = build_graph(Nodes(deps), saver)
    runner = SubagentRunner(
        implementations, events, metrics=metrics, telemetry=telemetry, timeout_errors=timeout_errors
    )
    ports = scheduling(runner)
    service = ChatService(
        graph,
        events,
        sessions,
        rounds=RoundSender(ports.rounds, runner),
        deadlines=ports.deadlines,
        ending=job_ending(settings, events, sessions, ports, metrics),
        metrics=metrics,
        telemetry=telemetry,
        retention=CheckpointRetention(saver, client, settings.stream_prefix, settings.session_ttl_s),
        limits=ServiceLimits(
            job_timeout_s=settings.job_timeout_s,
            history_turns=settings.history_turns,
            summary_max_chars=settings.summary_max_chars,
        ),
        timeout_errors=timeout_errors,
    )
    container = Container(settings, events, sessions, service, runner, classifier, graph, telemetry, ports)
    if on_built is not None:
        on_built(container)
    return container


def inline_scheduling(runner: SubagentRunner, handle: ServiceHandle, max_workers: int = 8) -> Scheduling:
    """The scheduling ports in this process (``eco2.dispatch.inline``), continuing jobs through ``handle``."""
    return Scheduling(
        InlineRounds(runner, handle, max_workers),
        InlineDeadlines(handle),
        InlineChatQueue(handle),
        InlineTraceCloser(handle),
    )


def bootstrap_inline(
    settings: Settings | None = None,
    listener: Callable[[str, dict[str, str]], None] | None = None,
    max_workers: int = 8,
    **overrides: Any,
) -> tuple[Container, Any]:
    """The whole pipeline in one process (no broker, no Redis) for ``eco2 chat --inline``.

    Returns the container and the in-memory event store (to follow the job).
    """
    from langgraph.checkpoint.memory import InMemorySaver

    from eco2.adapters.memory.events import MemoryEvents
    from eco2.adapters.memory.sessions import MemorySessionQueue

    settings = settings or Settings.from_env()
    events = overrides.pop("events", None) or MemoryEvents(listener)
    metrics = overrides["metrics"] = overrides.get("metrics") or default_metrics(settings)
    # Built here, without a Redis client: in one process the breakers keep their state in memory.
    overrides["subagents"] = overrides.get("subagents") or default_subagents(settings, metrics)
    handle = ServiceHandle()
    container = bootstrap(
        settings,
        scheduling=lambda runner: inline_scheduling(runner, handle, max_workers),
        events=events,
        sessions=MemorySessionQueue(),
        checkpointer=overrides.pop("checkpointer", None) or InMemorySaver(),
        on_built=lambda built: handle.point_at(built.service),
        **overrides,
    )
    return container, events
