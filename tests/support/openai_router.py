"""One OpenAI base URL in front of several fakes: routes each API path to the fake that speaks it.

Workers get a single ``OPENAI_BASE_URL``; the Responses API (web search), image generation and the
vision chat completions are each served by their own fake, forwarded here byte for byte.
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import requests

from tests.support.scripted_server import BackgroundServer


class _Handler(BaseHTTPRequestHandler):
    server: OpenAIRouter  # type: ignore[assignment]

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        target = self.server.target_for(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if target is None:
            self.send_response(404)
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
        reply = requests.post(target + self.path.removeprefix("/v1"), data=body, headers=headers, timeout=60)
        self.send_response(reply.status_code)
        for name, value in reply.headers.items():
            if name.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.content)))
        self.end_headers()
        self.wfile.write(reply.content)


class OpenAIRouter(BackgroundServer):
    """``routes`` maps a path prefix (e.g. ``/v1/responses``) to a fake's base URL (ending in ``/v1``)."""

    def __init__(self, routes: dict[str, str]) -> None:
        super().__init__(_Handler)
        self.routes = routes

    def target_for(self, path: str) -> str | None:
        """The base URL serving ``path``."""
        for prefix, target in self.routes.items():
            if path.startswith(prefix):
                return target.rstrip("/")
        return None

    @property
    def base_url(self) -> str:
        """The ``OPENAI_BASE_URL`` to give workers."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"
