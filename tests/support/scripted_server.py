"""The shared part of the scripted fake HTTP servers: a thread, request recording, scripted answer modes."""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class BackgroundServer(ThreadingHTTPServer):
    """Serves ``handler`` on ``127.0.0.1`` from a daemon thread while in a ``with`` block.

    The short poll interval matters: ``shutdown()`` waits for one poll, and tests start and stop many servers.
    """

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class ScriptedServer(BackgroundServer):
    """A background server whose ``script()`` queues answer modes and ``record()`` logs requests.

    Use as ``with Subclass() as server:``; subclasses add their data and ``base_url``.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], slow_s: float = 1.0) -> None:
        super().__init__(handler)
        self.slow_s = slow_s
        self.requests: list[dict[str, Any]] = []
        self._modes: deque[Any] = deque()
        self.default_mode: Any = "ok"
        self._lock = threading.Lock()

    def script(self, *modes: Any) -> None:
        """Answer the next requests with these modes (then ``default_mode``); a mode is a name or a reply."""
        with self._lock:
            self._modes.extend(modes)

    def next_mode(self) -> Any:
        """The mode of the request being served."""
        with self._lock:
            return self._modes.popleft() if self._modes else self.default_mode

    def record(self, path: str, params: dict[str, str], headers: dict[str, str]) -> None:
        """Remember one request."""
        with self._lock:
            self.requests.append({"path": path, "params": params, "headers": headers})
