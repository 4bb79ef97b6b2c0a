"""A local LangSmith API that records what the real ``langsmith`` client sends, for tests through it.

It answers what the client calls while tracing: ``GET /info`` (which also switches run compression on or
off for the client), ``POST /runs/multipart`` (the default ingestion: one multipart part per run field,
named ``post.{id}``, ``post.{id}.inputs``, ``patch.{id}.outputs`` ..., optionally zstd-compressed), and the
older ``POST /runs/batch``, ``POST /runs`` and ``PATCH /runs/{id}``. Feedback arrives as ``POST /feedback``
(a ``FeedbackCreate`` JSON) or, when the server says it is at least 0.8.10 (``version``), as ``feedback.{id}``
parts of the multipart ingestion; ``GET /sessions?name=`` finds a project once a run was posted to it (the
client looks the project's id up for run-level feedback). Every request is kept raw (to check that no
secret was sent) and every run operation and feedback decoded; :meth:`runs` merges each run's post and
patches into the run as LangSmith would show it.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.scripted_server import BackgroundServer

_FIELDS = ("inputs", "outputs", "events", "extra", "error", "serialized")
TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000e2")


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """``(name, payload)`` of every part of a ``multipart/form-data`` body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        parts.append((str(name), payload if isinstance(payload, bytes) else b""))
    return parts


