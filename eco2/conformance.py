"""Static proof that every adapter implements its whole port.

Never executed: mypy --strict checks the return statements, so an adapter that misses a port method
(the source article's NoOp metrics adapter lacked ``track_subagent_call``) fails the type check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eco2.adapters.langsmith.adapter import LangSmithRun, LangSmithTelemetryAdapter
    from eco2.adapters.memory.events import MemoryEvents, MemoryJobEvents
    from eco2.adapters.memory.sessions import MemorySessionQueue
    from eco2.adapters.noop.metrics import NoOpMetricsAdapter, NoOpStreamTracker
    from eco2.adapters.noop.telemetry import NoOpTelemetryConfig, NoOpTraceRun
    from eco2.adapters.offline.composer import ComposerAnswerWriter
    from eco2.adapters.openai.answer import OpenAIAnswerWriter
    from eco2.adapters.openai.intent import OpenAIIntentClassifier
    from eco2.adapters.prometheus.adapter import PrometheusMetricsAdapter, StreamMetricsTracker
    from eco2.adapters.redis_streams.deadlines import RedisDeadlines
    from eco2.adapters.redis_streams.events import RedisJobEvents, RedisStreamsEvents
    from eco2.adapters.redis_streams.sessions import RedisSessionQueue
    from eco2.dispatch.celery_canvas import CeleryChatQueue, CeleryRounds, CeleryTraceCloser
    from eco2.dispatch.inline import InlineChatQueue, InlineDeadlines, InlineRounds, InlineTraceCloser
    from eco2.intent.offline import OfflineIntentClassifier
    from eco2.ports.dispatch import ChatQueuePort, DeadlinePort, FanOutPort, TraceCloserPort
    from eco2.ports.events import EventStreamPort, JobEventsPort
    from eco2.ports.llm import AnswerWriterPort, IntentClassifierPort
    from eco2.ports.metrics import MetricsPort, StreamTrackerPort
    from eco2.ports.sessions import SessionQueuePort
    from eco2.ports.telemetry import TelemetryConfigPort, TraceRunPort

    def metrics(a: PrometheusMetricsAdapter, b: NoOpMetricsAdapter) -> tuple[MetricsPort, MetricsPort]:
        return a, b

    def trackers(a: StreamMetricsTracker, b: NoOpStreamTracker) -> tuple[StreamTrackerPort, StreamTrackerPort]:
        return a, b

    def events(a: RedisStreamsEvents, b: MemoryEvents) -> tuple[EventStreamPort, EventStreamPort]:
        return a, b

    def job_events(a: RedisJobEvents, b: MemoryJobEvents) -> tuple[JobEventsPort, JobEventsPort]:
        return a, b

    def sessions(a: RedisSessionQueue, b: MemorySessionQueue) -> tuple[SessionQueuePort, SessionQueuePort]:
        return a, b

    def rounds(a: CeleryRounds, b: InlineRounds) -> tuple[FanOutPort, FanOutPort]:
        return a, b

    def deadlines(a: RedisDeadlines, b: InlineDeadlines) -> tuple[DeadlinePort, DeadlinePort]:
        return a, b

    def queues(a: CeleryChatQueue, b: InlineChatQueue) -> tuple[ChatQueuePort, ChatQueuePort]:
        return a, b

    def trace_closers(a: CeleryTraceCloser, b: InlineTraceCloser) -> tuple[TraceCloserPort, TraceCloserPort]:
        return a, b

    def classifiers(a: OfflineIntentClassifier, b: OpenAIIntentClassifier) -> tuple[IntentClassifierPort, ...]:
        return a, b

    def writers(a: ComposerAnswerWriter, b: OpenAIAnswerWriter) -> tuple[AnswerWriterPort, AnswerWriterPort]:
        return a, b

    def telemetry(a: LangSmithTelemetryAdapter, b: NoOpTelemetryConfig) -> tuple[TelemetryConfigPort, ...]:
        return a, b

    def trace_runs(a: LangSmithRun, b: NoOpTraceRun) -> tuple[TraceRunPort, TraceRunPort]:
        return a, b
