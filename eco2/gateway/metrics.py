"""The gateway's own Prometheus metrics (one process: a plain registry, not the workers' multiprocess one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class GatewayMetrics:
    """Requests by route and status, open SSE connections, bytes sent on them, refused callers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "eco2_gateway_requests",
            "HTTP requests by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.sse_open = Gauge("eco2_gateway_sse_connections", "SSE connections open now", registry=self.registry)
        self.sse_bytes = Counter(
            "eco2_gateway_sse_sent_bytes",
            "Bytes of events and heartbeats sent on SSE connections",
            registry=self.registry,
        )
        self.limited = Counter(
            "eco2_gateway_refused", "Requests refused before any work, by reason", ["reason"], registry=self.registry
        )
