"""A local OpenAI-compatible server (``/v1/chat/completions``) for tests through the real client.

It speaks the real wire format: JSON responses, ``response_format`` structured output, and server-sent
events for ``stream: true``. Behaviour is scripted by markers in the last user message:
``[fail]`` -> HTTP 500, ``[deny]`` -> HTTP 401, ``[cut]`` -> the stream breaks after two chunks,
``[slow]`` -> 50 ms per chunk.
Every request body is recorded (``requests``) so tests can check what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from bench.paced_model import last_user
from tests.support.scripted_server import BackgroundServer

INTENT_RULES = (
    ("날씨", "weather"),
    ("비 와", "weather"),
    ("소파", "bulk_waste"),
    ("그려", "image_generation"),
    ("안녕", "general"),
)


def _intents(text: str) -> list[dict[str, Any]]:
    found = [intent for word, intent in INTENT_RULES if word in text]
    found = list(dict.fromkeys(found)) or ["waste"]
    return [{"intent": intent, "confidence": 0.9} for intent in found]


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAI  # type: ignore[assignment]

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.record(self.path, dict(self.headers), body)
        if not self.path.endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        user = last_user(body)
        if "[fail]" in user:
            self._json(500, {"error": {"message": "boom", "type": "server_error"}})
            return
        if "[deny]" in user:
            self._json(
                401, {"error": {"message": "bad key", "type": "invalid_request_error", "code": "invalid_api_key"}}
            )
            return
        if body.get("response_format"):
            content = json.dumps({"intents": _intents(user)}, ensure_ascii=False)
            self._json(200, self._completion(body, content))
            return
        answer = self.server.answer_for(user)
        if body.get("stream"):
            self._stream(body, answer, cut="[cut]" in user, slow="[slow]" in user)
        else:
            self._json(200, self._completion(body, answer))

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    def _stream(self, body: dict[str, Any], answer: str, cut: bool, slow: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        pieces = [answer[i : i + 3] for i in range(0, len(answer), 3)]
        for n, piece in enumerate(pieces):
            if cut and n == 2:
                self.wfile.write(b"data: {broken")
                self.wfile.flush()
                self.connection.close()
                return
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "fake-model"),
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
            if slow:
                time.sleep(0.05)
        end = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeOpenAI(BackgroundServer):
    """Run with ``with FakeOpenAI() as server:``; ``server.base_url`` is the ``OPENAI_BASE_URL``."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(_Handler, port)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The URL to give the OpenAI client."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        """Remember one request."""
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})

    def answer_for(self, user: str) -> str:
        """The streamed answer: echoes the question so tests can check the prompt reached the model."""
        question = user.rsplit("질문:", 1)[-1].strip()
        return f"모델 답변입니다. 질문은 '{question}' 이었어요. 라벨을 떼고 헹궈서 버리세요."


def main() -> None:
    """Run standalone (``python -m tests.support.openai_server PORT``) for worker processes to use."""
    import sys

    server = FakeOpenAI(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.base_url, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
