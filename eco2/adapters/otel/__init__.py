"""OpenTelemetry: per-process set-up (OTLP/HTTP exporter, Celery instrumentation) and the current context."""

from eco2.adapters.otel.tracing import (
    active_provider,
    build_provider,
    configure_otel,
    current_traceparent,
    set_span_attributes,
    shutdown_otel,
    traces_url,
)

__all__ = [
    "active_provider",
    "build_provider",
    "configure_otel",
    "current_traceparent",
    "set_span_attributes",
    "shutdown_otel",
    "traces_url",
]
