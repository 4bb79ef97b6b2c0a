"""A local OTLP/HTTP trace receiver: decodes ``ExportTraceServiceRequest`` protobufs into plain span dicts.

``POST /v1/traces`` with ``application/x-protobuf`` (gzip or not), as the OpenTelemetry SDK's exporter sends
them; answers with an empty ``ExportTraceServiceResponse``. Raw bodies are kept for leak checks.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from tests.support.scripted_server import BackgroundServer


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def decode_spans(body: bytes) -> list[dict[str, Any]]:
    """The spans of one export request, with hex ids and their resource's attributes."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "attributes": {kv.key: _value(kv.value) for kv in span.attributes},
                        "resource": resource,
                        "scope": scope_spans.scope.name,
                        "status": span.status.code,
                    }
                )
    return spans


class _Handler(BaseHTTPRequestHandler):
    server: FakeOtlp  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        if self.path.split("?")[0] != "/v1/traces":
            self._reply(404, b"")
            return
        self.server.add(body, decode_spans(body))
        self._reply(200, ExportTraceServiceResponse().SerializeToString())

    def _reply(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeOtlp(BackgroundServer):
    """Run with ``with FakeOtlp() as server:``; ``server.url`` is the ``OTEL_EXPORTER_OTLP_ENDPOINT``."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(_Handler, port)
        self.spans: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The base URL (the exporter appends ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def add(self, body: bytes, spans: list[dict[str, Any]]) -> None:
        """Remember one export."""
        with self._lock:
            self.bodies.append(body)
            self.spans.extend(spans)

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        """The spans received so far of one trace."""
        with self._lock:
            return [s for s in self.spans if s["trace_id"] == trace_id]

    def wait_for(
        self, trace_id: str, ready: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 30
    ) -> list[dict[str, Any]]:
        """Poll the trace's spans until ``ready`` accepts them (fails the test on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.trace(trace_id)
            if ready(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"trace {trace_id} incomplete after {timeout_s}s: {sorted(s['name'] for s in spans)}"
                )
            time.sleep(0.1)
