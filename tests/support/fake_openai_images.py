"""A local OpenAI server for vision (``/v1/chat/completions``) and image generation (``/v1/images/generations``).

It speaks the real wire format and checks what the real service checks, so tests go through the official
``openai`` client unchanged:

- ``Authorization: Bearer <key>``; a wrong key gets the real 401 body, which echoes the key it was given
  (the real service echoes a masked key) so tests can prove eco2 never repeats it;
- vision requests must carry a ``data:image/...;base64`` ``image_url`` part (never a remote URL) and a
  ``json_schema`` response format; a wrong shape gets a 400 ``invalid_request_error``;
- image requests must carry ``model``, a non-empty ``prompt``, ``n == 1`` and a known ``size``.

``script(*kinds)`` makes the next requests fail, one kind each: ``rate_limit``, ``quota`` (429
``insufficient_quota``), ``server_error`` (500), ``overloaded`` (503), ``content_policy`` (400
``content_policy_violation``), ``unauthorized`` (401), ``forbidden`` (403), ``slow`` (sleeps ``slow_s``),
``malformed`` (200 with a non-JSON body), ``empty`` (no item / no image), ``refusal`` (vision refuses),
``not_base64`` (images: ``b64_json`` that does not decode).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.image_server import tiny_png
from tests.support.scripted_server import ScriptedServer

API_KEY = "sk-test-fake-openai-images-0123456789"

_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "rate_limit": (
        429,
        {
            "message": "Rate limit reached for requests",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        },
    ),
    "quota": (
        429,
        {
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        },
    ),
    "server_error": (
        500,
        {
            "message": "The server had an error while processing your request.",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    ),
    "overloaded": (
        503,
        {
            "message": "The engine is currently overloaded, please try again later",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    ),
    "content_policy": (
        400,
        {
            "message": "Your request was rejected as a result of our safety system. Your prompt may contain text "
            "that is not allowed by our safety system.",
            "type": "invalid_request_error",
            "param": None,
            "code": "content_policy_violation",
        },
    ),
    "forbidden": (
        403,
        {
            "message": "Country, region, or territory not supported",
            "type": "request_forbidden",
            "param": None,
            "code": "unsupported_country_region_territory",
        },
    ),
}
SIZES = {"auto", "1024x1024", "1536x1024", "1024x1536", "256x256", "512x512", "1792x1024", "1024x1792"}


def _invalid(message: str, param: str | None = None) -> tuple[int, dict[str, Any]]:
    return 400, {"message": message, "type": "invalid_request_error", "param": param, "code": None}


def _vision_shape_error(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """What the real API would reject in a vision request eco2 sends (None when the shape is right)."""
    if not body.get("model"):
        return _invalid("you must provide a model parameter", "model")
    fmt = body.get("response_format") or {}
    if fmt.get("type") != "json_schema" or not isinstance(fmt.get("json_schema", {}).get("schema"), dict):
        return _invalid("response_format must be a json_schema", "response_format")
    parts = [p for m in body.get("messages", []) if m.get("role") == "user" for p in m.get("content") or []]
    images = [p for p in parts if isinstance(p, dict) and p.get("type") == "image_url"]
    if len(images) != 1:
        return _invalid("expected one image_url content part", "messages")
    url = str(images[0].get("image_url", {}).get("url", ""))
    head, _, data = url.partition(",")
    if not head.startswith("data:image/") or not head.endswith(";base64"):
        return _invalid("eco2 must send a base64 data URL, never a remote URL", "messages")
    try:
        base64.b64decode(data, validate=True)
    except binascii.Error:
        return _invalid("Invalid base64 image_url.", "messages")
    return None


class _Handler(BaseHTTPRequestHandler):
    server: FakeOpenAIImages

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        given = self.headers.get("Authorization", "").removeprefix("Bearer ")
        kind = self.server.next_mode()
        if given != self.server.api_key or kind == "unauthorized":
            message = f"Incorrect API key provided: {given}. You can find your API key at https://platform.openai.com."
            self._error(
                401, {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
            )
            return
        if kind == "slow":
            time.sleep(self.server.slow_s)
        if kind in _ERRORS:
            self._error(*_ERRORS[kind])
            return
        if kind == "malformed":
            self._raw(200, b"<html>upstream proxy error</html>", "application/json")
            return
        if self.path == "/v1/chat/completions":
            self._vision(body, kind)
        elif self.path == "/v1/images/generations":
            self._images(body, kind)
        else:
            self._error(
                404,
                {
                    "message": f"Invalid URL (POST {self.path})",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                },
            )

    def _vision(self, body: dict[str, Any], kind: str) -> None:
        problem = _vision_shape_error(body)
        if problem is not None:
            self._error(*problem)
            return
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if kind == "refusal":
            message["refusal"] = "I'm sorry, I can't help with that."
        else:
            answer = self.server.not_waste if kind == "empty" else self.server.vision_answer
            message["content"] = json.dumps(answer, ensure_ascii=False)
        self._json(
            200,
            {
                "id": "chatcmpl-fake-vision",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            },
        )

    def _images(self, body: dict[str, Any], kind: str) -> None:
        prompt = body.get("prompt")
        if not body.get("model"):
            self._error(*_invalid("you must provide a model parameter", "model"))
        elif not isinstance(prompt, str) or not prompt.strip() or len(prompt) > 32000:
            self._error(*_invalid("Invalid prompt", "prompt"))
        elif body.get("n", 1) != 1:
            self._error(*_invalid("n must be 1 for this model", "n"))
        elif body.get("size", "auto") not in SIZES:
            self._error(*_invalid(f"Invalid size '{body.get('size')}'", "size"))
        elif kind == "empty":
            self._json(200, {"created": int(time.time()), "data": []})
        elif kind == "not_base64" or self.server.image_mode == "b64":
            b64 = "@@not base64@@" if kind == "not_base64" else base64.b64encode(tiny_png()).decode()
            self._json(
                200,
                {
                    "created": int(time.time()),
                    "data": [{"b64_json": b64}],
                    "output_format": "png",
                    "size": body.get("size"),
                    "quality": "medium",
                },
            )
        else:
            url = f"https://oaidalleapiprodscus.blob.core.windows.net/private/img-{int(time.time())}.png?sig=fake"
            self._json(
                200,
                {"created": int(time.time()), "data": [{"url": url, "revised_prompt": "A friendly recycling poster"}]},
            )

    def _error(self, status: int, error: dict[str, Any]) -> None:
        self._json(status, {"error": error})

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._raw(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _raw(self, status: int, data: bytes, content_type: str) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", "req_fake")
            self.end_headers()
            self.wfile.write(data)


class FakeOpenAIImages(ScriptedServer):
    """Run with ``with FakeOpenAIImages() as server:``; ``server.base_url`` is the ``OPENAI_BASE_URL``.

    ``script()`` makes the next requests behave as the given kinds (then ``ok``).
    """

    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__(_Handler, slow_s=2.0)
        self.api_key = api_key
        self.vision_answer: dict[str, Any] = {
            "is_waste": True,
            "item": "페트병",
            "material": "플라스틱",
            "category": "clear_pet",
            "confidence": 0.92,
            "description": "투명한 생수 페트병 하나가 있어요.",
        }
        self.not_waste: dict[str, Any] = {
            "is_waste": False,
            "item": "",
            "material": "",
            "category": "unknown",
            "confidence": 0.9,
            "description": "고양이가 소파 위에 앉아 있어요.",
        }
        self.image_mode = "url"
        """``url`` or ``b64``: how successful image generations answer."""

    @property
    def base_url(self) -> str:
        """The URL to give the OpenAI client."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:  # type: ignore[override]
        """Remember one request (header names lower-cased; a JSON body, not query parameters)."""
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
