"""OpenTelemetry for a worker process: an OTLP/HTTP exporter, W3C context through Celery headers.

``configure_otel`` runs once per pool process (after the fork: the batch exporter's thread does not survive
one). The Celery instrumentation injects ``traceparent`` into every published task's headers and continues
it when a task runs, so the backend's ``send_task`` span, ``eco2.chat.process``, each subagent task and the
chord callback (published by the last subagent task) form one trace. Export happens on a background
thread: an OTLP endpoint that is down costs a logged warning, never a chat.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.util.types import AttributeValue

from eco2.config import Settings

log = logging.getLogger(__name__)

EXPORT_TIMEOUT_S = 5.0
"""Per export request; bounded so a dead endpoint cannot hold up a pool process's shutdown for long."""


def traces_url(endpoint: str | None) -> str | None:
    """``OTEL_EXPORTER_OTLP_ENDPOINT`` is a base URL: the traces path is appended (OTLP/HTTP convention)."""
    if not endpoint:
        return None  # the exporter's default, http://localhost:4318/v1/traces
    return endpoint.rstrip("/") + "/v1/traces"


def build_provider(settings: Settings) -> TracerProvider:
    """A tracer provider exporting batches over OTLP/HTTP (not registered globally)."""
    resource = Resource.create(
        {"service.name": settings.otel_service_name, "deployment.environment": settings.env_name}
    )
    provider = TracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint), timeout=EXPORT_TIMEOUT_S)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_otel(settings: Settings) -> TracerProvider | None:
    """Register the process's provider and instrument Celery; ``None`` when off or when it fails."""
    if not settings.otel_enabled:
        return None
    try:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        provider = build_provider(settings)
        trace.set_tracer_provider(provider)
        instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider)
    except Exception:
        log.warning("OpenTelemetry could not be set up; spans stay off in this process", exc_info=True)
        return None
    log.info("OpenTelemetry spans exported to %s", traces_url(settings.otlp_endpoint) or "the OTLP default")
    return provider


def active_provider() -> TracerProvider | None:
    """The provider ``configure_otel`` registered in this process, if any."""
    provider = trace.get_tracer_provider()
    return provider if isinstance(provider, TracerProvider) else None


def shutdown_otel(timeout_s: float) -> None:
    """Export the spans still buffered (at pool-process exit)."""
    provider = active_provider()
    if provider is not None:
        try:
            provider.force_flush(int(timeout_s * 1000))
            provider.shutdown()
        except Exception:
            log.warning("could not flush OpenTelemetry spans", exc_info=True)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span (``None`` outside any span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def set_span_attributes(attributes: Mapping[str, AttributeValue]) -> None:
    """Set ``attributes`` on the current span (nothing outside a recording span)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)
