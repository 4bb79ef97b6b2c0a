"""A local image host for the SSRF-safe fetcher's tests: scripted routes, optional TLS, request log.

Each path is a :class:`Route` (status, body, content type, headers, a delay before answering, a drip
between bytes, chunked transfer, a lying ``Content-Length``). ``requests`` records every request's path
and headers, so tests can prove that a refused URL was never requested.
"""

from __future__ import annotations

import contextlib
import ssl
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.scripted_server import BackgroundServer


def tiny_png() -> bytes:
    """A valid 1x1 green PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x20\xa0\x40")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"


@dataclass
class Route:
    """How the server answers one path."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "image/png"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Sleep before sending anything (a slow server)."""
    drip_s: float = 0.0
    """Sleep between body bytes (a server that trickles)."""
    chunked: bool = False
    """Send the body with chunked transfer encoding and no ``Content-Length``."""
    content_length: int | None = None
    """Announce this ``Content-Length`` instead of the real one."""


class _Handler(BaseHTTPRequestHandler):
    server: ImageServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.record(self.path, {k.lower(): v for k, v in self.headers.items()})
        route = self.server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            route = Route(b"not found", 404, "text/plain")
        if route.delay_s:
            time.sleep(route.delay_s)
        # The client may stop reading (size cap, timeout): expected in these tests.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self._answer(route)

    def _answer(self, route: Route) -> None:
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            length = route.content_length if route.content_length is not None else len(route.body)
            self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()
        if route.chunked:
            step = 64 * 1024
            for start in range(0, len(route.body), step):
                piece = route.body[start : start + step]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif route.drip_s:
            for byte in route.body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(route.drip_s)
        else:
            self.wfile.write(route.body)
        self.wfile.flush()
        self.close_connection = True


class ImageServer(BackgroundServer):
    """Run with ``with ImageServer() as server:``; add routes with ``server.routes[path] = Route(...)``."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(_Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.routes: dict[str, Route] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """An absolute URL of ``path`` on this server, optionally under another host name."""
        return f"{self.scheme}://{host}:{self.port}{path}"

    def record(self, path: str, headers: dict[str, str]) -> None:
        """Remember one request (header names lower-cased)."""
        with self._lock:
            self.requests.append({"path": path, "headers": headers})