def operations_from_parts(parts: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """Reassemble run operations from parts: ``{"op": "post"|"patch", "id": ..., **fields}``."""
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    for name, payload in parts:
        pieces = name.split(".")
        if pieces[0] not in ("post", "patch") or len(pieces) not in (2, 3):
            continue  # feedback (see feedback_from_parts) and attachments
        op = ops.setdefault((pieces[0], pieces[1]), {"op": pieces[0], "id": pieces[1]})
        value = json.loads(payload) if payload else None
        if len(pieces) == 2:
            op.update(value or {})
        elif pieces[2] in _FIELDS:
            op[pieces[2]] = value
    return list(ops.values())


def feedback_from_parts(parts: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """The ``FeedbackCreate`` JSON of every ``feedback.{id}`` part."""
    return [json.loads(payload) for name, payload in parts if name.split(".")[0] == "feedback"]


def project_id(name: str) -> str:
    """The id this server gives the project ``name`` (stable, so tests can compare it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"eco2-test-project:{name}"))


class _Handler(BaseHTTPRequestHandler):
    server: FakeLangSmith  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.record("GET", self.path, dict(self.headers), b"")
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/info":
            self._json(200, self.server.info())
        elif url.path.rstrip("/") == "/sessions":
            name = parse_qs(url.query).get("name", [""])[0]
            self._json(200, self.server.projects(name))
        else:
            self._json(404, {"detail": "not found"})

    def do_POST(self) -> None:
        body = self._body()
        self.server.record("POST", self.path, dict(self.headers), body)
        path = self.path.split("?")[0].rstrip("/")
        if path == "/runs/multipart":
            parts = parse_multipart(self.headers.get("Content-Type", ""), body)
            self.server.add_operations(operations_from_parts(parts))
            self.server.add_feedback(feedback_from_parts(parts))
        elif path == "/runs/batch":
            batch = json.loads(body or b"{}")
            ops = [{"op": "post", **run} for run in batch.get("post", [])]
            ops += [{"op": "patch", **run} for run in batch.get("patch", [])]
            self.server.add_operations(ops)
        elif path == "/runs":
            self.server.add_operations([{"op": "post", **json.loads(body or b"{}")}])
        elif path == "/feedback":
            if self.server.refuse_feedback is not None:
                self._json(self.server.refuse_feedback, {"detail": "refused by the test"})
                return
            self.server.add_feedback([json.loads(body or b"{}")])
        else:
            self._json(404, {"detail": "not found"})
            return
        self._json(202, {})

    def do_PATCH(self) -> None:
        body = self._body()
        self.server.record("PATCH", self.path, dict(self.headers), body)
        run_id = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        self.server.add_operations([{"op": "patch", "id": run_id, **json.loads(body or b"{}")}])
        self._json(202, {})

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding", "").lower() == "zstd":
            import io

            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
            body = reader.read()
        return body

    def _json(self, status: int, payload: dict[str, Any] | list[Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeLangSmith(BackgroundServer):
    """Run with ``with FakeLangSmith() as server:``; ``server.url`` is the ``LANGSMITH_ENDPOINT``."""

    def __init__(
        self,
        port: int = 0,
        compression: bool = False,
        version: str = "0.0.0-eco2-test",
        refuse_feedback: int | None = None,
    ) -> None:
        """``version``: 0.8.10 or later makes the client send feedback with the runs (multipart);
        ``refuse_feedback``: the status ``POST /feedback`` answers instead of taking it."""
        super().__init__(_Handler, port)
        self.compression = compression
        self.version = version
        self.refuse_feedback = refuse_feedback
        self.requests: list[dict[str, Any]] = []
        self.operations: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The API URL to give the client."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def info(self) -> dict[str, Any]:
        """``GET /info``: multipart ingestion, compressed only when asked for."""
        return {
            "version": self.version,
            "instance_flags": {"zstd_compression_enabled": self.compression},
            "batch_ingest_config": {
                "use_multipart_endpoint": True,
                "scale_up_qsize_trigger": 1000,
                "scale_up_nthreads_limit": 4,
                "scale_down_nempty_trigger": 4,
                "size_limit": 100,
                "size_limit_bytes": 20_971_520,
            },
        }

    def record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        """Remember one raw request."""
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body})

    def add_operations(self, ops: list[dict[str, Any]]) -> None:
        """Remember decoded run operations, in arrival order."""
        with self._lock:
            self.operations.extend(ops)

    def add_feedback(self, feedback: list[dict[str, Any]]) -> None:
        """Remember decoded feedback, in arrival order."""
        with self._lock:
            self.feedback.extend(feedback)

    def projects(self, name: str) -> list[dict[str, Any]]:
        """``GET /sessions?name=``: the project, once a run was posted to it (LangSmith creates it then)."""
        with self._lock:
            known = any(op.get("session_name") == name for op in self.operations if op["op"] == "post")
        if not known:
            return []
        start = datetime(2025, 1, 1, tzinfo=UTC).isoformat()
        project = {"id": project_id(name), "name": name, "tenant_id": str(TENANT), "start_time": start}
        return [{**project, "reference_dataset_id": None}]

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self.requests.clear()
            self.operations.clear()
            self.feedback.clear()

    def runs(self) -> dict[str, dict[str, Any]]:
        """Each run as its post, updated by its patches in order (fields a patch leaves out are kept)."""
        with self._lock:
            ops = list(self.operations)
        merged: dict[str, dict[str, Any]] = {}
        for op in sorted(ops, key=lambda o: o["op"] != "post"):  # posts first; stable within each kind
            run = merged.setdefault(op["id"], {})
            run.update({k: v for k, v in op.items() if k != "op" and (v is not None or k not in run)})
        return merged

    def wait_for(self, ready: Callable[[dict[str, dict[str, Any]]], bool], timeout_s: float = 30) -> dict[str, Any]:
        """Poll :meth:`runs` until ``ready`` accepts them (fails the test on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            runs = self.runs()
            if ready(runs):
                return runs
            if time.monotonic() > deadline:
                names = sorted(str(r.get("name")) for r in runs.values())
                raise AssertionError(f"LangSmith runs not complete after {timeout_s}s: {names}")
            time.sleep(0.1)

    def feedback_on(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The feedback received for ``run_id``, by key (the last one of a key wins)."""
        with self._lock:
            return {f["key"]: f for f in self.feedback if f.get("run_id") == run_id}

    def wait_for_feedback(self, run_id: str, keys: set[str], timeout_s: float = 30) -> dict[str, dict[str, Any]]:
        """Poll :meth:`feedback_on` until every key in ``keys`` arrived (fails the test on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.feedback_on(run_id)
            if keys <= got.keys():
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"LangSmith feedback on {run_id} incomplete after {timeout_s}s: {sorted(got)}")
            time.sleep(0.1)

    def raw_bodies(self) -> bytes:
        """Every request body received, concatenated (decompressed), for leak checks."""
        with self._lock:
            return b"\n".join(r["body"] for r in self.requests)
