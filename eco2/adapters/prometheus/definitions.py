"""Every eco2 metric, with the source article's exact names, types, labels and buckets.

Metrics are created on a registry passed in (the global default unless a test gives its own), so tests
run on real, isolated registries. Label values come from small closed sets (node, status, intent,
provider, subagent, upstream names): never job, session or user ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

TOKEN_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
TOKEN_INTERVAL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0)
STREAM_DURATION_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)
TOKEN_COUNT_BUCKETS = (10, 50, 100, 200, 500, 1000, 2000)
# Request and step buckets contain every threshold of the article's SLO table (section 7.1), so the
# burn-rate rules can read "slower than the threshold" straight off a bucket.
REQUEST_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)
INTENT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0)
SUBAGENT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
QUEUE_WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)


@dataclass(frozen=True, slots=True)
class ChatMetrics:
    """The metric objects of one registry."""

    stream_tokens: Counter
    stream_requests: Counter
    stream_token_latency: Histogram
    stream_token_interval: Histogram
    stream_duration: Histogram
    stream_token_count: Histogram
    stream_recovery: Counter
    stream_active: Gauge
    requests: Counter
    request_duration: Histogram
    intents: Counter
    intent_duration: Histogram
    errors: Counter
    subagent_calls: Counter
    subagent_duration: Histogram
    time_to_first_token: Histogram
    subagent_queue_wait: Histogram
    fallbacks: Counter
    breaker_state: Gauge
    partial_answers: Counter
    rejected_messages: Counter
    redis_data_lost: Counter


def create_metrics(registry: CollectorRegistry) -> ChatMetrics:
    """Register every metric on ``registry``."""
    return ChatMetrics(
        stream_tokens=Counter(
            "chat_stream_tokens_total", "Total streaming tokens emitted", ["node", "status"], registry=registry
        ),
        stream_requests=Counter(
            "chat_stream_requests_total", "Total token stream requests", ["status"], registry=registry
        ),
        stream_token_latency=Histogram(
            "chat_stream_token_latency_seconds",
            "Token emission latency (the Redis write of a flush)",
            ["node"],
            buckets=TOKEN_LATENCY_BUCKETS,
            registry=registry,
        ),
        stream_token_interval=Histogram(
            "chat_stream_token_interval_seconds",
            "Interval between tokens (LLM streaming speed)",
            ["provider"],
            buckets=TOKEN_INTERVAL_BUCKETS,
            registry=registry,
        ),
        stream_duration=Histogram(
            "chat_stream_duration_seconds",
            "Total token stream duration",
            ["node", "status"],
            buckets=STREAM_DURATION_BUCKETS,
            registry=registry,
        ),
        stream_token_count=Histogram(
            "chat_stream_token_count",
            "Number of tokens per stream",
            ["node"],
            buckets=TOKEN_COUNT_BUCKETS,
            registry=registry,
        ),
        stream_recovery=Counter(
            "chat_stream_recovery_total", "Token stream recovery attempts", ["type", "status"], registry=registry
        ),
        stream_active=Gauge(
            "chat_stream_active",
            "Number of active token streams",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        requests=Counter(
            "chat_requests_total", "Finished chat jobs", ["intent", "status", "provider"], registry=registry
        ),
        request_duration=Histogram(
            "chat_request_duration_seconds",
            "Chat job duration from acceptance to the terminal event",
            ["intent", "provider"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        ),
        intents=Counter("chat_intent_total", "Classified intents", ["intent", "provider"], registry=registry),
        intent_duration=Histogram(
            "chat_intent_duration_seconds",
            "Intent classification time",
            ["provider"],
            buckets=INTENT_BUCKETS,
            registry=registry,
        ),
        errors=Counter("chat_errors_total", "Chat jobs ended by an error", ["intent", "error_type"], registry=registry),
        subagent_calls=Counter(
            "chat_subagent_calls_total", "Subagent calls by outcome", ["subagent", "status"], registry=registry
        ),
        subagent_duration=Histogram(
            "chat_subagent_duration_seconds",
            "Subagent call duration",
            ["subagent"],
            buckets=SUBAGENT_BUCKETS,
            registry=registry,
        ),
        time_to_first_token=Histogram(
            "chat_time_to_first_token_seconds",
            "From job acceptance to the first answer token written",
            ["provider"],
            buckets=TTFT_BUCKETS,
            registry=registry,
        ),
        subagent_queue_wait=Histogram(
            "chat_subagent_queue_wait_seconds",
            "Time a subagent task waited in its queue before it started",
            ["subagent"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=registry,
        ),
        fallbacks=Counter(
            "chat_fallbacks_total", "Fallback steps taken", ["from_subagent", "to_subagent"], registry=registry
        ),
        breaker_state=Gauge(
            "chat_circuit_breaker_state",
            "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open",
            ["upstream"],
            registry=registry,
            multiprocess_mode="livemax",
        ),
        partial_answers=Counter(
            "chat_partial_answers_total", "Answers missing a required subagent's data", ["intent"], registry=registry
        ),
        rejected_messages=Counter(
            "chat_rejected_messages_total",
            "Queue messages the worker refused without running them (malformed, undecodable, unknown task)",
            ["reason"],
            registry=registry,
        ),
        redis_data_lost=Counter(
            "eco2_redis_data_lost",
            "Times a worker found Redis had come back without its data (a restart without persistence)",
            registry=registry,
        ),
    )
